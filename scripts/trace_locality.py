"""How much context does each trace need? The smallest window W such that the last W tokens always determine the
next trained token (``toolssm.trajectory.window_conflict``), on training-distribution problems of growing size.

A window that stays constant as problems grow means the trace never asks the model to carry information across a
walk whose length grows with the problem; a window growing with n (the paper's 2-pointer addition trace: 3n + 4)
marks a decision that depends on something n tokens back, which is where the failing models in results/addition and
results/table1 break. Writes results/trace_locality/README.md (a table) and locality.json.

    python scripts/trace_locality.py                 # ~2 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import os

from toolssm.data import task_for_config
from toolssm.trajectory import min_context_window

ROWS = [  # (task, config, sizes)
    ("addition", "tool", [5, 10, 20, 40]),
    ("addition", "tool_p3", [5, 10, 20, 40]),
    ("multiplication", "n_x_1", [5, 10, 20, 40]),
    ("multiplication", "n_x_1_aligned", [5, 10, 20, 40]),
    ("multiplication", "n_x_2", [5, 10, 20, 40]),
    ("multiplication", "n_x_2_aligned", [5, 10, 20, 40]),
    ("logical_graph", "default", [5, 10, 20, 40]),
    ("hanoi", "recursive", [3, 4, 5, 6]),
    ("hanoi", "iterative", [3, 4, 5, 6]),
]


def min_window(task, n: int, count: int) -> int | None:
    return min_context_window([task.make_item(0, "train", i, n, train=True).trajectory for i in range(count)])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=40, help="training problems per size (random sizes up to n)")
    ap.add_argument("--out", default="results/trace_locality")
    args = ap.parse_args(argv)
    rows = []
    for task_name, config, sizes in ROWS:
        task = task_for_config(task_name, config)
        windows = [min_window(task, n, args.count) for n in sizes]
        rows.append({"task": task_name, "config": config, "sizes": sizes, "min_window": windows})
        print(f"{task_name:15s} {config:15s} " + "  ".join(f"n<={n}: {w}" for n, w in zip(sizes, windows)), flush=True)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "locality.json"), "w") as f:
        json.dump({"count": args.count, "rows": rows}, f, indent=1)
    lines = ["# Context each trace needs (`python scripts/trace_locality.py`)", "",
             "Smallest window W (tokens) such that the last W tokens determine every trained token, over "
             f"{args.count} training problems with sizes drawn up to n (`toolssm.trajectory.window_conflict`). "
             "Constant in n: nothing has to be carried across a walk of the problem's length.", "",
             "| task | config | " + " | ".join("n ≤ size %d" % (i + 1) for i in range(4)) + " |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['task']} | {r['config']} | " + " | ".join(f"{w} (n≤{n})" for n, w in zip(r["sizes"], r["min_window"])) + " |")
    with open(os.path.join(args.out, "README.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
