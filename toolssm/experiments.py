"""Experiments as data: a study is a table of runs in ``experiments/<study>.py``, and results are filed by study and run.

A study module defines ``STUDY = Study(...)``: the claim it tests, and its runs (each a name, the train.py arguments
and the evaluations to make of the trained model) and jobs (a named command that is not a training run, such as the
GPU test suite or a benchmark). One launcher runs any study (``scripts/launch.py``; on the GPU machine
``scripts/gpu/run.sh``), and its results land in ``results/<study>/<run>/``:

    run.json              what produced it (toolssm.provenance: commit, argv, device, versions, times, the GPU job)
    training_args.json    every train.py argument, the parameter count and the steps completed
    metrics.jsonl         the training log (loss, lr, tokens/s, validation)
    eval/<tag>/results.json   one evaluation (eval.py), with its own provenance inside

``scripts/summarize.py`` builds every table and plot of the README and of results/ from those files alone.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENTS = os.path.join(ROOT, "experiments")

#: the files of a run folder that are filed under results/<study>/<run>/ (the model's config too; its card is written
#: there from these files by ``launch.py unpack``; weights and checkpoints are not filed: see results/README.md for how
#: each claim's weights are reproduced)
FILED = ("run.json", "training_args.json", "metrics.jsonl", "config.json")


@dataclass(frozen=True)
class Eval:
    """One evaluation of a trained run: ``eval.py --split SPLIT --lengths ... --num-samples K`` into ``eval/<tag>/``."""

    tag: str
    lengths: tuple[int, ...]
    split: str = "test"
    num_samples: int = 16
    args: tuple[str, ...] = ("--stop-at-divergence", "--no-token-accuracy")
    timeout_s: int = 600

    def argv(self, model_dir: str, out_dir: str) -> list[str]:
        return ["eval.py", "--model", model_dir, "--split", self.split, "--lengths", ",".join(map(str, self.lengths)),
                "--num-samples", str(self.num_samples), "--batch-size", str(self.num_samples), *self.args, "--out", out_dir]


@dataclass(frozen=True)
class Run:
    """One training run: train.py with ``train`` (option name -> value; ``True``/``False`` for flags), then ``evals``.
    ``kernels``: needs the mamba-ssm + causal-conv1d kernels (the launcher starts it once they are built). In a value,
    ``{runs}`` is the folder the study's runs train in (a curriculum's second stage: ``init_from="{runs}/stage-1"``,
    with ``after=("stage-1",)``), so the same table runs on the GPU machine, in a rehearsal and in ``finish``."""

    name: str
    train: dict
    evals: tuple[Eval, ...] = ()
    kernels: bool = False
    keep_weights: bool = False  # pack model.safetensors too (small models whose weights a claim rests on)
    after: tuple[str, ...] = ()  # entries (a job building its dataset, say) that must have ended well first

    def train_argv(self, output_dir: str) -> list[str]:
        argv = ["train.py"]
        for key, value in self.train.items():
            if key == "output_dir":
                raise ValueError(f"run {self.name!r}: output_dir is set by the launcher (runs/<study>/<run>)")
            value = ("true" if value else "false") if isinstance(value, bool) else str(value)
            argv += [f"--{key.replace('_', '-')}", value.replace("{runs}", os.path.dirname(output_dir.rstrip("/")) or ".")]
        return argv + ["--output-dir", output_dir]


@dataclass(frozen=True)
class Job:
    """A command that is not a training run (a test suite, a benchmark): ``bash -c COMMAND`` from the repo root with
    ``$RUN_DIR`` its folder; every file it leaves there under 1 MB is filed."""

    name: str
    command: str
    kernels: bool = False
    timeout_s: int = 540
    after: tuple[str, ...] = ()


@dataclass
class Study:
    name: str
    claim: str
    runs: list = field(default_factory=list)  # Run and Job entries
    parallel: int = 4  # training runs at once on one GPU
    parallel_evals: int = 4
    parallel_jobs: int = 1  # jobs at once (most are CPU-heavy: test suites, benchmarks); evaluation-only studies raise it
    #: start nothing while a training of any study runs on this machine (evaluation-only studies: on 2026-12-03 three
    #: evaluations started beside four small trainings at 99% GPU got no size done in 540 s and timed out)
    alone: bool = False

    def __post_init__(self):
        names = [r.name for r in self.runs]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"study {self.name!r}: run names must be unique, repeated: {dup}")
        bad = [n for n in names if not n or "/" in n or n.startswith(".")]
        if bad:
            raise ValueError(f"study {self.name!r}: run names are plain folder names, got {bad}")
        unknown = sorted({a for r in self.runs for a in r.after if a not in names})
        if unknown:
            raise ValueError(f"study {self.name!r}: 'after' names no entry of the study: {unknown}")

    def select(self, pattern: str | None = None) -> list:
        """The entries whose name matches ``pattern`` (shell globs, comma-separated; None: all)."""
        if not pattern:
            return list(self.runs)
        pats = [p for p in pattern.split(",") if p]
        out = [r for r in self.runs if any(fnmatch.fnmatchcase(r.name, p) for p in pats)]
        if not out:
            raise ValueError(f"study {self.name!r}: no run matches {pattern!r}; runs: {', '.join(r.name for r in self.runs)}")
        return out


def studies(root: str = EXPERIMENTS) -> list[str]:
    """The study names in ``experiments/``."""
    return sorted(f[:-3] for f in os.listdir(root) if f.endswith(".py") and not f.startswith("_"))


def load_study(name: str, root: str = EXPERIMENTS) -> Study:
    """``experiments/<name>.py``'s ``STUDY`` (a path to a .py file works too)."""
    path = name if name.endswith(".py") else os.path.join(root, f"{name}.py")
    if not os.path.exists(path):
        raise ValueError(f"no study {name!r}: {path} does not exist; studies: {', '.join(studies(root))}")
    spec = importlib.util.spec_from_file_location(f"toolssm_study_{os.path.basename(path)[:-3]}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    study = getattr(module, "STUDY", None)
    if not isinstance(study, Study):
        raise ValueError(f"{path} defines no STUDY = Study(...)")
    return study


# --- reading filed results ------------------------------------------------------------------------------------------

def checkpoint_step(checkpoint: str) -> int:
    """1000 for a ``checkpoint-1000`` folder (its name or its path)."""
    return int(os.path.basename(os.path.normpath(checkpoint))[len("checkpoint-"):])


def checkpoints(output_dir: str) -> list[str]:
    """The ``checkpoint-<step>`` folders of a run, oldest first (train.py rotates them; read_run finds a cut run's
    settings in the newest)."""
    if not os.path.isdir(output_dir):
        return []
    steps = sorted(checkpoint_step(d) for d in os.listdir(output_dir) if d.startswith("checkpoint-") and d[11:].isdigit())
    return [os.path.join(output_dir, f"checkpoint-{n}") for n in steps]


def complete_checkpoints(output_dir: str) -> list[str]:
    """Those of ``checkpoints`` whose save finished (train.py writes trainer_state.json after the weights), oldest
    first: where train.py resumes, what launch.py --last-call sends back."""
    return [c for c in checkpoints(output_dir) if os.path.exists(os.path.join(c, "trainer_state.json"))]


def read_run(folder: str) -> dict:
    """A filed run: ``{"name", "study", "args" (training_args.json or None), "args_from" (the checkpoint folder whose
    training_args.json stands in for a run cut before its final save, else None), "provenance" (run.json's newest record
    or None), "metrics" (list), "evals": {tag: results.json}}``."""
    def load(name):
        p = os.path.join(folder, name)
        if not os.path.exists(p):
            return None
        with open(p) as f:
            return json.load(f)

    run = load("run.json")
    metrics = []
    if os.path.exists(os.path.join(folder, "metrics.jsonl")):
        with open(os.path.join(folder, "metrics.jsonl")) as f:
            for line in f:
                try:
                    metrics.append(json.loads(line))
                except ValueError:  # blank, or the last line of a log packed mid-write (a run cut by a lease's end)
                    continue
    args = load("training_args.json")
    args_from = None
    if args is None:  # a run cut before its final save, filed with its newest checkpoint (launch.py --last-call)
        args_from = next((os.path.basename(c) for c in reversed(checkpoints(folder))
                          if os.path.exists(os.path.join(c, "training_args.json"))), None)
        args = load(os.path.join(args_from, "training_args.json")) if args_from else None
    evals = {}
    eval_dir = os.path.join(folder, "eval")
    for tag in sorted(os.listdir(eval_dir)) if os.path.isdir(eval_dir) else []:
        res = load(os.path.join("eval", tag, "results.json"))
        if res is not None:
            evals[tag] = res
    norm = os.path.normpath(folder)
    return {"name": os.path.basename(norm), "study": os.path.basename(os.path.dirname(norm)), "folder": folder,
            "args": args, "args_from": args_from, "provenance": (run or {}).get("runs", [None])[-1] if run else None,
            "metrics": metrics, "evals": evals}


def is_filed_run(d: str) -> bool:
    """Whether folder ``d`` holds a run read_study reads: a training_args.json, an eval/, or a checkpoint that holds
    the settings of a run cut before its final save (launch.py --last-call)."""
    return os.path.isdir(d) and (os.path.exists(os.path.join(d, "training_args.json")) or os.path.isdir(os.path.join(d, "eval"))
                                 or any(os.path.exists(os.path.join(c, "training_args.json")) for c in checkpoints(d)))


def read_study(folder: str) -> list[dict]:
    """Every filed run of ``results/<study>/`` (:func:`is_filed_run`), by name."""
    return [read_run(os.path.join(folder, name)) for name in sorted(os.listdir(folder)) if is_filed_run(os.path.join(folder, name))]
