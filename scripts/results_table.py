#!/usr/bin/env python
"""Collect every addition evaluation under results/addition into one markdown table and one plot.

    python scripts/results_table.py   # writes results/addition/README_table.md and results/addition/accuracy_vs_length.png
"""

import glob
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from toolssm.evaluation import plot_results  # noqa: E402

ROOT = "results/addition"
LENGTHS = [5, 10, 20, 50, 100, 200, 500, 1000, 2000]


LOG_LINE = re.compile(r"n=(\d+): exact ([\d.]+) \[([\d.e-]+), ([\d.e-]+)\], answer ([\d.]+), token (\S+), (\d+) tok/sample")


def from_log(run_dir):
    """Per-length rows printed by eval.py into <run>.eval.log, for runs whose eval.py was stopped (by its timeout)
    before it wrote results.json; the sample count comes from the eval command in commands.txt."""
    name = os.path.basename(os.path.normpath(run_dir))
    log = os.path.join(os.path.dirname(os.path.normpath(run_dir)), f"{name}.eval.log")
    cmds = os.path.join(os.path.dirname(os.path.normpath(run_dir)), "commands.txt")
    if not os.path.exists(log) or not os.path.exists(cmds):
        return []
    m = [re.search(r"--num-samples (\d+)", c) for c in open(cmds) if "eval.py" in c and f"/{name} " in c]
    if not m or not m[0]:
        return []
    rows = [log_row(line, lambda n: int(m[0].group(1))) for line in open(log)]
    return [r for r in rows if r]


def log_row(line, num_samples):
    """One per-length row of eval.py's console output as a results.json length entry (None if the line is not
    one); ``num_samples(n)`` gives the sample count, which the line does not print."""
    g = LOG_LINE.search(line)
    if not g:
        return None
    n, em, lo, hi, ans, tok, tps = g.groups()
    return {"n": int(n), "num_samples": num_samples(int(n)), "exact_match": float(em), "exact_match_ci": [float(lo), float(hi)],
            "answer_accuracy": float(ans), "token_accuracy": None if tok == "None" else float(tok), "tokens_per_sample": int(tps)}


def load(run_dir):
    """Merge a run's evaluations per length: CPU results first (more samples), then GPU results, then the GPU eval log."""
    by_n, res = {}, None
    subs = sorted(glob.glob(os.path.join(run_dir, "eval_cpu*"))) + sorted(glob.glob(os.path.join(run_dir, "eval_gpu*")))
    for sub in subs:
        f = os.path.join(sub, "results.json")
        if os.path.exists(f):
            r = json.load(open(f))
            res = res or r
            for L in r["lengths"]:  # CPU before GPU; within each, the evaluation with the most problems
                old = by_n.get(L["n"])
                if old is None or (old["source"].startswith("eval_cpu") == sub.split(os.sep)[-1].startswith("eval_cpu")
                                   and L["num_samples"] > old["num_samples"]):
                    by_n[L["n"]] = dict(L, source=os.path.basename(sub))
    cfg = json.load(open(os.path.join(run_dir, "config.json"))) if os.path.exists(os.path.join(run_dir, "config.json")) else {}
    for L in from_log(run_dir):
        by_n.setdefault(L["n"], dict(L, source="eval log"))
    if not by_n:
        return None
    res = res or {"model_type": cfg.get("model_type", "?")}
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
