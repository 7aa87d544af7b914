#!/usr/bin/env python
"""Trajectory generation speed: rows/s (generate + replay + answer check, as the builder does) and tokens per row,
for every task at its training size and at the largest test size, single process.

    python benchmarks/bench_datasets.py [--out benchmarks/results/datasets_cpu.json]
"""

import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from toolssm.tasks import get_task  # noqa: E402

CASES = [  # task, config, training max n, largest test n, rows at the test size
    ("addition", "tool", 5, 1000, 5),
    ("multiplication", "n_x_1", 10, 1000, 5),
    ("multiplication", "n_x_2", 10, 1000, 3),
    ("hanoi", "iterative", 8, 10, 1),
    ("hanoi", "recursive", 7, 10, 2),
    ("logical_graph", "default", 10, 1000, 5),
]


def measure(task, n, train, rows):
    t0 = time.perf_counter()
    toks = 0
    for i in range(rows):
        item = task.make_item(0, "bench", i, n, train)
        assert task.verify(item) is None
        toks += item.trajectory.num_tokens()
    dt = time.perf_counter() - t0
    return rows / dt, toks / rows


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--train-rows", type=int, default=200)
    p.add_argument("--out", default="benchmarks/results/datasets_cpu.json")
    args = p.parse_args()
    out = []
    print(f"{'task':>15} {'config':>10} {'n':>5} {'rows/s':>9} {'tokens/row':>11}")
    for name, config, n_train, n_test, test_rows in CASES:
        task = get_task(name, config)
        for n, train, rows in [(n_train, True, args.train_rows), (n_test, False, test_rows)]:
            rps, tpr = measure(task, n, train, rows)
            out.append({"task": name, "config": config, "n": n, "train_distribution": train, "rows": rows, "rows_per_s": rps, "tokens_per_row": tpr})
            print(f"{name:>15} {config:>10} {('1..' if train else '') + str(n):>5} {rps:>9.2f} {tpr:>11.0f}")
    meta = {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version(), "processes": 1,
            "command": "python " + " ".join(sys.argv)}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    json.dump({"meta": meta, "rows": out}, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
