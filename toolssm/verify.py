"""Verify a trace dataset before training on it: every row replays against its tool and answers its problem.

    python -m toolssm.verify data/addition                      # every config and split of a built folder
    python -m toolssm.verify data/addition --config tool --split train
    python -m toolssm.verify rows.parquet --task addition --config tool

A row passes when (1) its trajectory replays exactly against a fresh tool (every observation is what the tool
answers), drawing no tool error; (2) its ``answer`` equals the task's independent oracle (Python's arithmetic, a
Hanoi solver, Python's own ``exec``) on its ``problem``, and its prompt is that problem's prompt; (3) its output
stream answers the problem. Every bad row is named (config, split, index, why; --first: stop at the first one);
exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from .tasks.base import Item
from .trajectory import Trajectory


def check_row(task, row: dict) -> str | None:
    """None if the row is sound, else why not."""
    try:
        problem = json.loads(row["problem"]) if isinstance(row["problem"], str) else row["problem"]
        traj = Trajectory.from_rows(row["prompt"], row["trajectory"])
    except (KeyError, TypeError, ValueError) as e:
        return f"malformed row ({type(e).__name__}: {e})"
    try:
        truth = task.solve(problem)
        prompt = task.prompt(problem)
    except Exception as e:  # a problem the task cannot even read
        return f"its problem is not a {task.name} problem ({type(e).__name__}: {e})"
    if row.get("answer") != truth:
        return f"answer {str(row.get('answer'))[:40]!r} is not the oracle's {truth[:40]!r}"
    if row["prompt"] != prompt:
        return f"prompt {row['prompt'][:40]!r} does not state its problem ({prompt[:40]!r})"
    return task.verify(Item(task.name, task.variant, task.size(problem), row["prompt"], truth, traj, problem))


def verify_rows(task, rows, where: str = "", progress: bool = True, errors: list | None = None) -> tuple[int, str | None]:
    """(rows checked, the first failure as 'where[index]: why' or None). Stops at the first failure, unless ``errors``
    (a list) is given: then every failure is appended to it and every row is checked."""
    from tqdm.auto import tqdm

    n, first = 0, None
    for i, row in enumerate(tqdm(rows, desc=f"verify {where}", unit="row", disable=not progress)):
        err = check_row(task, row)
        n += 1
        if err is not None:
            err = f"{where}[{row.get('index', i)}]: {err}"
            first = first or err
            if errors is None:
                return n, first
            errors.append(err)
    return n, first


def _task_of(row: dict, task_name: str | None, config: str | None):
    from .tasks import task_class

    return task_class(task_name or row["task"])(config or row["config"])


def verify_folder(path: str, config: str | None = None, split: str | None = None, task_name: str | None = None,
                  progress: bool = True, errors: list | None = None) -> tuple[int, str | None]:
    """Verify a built dataset folder (every config/split, or the ones named) or one parquet file; with ``errors``
    (a list) every failing row is collected there instead of stopping at the first."""
    from datasets import load_dataset

    if os.path.isfile(path):
        ds = load_dataset("parquet", data_files=path, split="train")
        if len(ds) == 0:
            return 0, None
        return verify_rows(_task_of(ds[0], task_name, config), ds, os.path.basename(path), progress, errors)
    if not os.path.isdir(path):
        raise ValueError(f"{path!r} is neither a dataset folder nor a parquet file")
    configs = [config] if config else sorted(c for c in os.listdir(path) if os.path.isfile(os.path.join(path, c, "build.json")))
    if not configs:
        raise ValueError(f"{path!r} holds no built config (no <config>/build.json)")
    total, first = 0, None
    for c in configs:
        files = sorted(f for f in os.listdir(os.path.join(path, c)) if f.endswith(".parquet"))
        for f in files:
            name = f.split("-00000-of-")[0]
            if split and name != split:
                continue
            ds = load_dataset("parquet", data_files=os.path.join(path, c, f), split="train")
            if len(ds) == 0:
                continue
            n, err = verify_rows(_task_of(ds[0], task_name, c), ds, f"{c}/{name}", progress, errors)
            total += n
            first = first or err
            if err and errors is None:
                return total, err
    return total, first


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m toolssm.verify", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("path", help="a dataset folder built by dataset_builders/build.py, or one parquet file")
    p.add_argument("--config", help="only this config (default: every config in the folder)")
    p.add_argument("--split", help="only this split, e.g. train or test_100")
    p.add_argument("--task", help="the task, where rows do not name it")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--first", action="store_true", help="stop at the first bad row (default: check every row, list the bad ones)")
    p.add_argument("--show", type=int, default=20, help="bad rows to list (default 20; all are counted)")
    args = p.parse_args(argv)
    if args.quiet:
        import datasets

        datasets.disable_progress_bars()
    errors = None if args.first else []
    try:
        n, err = verify_folder(args.path, args.config, args.split, args.task, progress=not args.quiet, errors=errors)
    except ValueError as e:
        p.error(str(e))
    if err:
        if errors is None:
            print(f"FAILED after {n} rows: {err}")
        else:
            print(f"FAILED: {len(errors)} of {n} rows are bad" + (f" (the first {args.show}):" if len(errors) > args.show else ":"))
            for e in errors[: args.show]:
                print(f"  {e}")
        return 1
    print(f"ok: {n} rows replay against their tools and answer their problems")
    return 0


if __name__ == "__main__":
    sys.exit(main())
