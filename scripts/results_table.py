#!/usr/bin/env python
"""Collect every addition evaluation under results/addition into one markdown table and one plot.

    python scripts/results_table.py   # writes results/addition/README_table.md and results/addition/accuracy_vs_length.png
"""

import glob
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from toolssm.evaluation import plot_results  # noqa: E402

ROOT = "results/addition"
LENGTHS = [5, 10, 20, 50, 100, 200, 500, 1000]


def load(run_dir):
    """Merge a run's CPU and GPU evaluations per length (CPU first: more samples)."""
    by_n, res = {}, None
    for sub in ("eval_cpu", "eval_gpu"):
        f = os.path.join(run_dir, sub, "results.json")
        if os.path.exists(f):
            r = json.load(open(f))
            res = res or r
            for L in r["lengths"]:
                by_n.setdefault(L["n"], dict(L, source=sub))
    if res is None:
        return None
    args = json.load(open(os.path.join(run_dir, "training_args.json")))
    res = dict(res, lengths=[by_n[n] for n in sorted(by_n)], args=args)
    return res


def main():
    runs = []
    for d in sorted(glob.glob(f"{ROOT}/*/*/")):
        r = load(d)
        if r:
            r["name"] = os.path.relpath(d, ROOT).rstrip("/")
            runs.append(r)
    lines = ["| run | arch | config | steps | batch | lr | seed | " + " | ".join(str(n) for n in LENGTHS) + " |",
             "|---|---|---|---|---|---|---|" + "---|" * len(LENGTHS)]
    for r in runs:
        a = r["args"]
        cells = []
        for n in LENGTHS:
            L = next((x for x in r["lengths"] if x["n"] == n), None)
            cells.append("-" if L is None else f"{L['exact_match']:.2f} ({L['num_samples']})")
        lines.append(f"| {r['name']} | {r['model_type']} | {a['data']['config'] or 'tool'} | {a.get('steps_completed', a['train']['max_steps'])} | "
                     f"{a['train']['batch_size']} | {a['train']['learning_rate']} | {a['train']['seed']} | " + " | ".join(cells) + " |")
    text = ("Exact match (trajectory and answer) by operand length in digits; in brackets the number of problems. "
            "Every run trained on 1-5 digit operands.\n\n" + "\n".join(lines) + "\n")
    open(f"{ROOT}/README_table.md", "w").write(text)
    print(text)
    for r in runs:
        r["label"] = r["name"]
    plot_results(runs, f"{ROOT}/accuracy_vs_length.png", title="addition: exact match vs length (trained on 1-5 digits)")


if __name__ == "__main__":
    main()
