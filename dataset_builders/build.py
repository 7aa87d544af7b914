#!/usr/bin/env python
"""Build a toolssm trace dataset as a Hub dataset repository folder.

    python dataset_builders/build.py addition --out data/addition
    python dataset_builders/build.py multiplication --config n_x_1 --out data/multiplication --train-max-n 10
    python dataset_builders/build.py hanoi --config recursive --out data/hanoi --train-max-n 7 --test-lengths 7,8,9
    python dataset_builders/build.py logical_graph --out data/logical_graph --push-to-hub toolssm/logical_graph

Then ``datasets.load_dataset("data/addition", "tool", split="test_1000")``. Run ``--help`` for every option.
"""

import argparse
import os
import sys
from dataclasses import asdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from toolssm.data import BuildSpec, build_config, check_out_dir, check_same_build, push_to_hub  # noqa: E402
from toolssm.tasks import TASKS, task_class  # noqa: E402


def _lengths(text: str) -> list[int]:
    if text.strip().lower() in ("", "none"):
        return []
    try:
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("task", choices=sorted(TASKS), help="which task to build")
    p.add_argument("--out", required=True, help="output folder (a Hub dataset repository layout)")
    p.add_argument("--config", help="config to build (default: the task's main one); 'all' builds every config; "
                   + "; ".join(f"{name}: {', '.join(cls.configs)}" for name, cls in TASKS.items()))
    p.add_argument("--seed", type=int, default=0, help="dataset seed (items are rebuilt from seed, split and index)")
    p.add_argument("--train-rows", type=int, default=10000, help="rows in the train split")
    p.add_argument("--validation-rows", type=int, default=200, help="rows in the validation split")
    p.add_argument("--test-rows", type=int, default=100, help="rows in each test_<n> split")
    p.add_argument("--stress-rows", type=int, default=None, help="rows in each stress_<n> split: problems of size n from the corners of the input space, classes in turn (default: --test-rows where the task has stress classes, else 0)")
    p.add_argument("--runs-rows", type=int, default=None, help="rows in each runs_<n> split: problems of size n whose operands hold one run of a digit over at least half their digits, classes in turn (default: --test-rows where the task has runs classes, i.e. the arithmetic tasks, else 0)")
    p.add_argument("--train-max-n", type=int, help="largest training size (default, the paper's: "
                   + ", ".join(f"{name} {cls.train_max_n}" for name, cls in TASKS.items()) + ")")
    p.add_argument("--test-lengths", type=_lengths, help="comma-separated test sizes, one split each ('none' for no test split)")
    p.add_argument("--num-proc", type=int, default=1, help="worker processes (spawning costs ~10 s; worth it for long trajectories only)")
    p.add_argument("--overwrite", action="store_true", help="build into a folder that holds files toolssm did not write, or a build of the same config with other settings (they may be replaced)")
    p.add_argument("--push-to-hub", metavar="REPO", help="upload the folder to this Hub dataset repo (needs HF_TOKEN and network)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)

    try:  # every argument is checked before any work starts
        cls = task_class(args.task)
        configs = sorted(cls.configs) if args.config == "all" else [args.config or cls.default_config]
        specs = [
            BuildSpec(
                task=args.task, config=c, seed=args.seed, train_rows=args.train_rows, validation_rows=args.validation_rows,
                test_rows=args.test_rows, train_max_n=cls.train_max_n if args.train_max_n is None else args.train_max_n,
                test_lengths=list(cls.test_lengths) if args.test_lengths is None else args.test_lengths,
                stress_rows=(args.test_rows if cls.stress_classes else 0) if args.stress_rows is None else args.stress_rows,
                runs_rows=(args.test_rows if cls.runs_classes else 0) if args.runs_rows is None else args.runs_rows,
            )
            for c in configs
        ]
        for s in specs:
            s.validate()
        out = check_out_dir(args.out, args.overwrite)
        if not args.overwrite:  # before building anything: 'all' must not stop half-way
            for s in specs:
                check_same_build(os.path.join(out, s.config), asdict(s))
    except ValueError as e:
        p.error(str(e))
    if args.num_proc < 1:
        p.error("--num-proc must be >= 1")
    for s in specs:
        stats = build_config(s, args.out, num_proc=args.num_proc, progress=not args.quiet, overwrite=args.overwrite)
        for split, st in stats["splits"].items():
            print(f"{s.task}/{s.config}/{split}: {st['rows']} rows, n={st['n']}, mean {st['mean_tokens']} tokens, max {st['max_tokens']}, {st['seconds']}s")
    print(f"wrote {os.path.abspath(args.out)} (README.md card included)")
    if args.push_to_hub:
        print(push_to_hub(args.out, args.push_to_hub, token=os.environ.get("HF_TOKEN")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
