"""Training data for train.py: deterministic item streams, task mixtures, collation, token accuracy.

Item ``i`` of a run is a pure function of (data seed, i), so a resumed run (or one on a different
number of processes) sees exactly the same global order: step ``s`` consumes global indices
``[s * G, (s + 1) * G)`` with ``G`` the global batch (per-process batch x processes x accumulation).
"""

from __future__ import annotations

import random

import torch

from . import vocab as V
from .data import CONFIGS, DEFAULT_CONFIG, DEFAULT_TRAIN_MAX, task_for_config
from .tasks.base import item_rng
from .trajectory import IGNORE_INDEX, Trajectory, render


class TaskSource:
    """Training items generated on the fly from (seed, index) at sizes 1..train_max_n."""

    def __init__(self, task: str, config: str | None, train_max_n: int | None, seed: int):
        self.config = config or DEFAULT_CONFIG[task]
        self.task = task_for_config(task, self.config)
        self.train_max_n = train_max_n or DEFAULT_TRAIN_MAX[task]
        self.task.validate_n(self.train_max_n)
        self.seed = seed

    def __getitem__(self, i: int) -> dict:
        item = self.task.make_item(self.seed, "train", i, self.train_max_n, train=True)
        return render(item.trajectory, train_observations=self.task.train_observations)


class DatasetSource:
    """Training items from a built dataset (a local folder or a Hub id), reshuffled every epoch."""

    def __init__(self, path: str, config: str | None, split: str, seed: int):
        from datasets import load_dataset

        self.ds = load_dataset(path, config, split=split)
        if len(self.ds) == 0:
            raise ValueError(f"dataset {path!r} config {config!r} split {split!r} is empty")
        row = self.ds[0]
        cfg = row.get("config") or config
        self.task = task_for_config(row["task"], cfg) if cfg in CONFIGS.get(row["task"], {}) else None
        self.seed = seed
        self._perm_epoch, self._perm = -1, []

    def __getitem__(self, i: int) -> dict:
        epoch, j = divmod(i, len(self.ds))
        if epoch != self._perm_epoch:
            self._perm = list(range(len(self.ds)))
            random.Random(f"{self.seed}|{epoch}").shuffle(self._perm)
            self._perm_epoch = epoch
        row = self.ds[self._perm[j]]
        train_obs = self.task.train_observations if self.task is not None else False
        return render(Trajectory.from_rows(row["prompt"], row["trajectory"]), train_observations=train_obs)


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


class StepDataset(torch.utils.data.Dataset):
    """Map-style view of a source for one process: position p of step s -> global index."""

    def __init__(self, source, start_step: int, per_process: int, process_index: int, num_processes: int, max_length: int | None):
        self.source, self.start_step = source, start_step
        self.per_process, self.rank, self.world = per_process, process_index, num_processes
        self.max_length = max_length

    def __len__(self) -> int:
        return 1 << 40  # effectively infinite: the run length is set by max_steps

    def __getitem__(self, k: int) -> dict:
        micro, j = divmod(k, self.per_process)
        g = (self.start_step + micro) * self.per_process * self.world + self.rank * self.per_process + j
        ex = self.source[g]
        if self.max_length:
            ex = {key: v[: self.max_length] for key, v in ex.items()}
        return ex


def collate(batch: list[dict]) -> dict[str, torch.Tensor]:
    """Right-pad to the longest example: [PAD] inputs, -100 labels (causal models never look right)."""
    T = max(len(b["input_ids"]) for b in batch)
    pad = V.TOKEN_TO_ID[V.PAD]
    ids = torch.full((len(batch), T), pad, dtype=torch.long)
    labels = torch.full((len(batch), T), IGNORE_INDEX, dtype=torch.long)
    for i, b in enumerate(batch):
        ids[i, : len(b["input_ids"])] = torch.tensor(b["input_ids"])
        labels[i, : len(b["labels"])] = torch.tensor(b["labels"])
    return {"input_ids": ids, "labels": labels}


@torch.no_grad()
def token_accuracy(model, batch: dict[str, torch.Tensor]) -> tuple[int, int]:
    """(correct, total) argmax predictions over trained positions, teacher-forced."""
    logits = model(input_ids=batch["input_ids"]).logits  # (B, T, V)
    pred = logits[:, :-1].argmax(-1)
    gold = batch["labels"][:, 1:]
    mask = gold != IGNORE_INDEX
    return int(((pred == gold) & mask).sum()), int(mask.sum())
