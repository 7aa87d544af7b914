"""Training data for train.py: deterministic item streams, task mixtures; safe resumes (checksums, argument checks).

Item ``i`` of a run is a pure function of (data seed, i), so a resumed run (or one on a different
number of processes) sees exactly the same global order: step ``s`` consumes global indices
``[s * G, (s + 1) * G)`` with ``G`` the global batch (per-process batch x processes x accumulation).
"""

from __future__ import annotations

import json
import os
import random

import torch

from . import vocab as V
from .tasks import choose_input, task_class
from .tasks.base import item_rng, split_input
from .trajectory import IGNORE_INDEX, Trajectory, render


class TaskSource:
    """Training items generated on the fly from (seed, index) at sizes 1..train_max_n.

    ``stress_fraction``: that share of the items (a seeded draw per index) comes from the task's stress classes
    instead (runs of 9s and 0s, operands of unequal length, ...: docs/FORMATS.md), at a size drawn uniformly in
    min_n..stress_max_n (default train_max_n) and a class drawn uniformly; the rest are the paper's distribution.
    ``stress_family`` (``stress``, ``runs`` or ``stress,runs``) names the classes: the stress split's, the runs split's
    long runs of one digit, or either at even odds. The item at an index is still a pure function of (seed, index)."""

    def __init__(self, task: str, config: str | None, train_max_n: int | None, seed: int, hide_input: bool = False,
                 stress_fraction: float = 0.0, stress_max_n: int | None = None, stress_family: str = "stress"):
        self.task = choose_input(task_class(task)(config), True if hide_input else None)
        self.config = self.task.config
        self.train_max_n = self.task.train_max_n if train_max_n is None else train_max_n
        self.task.validate_n(self.train_max_n)
        self.seed = seed
        if not 0.0 <= stress_fraction <= 1.0:
            raise ValueError(f"stress_fraction must be in [0, 1], got {stress_fraction!r}")
        if stress_fraction and not self.task.stress_classes:
            raise ValueError(f"task {self.task.name!r} ({self.config}) has no stress classes to train on; leave stress_fraction at 0")
        self.stress_fraction = stress_fraction
        self.stress_families = [f.strip() for f in stress_family.split(",")]
        have = self.task.stress_families()
        for f in self.stress_families if stress_fraction else ():  # a task without stress classes trains plain
            if f not in have:
                raise ValueError(f"stress_family {stress_family!r}: task {self.task.name!r} ({self.config}) has no {f!r} classes "
                                 f"(it has: {', '.join(have) or 'none'})")
        if stress_family != "stress" and not stress_fraction:
            raise ValueError(f"stress_family {stress_family!r} picks the stress items' classes: it needs stress_fraction > 0")
        # the stress items' largest size (default train_max_n): longer corners than the random items, when asked
        self.stress_max_n = self.train_max_n if stress_max_n is None else stress_max_n
        if stress_max_n is not None and not stress_fraction:
            raise ValueError("stress_max_n sizes the stress items: it needs stress_fraction > 0")
        self.task.validate_n(self.stress_max_n)

    def item(self, i: int):
        """The training item at index ``i`` (a :class:`~toolssm.tasks.base.Item`; stress items record their class in
        ``problem["stress"]``)."""
        if self.stress_fraction:
            rng = item_rng("stress-draw", self.config, self.seed, "train", i)
            if rng.random() < self.stress_fraction:
                n = rng.randint(self.task.min_n, self.stress_max_n)
                family = self.stress_families[0] if len(self.stress_families) == 1 else rng.choice(self.stress_families)
                split = "train-stress" if family == "stress" else f"train-{family}"  # the stress stream unchanged by the option
                return self.task.make_item(self.seed, split, rng.randrange(1 << 30), n, train=True, stress=family)
        return self.task.make_item(self.seed, "train", i, self.train_max_n, train=True)

    def __getitem__(self, i: int) -> dict:
        return render(self.item(i).trajectory, train_observations=self.task.train_observations)


class DatasetSource:
    """Training items from a built dataset (a local folder or a Hub id), reshuffled every epoch."""

    def __init__(self, path: str, config: str | None, split: str, seed: int, verify: bool = True, hide_input: bool = False):
        from datasets import load_dataset

        self.ds = load_dataset(path, config, split=split)
        if len(self.ds) == 0:
            raise ValueError(f"dataset {path!r} config {config!r} split {split!r} is empty")
        row = self.ds[0]
        cfg = row.get("config") or config
        from .tasks import TASKS

        if "task" not in row or cfg not in getattr(TASKS.get(row["task"]), "configs", {}):
            raise ValueError(f"dataset {path!r}: rows name no known task/config (task {row.get('task')!r}, config {cfg!r}); "
                             "train on folders built by dataset_builders/build.py")
        self.task = task_class(row["task"])(cfg)
        if verify:  # every row replays against its tool and answers its problem, or nothing is trained
            from .verify import verify_rows

            _, err = verify_rows(self.task, self.ds, f"{path}:{config or cfg}/{split}", progress=False)
            if err:
                raise ValueError(f"dataset row failed verification: {err} (python -m toolssm.verify {path} names every check)")
        if hide_input:  # rows hold the whole prompt; the model is trained on its last token only (a pointer-memory task)
            self.task = choose_input(self.task, True)
            self.task.inference_tool(json.loads(row["problem"]))  # a ValueError names a task whose tool cannot hold it
        self.seed = seed
        self._perm_epoch, self._perm = -1, []

    def __getitem__(self, i: int) -> dict:
        epoch, j = divmod(i, len(self.ds))
        if epoch != self._perm_epoch:
            self._perm = list(range(len(self.ds)))
            random.Random(f"{self.seed}|{epoch}").shuffle(self._perm)
            self._perm_epoch = epoch
        row = self.ds[self._perm[j]]
        train_obs = self.task.train_observations
        prompt = split_input(row["prompt"])[1] if self.task.input_in_tool else row["prompt"]
        return render(Trajectory.from_rows(prompt, row["trajectory"]), train_observations=train_obs)


class Mixture:
    """Several sources with weights: item i comes from the source chosen by a seeded draw (paper D.8)."""

    def __init__(self, sources: list, weights: list[float], seed: int):
        if len(sources) != len(weights) or not sources or min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f"mixture needs one non-negative weight per source, not all zero: {weights}")
        self.sources, self.seed = sources, seed
        total = sum(weights)
        self.weights = [w / total for w in weights]

    def __getitem__(self, i: int) -> dict:
        rng = item_rng("mixture", "", self.seed, "train", i)
        k = rng.choices(range(len(self.sources)), self.weights)[0]
        return self.sources[k][i]


#: --loss_tokens: the token ids whose labels are kept (None: every trained token, the paper's loss)
LOSS_TOKENS = {"all": None, "digits": frozenset(V.TOKEN_TO_ID[str(d)] for d in range(10))}


class StepDataset(torch.utils.data.Dataset):
    """Map-style view of a source for one process: position p of step s -> global index.

    With ``group_by_length`` W > 1 the global indices of steps wW .. wW+W-1 (window w, every process's share) are sorted
    by their examples' length (ties by index) and cut into W batches, which the window's steps take in an order shuffled
    by w alone; each process takes its slice of its step's batch. The examples of a window are those of the same steps
    without grouping, so a run sees the same data, in batches of like length; everything is a function of the step, so
    a resumed run (``start_step``) and every DataLoader worker agree (each worker builds a window it needs once)."""

    def __init__(self, source, start_step: int, per_process: int, process_index: int, num_processes: int, max_length: int | None,
                 group_by_length: int = 0, loss_tokens: str = "all"):
        if loss_tokens not in LOSS_TOKENS:
            raise ValueError(f"loss_tokens must be one of {sorted(LOSS_TOKENS)}, got {loss_tokens!r}")
        self.keep = LOSS_TOKENS[loss_tokens]
        self.source, self.start_step = source, start_step
        self.per_process, self.rank, self.world = per_process, process_index, num_processes
        self.max_length = max_length
        self.group = group_by_length if group_by_length and group_by_length > 1 else 0
        self._window: tuple[int, list[list[int]], dict[int, dict]] | None = None  # (w, the window's batches, examples)

    def __len__(self) -> int:
        return 1 << 40  # effectively infinite: the run length is set by max_steps

    def _example(self, g: int) -> dict:
        ex = self.source[g]
        if self.max_length:
            ex = {key: v[: self.max_length] for key, v in ex.items()}
        if self.keep is not None:  # before the window's loss weights (group_by_length) count the label tokens
            ex = dict(ex, labels=[t if t == IGNORE_INDEX or t in self.keep else IGNORE_INDEX for t in ex["labels"]])
        return ex

    def window(self, w: int) -> tuple[list[list[int]], dict[int, dict]]:
        """Window ``w``'s batches (global indices, one list per step of the window, in the order its steps take them) and
        its examples by global index."""
        if self._window is None or self._window[0] != w:
            size = self.per_process * self.world
            first = w * self.group * size
            examples = {g: self._example(g) for g in range(first, first + self.group * size)}
            order = sorted(examples, key=lambda g: (len(examples[g]["input_ids"]), g))
            batches = [order[i * size:(i + 1) * size] for i in range(self.group)]
            random.Random(w).shuffle(batches)  # not longest-last: a window's steps meet lengths in no set order
            # Each step's loss is its batch's per-token mean; scaled by the batch's share of the window's label tokens
            # (times W), every token of the window weighs the same, as in a stream of mixed batches, instead of a
            # batch of short problems weighing as much as one of long ones (train.py multiplies by loss_weight).
            scored = [sum(t != IGNORE_INDEX for g in b for t in examples[g]["labels"]) for b in batches]
            mean = sum(scored) / self.group or 1
            examples = {g: dict(examples[g], loss_weight=k / mean) for b, k in zip(batches, scored) for g in b}
            self._window = (w, batches, examples)
        return self._window[1], self._window[2]

    def __getitem__(self, k: int) -> dict:
        micro, j = divmod(k, self.per_process)
        step = self.start_step + micro
        if self.group:
            w, i = divmod(step, self.group)
            batches, examples = self.window(w)
            return examples[batches[i][self.rank * self.per_process + j]]
        return self._example(step * self.per_process * self.world + self.rank * self.per_process + j)


# --- resuming safely -------------------------------------------------------------------------------------------------

#: the arguments that define a run: a resume with any of them changed would silently train another run
RUN_DEFINING_ARGS = {
    "model": ("preset", "init_from", "source_tokenizer", "lora", "lora_r", "lora_alpha", "lora_target_modules"),
    "data": ("task", "config", "hide_input", "stress_fraction", "stress_max_n", "stress_family", "dataset", "train_max_n", "mixture", "mixture_main_weight", "data_seed", "max_length",
             "group_by_length", "loss_tokens"),
    "train": ("max_steps", "batch_size", "gradient_accumulation_steps", "learning_rate", "weight_decay", "warmup_steps",
              "lr_scheduler", "seed"),
}
CHECKSUMS = "checksums.json"
#: run-defining arguments added after runs were saved without them: a saved run lacking one ran with this value
ADDED_LATER = {("data", "hide_input"): False, ("data", "stress_fraction"): 0.0, ("data", "stress_max_n"): None, ("data", "stress_family"): "stress",
               ("data", "group_by_length"): 0, ("data", "loss_tokens"): "all"}
#: what a finished or interrupted run leaves in its output folder (a folder holding any of these holds a run)
RUN_FILES = ("training_args.json", "model.safetensors", "trainer_state.json", "metrics.jsonl")


def run_files(output_dir: str) -> list[str]:
    """The files and checkpoint folders of a run in ``output_dir`` (empty: no run there)."""
    import glob

    if not os.path.isdir(output_dir):
        return []
    out = [f for f in RUN_FILES if os.path.exists(os.path.join(output_dir, f))]
    return out + sorted(os.path.basename(p) for p in glob.glob(os.path.join(output_dir, "checkpoint-*")))


def resume_mismatch(saved: dict, current: dict) -> list[str]:
    """'group.name: saved -> now' for every run-defining argument that differs (and the process count)."""
    def was(g, k):
        grp = saved.get(g, {})
        return grp[k] if k in grp else ADDED_LATER.get((g, k))

    out = [f"{g}.{k}: {was(g, k)!r} -> {current[g].get(k)!r}"
           for g, keys in RUN_DEFINING_ARGS.items() for k in keys if was(g, k) != current[g].get(k)]
    if saved.get("num_processes") != current.get("num_processes"):
        out.append(f"num_processes: {saved.get('num_processes')} -> {current.get('num_processes')}")
    return out


def _digest(path: str) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_checksums(ckpt: str) -> None:
    """Record a sha256 of every file of a checkpoint (written last: a checkpoint without it is incomplete)."""
    files = sorted(os.path.relpath(os.path.join(d, f), ckpt) for d, _, fs in os.walk(ckpt) for f in fs if f != CHECKSUMS)
    with open(os.path.join(ckpt, CHECKSUMS), "w") as f:
        json.dump({rel: _digest(os.path.join(ckpt, rel)) for rel in files}, f, indent=0)


def checkpoint_problem(ckpt: str) -> str | None:
    """None if every file of the checkpoint is as it was saved, else what is wrong (truncated RNG state, corrupt
    weights, a missing file). Checkpoints saved before checksums were written (no file) pass unchecked."""
    path = os.path.join(ckpt, CHECKSUMS)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            sums = json.load(f)
    except ValueError:
        return f"{CHECKSUMS} is not readable JSON"
    for rel, digest in sums.items():
        path = os.path.join(ckpt, rel)
        if not os.path.isfile(path):
            return f"{rel} is missing"
        if _digest(path) != digest:
            return f"{rel} differs from what was saved (corrupt or truncated)"
    return None


def trim_metrics(path: str, step: int) -> int:
    """Drop metrics.jsonl rows past ``step`` (written after the checkpoint a resume starts from, and about to be
    written again); returns how many were dropped."""
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        lines = f.readlines()
    keep = []
    for line in lines:
        try:
            if json.loads(line).get("step", 0) <= step:
                keep.append(line)
        except ValueError:  # a line cut by the kill: dropped
            pass
    with open(path, "w") as f:
        f.writelines(keep)
    return len(lines) - len(keep)
