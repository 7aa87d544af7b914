"""Where is a logical-graph checkpoint close to copying a wrong variable name? Teacher-forced margins at every digit of
every name the model writes, by where the name's source lies, against graph size.

After each lookup the model writes a line (`p: E'`, `c <- p: E`, `p := v`) whose names it copies either from the
observation just before it (the intended source: a definition, or the stack line `find p <-` returns) or from further
back, across that observation. The second kind is what every decoded failure of the shipped checkpoint at 500-1,000
nodes got wrong (docs/FORMATS.md, logical graph, `value_lines`). This script feeds reference trajectories through the
model in one forward pass each and reports, per size and kind of copy, the digit positions, how many the model's
greedy choice gets wrong (teacher-forced: each position with the reference before it), and how small the margin
(logit of the reference digit minus the best other logit) gets. A margin that shrinks with graph size only where the
copy crosses an observation holding other names says that the failures are that copy, not the search or the logic.

    python scripts/graph_copy_margins.py --model checkpoints/logical-graph-mamba-small --sizes 10,100,1000 \\
        --split stress --classes and_only --count 8 --out results/stress/logical-graph-mamba-small/copy-margins.json

Kinds of name digit (a name is `v` + 4 digits; a digit is classified by its name):
- `local`: the name occurs in the observation right before the line (copied from there);
- `crossed, other names between`: it does not, and that observation names variables other than the one its command
  looked up (the default trace's lookups: the child's definition, two more names);
- `crossed, no other names between`: it does not, and that observation names only the variable looked up, or nothing
  (the `value_lines` trace's value lookups);
- `command`: a name inside a `find` command (copied from the line before it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

NAME = re.compile(r"v\d{4}")
COMMAND, END_COMMAND = "[COMMAND]", "[/COMMAND]"


def classify(tokens: list[tuple[str, str]]) -> list[str | None]:
    """Per token: the copy kind of a trained name digit (see the module docstring), else None."""
    kinds: list[str | None] = [None] * len(tokens)
    last_obs, last_cmd = "", ""  # texts of the most recent observation and command
    i = 0
    while i < len(tokens):
        tok, role = tokens[i]
        if role == "observation":
            j = i
            while j < len(tokens) and tokens[j][1] == "observation":
                j += 1
            last_obs = "".join(t for t, _ in tokens[i:j])
            i = j
            continue
        if tok == COMMAND:
            j = i
            while j < len(tokens) and tokens[j][0] != END_COMMAND:
                j += 1
            last_cmd = "".join(t for t, _ in tokens[i:j])
        if role in ("thought", "command") and tok == "v":
            digits = tokens[i + 1:i + 5]
            if len(digits) == 4 and all(t.isdigit() and r == role for t, r in digits):
                name = "v" + "".join(t for t, _ in digits)
                if role == "command":
                    kind = "command"
                elif name in last_obs:
                    kind = "local"
                else:
                    others = set(NAME.findall(last_obs)) - set(NAME.findall(last_cmd)) - {name}
                    kind = "crossed, other names between" if others else "crossed, no other names between"
                for k in range(i + 1, i + 5):
                    kinds[k] = kind
                i += 5
                continue
        i += 1
    return kinds


def margins(model, ids: list[int], device) -> tuple[list[float], list[bool]]:
    """Per position t >= 1: (logit of ids[t] minus the best other logit at t - 1, whether argmax == ids[t])."""
    import torch

    with torch.no_grad():
        x = torch.tensor([ids], device=device)
        logits = model(input_ids=x).logits[0, :-1].float()
    target = x[0, 1:]
    ref = logits.gather(1, target[:, None])[:, 0]
    other = logits.scatter(1, target[:, None], float("-inf")).max(1).values
    return [0.0] + (ref - other).tolist(), [True] + (logits.argmax(1) == target).tolist()


def stepped_margins(model, seqs: list[list[int]], device) -> list[tuple[list[float], list[bool]]]:
    """:func:`margins` for several trajectories at once, fed one token a step through the exact Mamba-1 decoding step
    (toolssm.fast.MambaStepper; right-padded rows, whose padding no earlier position sees): memory stays (rows, vocab)
    a step, where one full forward of a 276k-token trajectory takes ~9 GB a tensor on CPU."""
    import torch

    from toolssm.evaluation import stepped_logits
    from toolssm.fast import MambaStepper

    L = max(len(s) for s in seqs)
    ids = torch.zeros(len(seqs), L, dtype=torch.long, device=device)
    for r, s in enumerate(seqs):
        ids[r, :len(s)] = torch.tensor(s, device=device)
    stepper = MambaStepper(model, len(seqs), cuda_graph=False)
    marg = torch.zeros(len(seqs), L, device=device)
    good = torch.ones(len(seqs), L, dtype=torch.bool, device=device)
    rows = torch.arange(len(seqs), device=device)
    with torch.no_grad():
        for t, logits in stepped_logits(stepper, ids):  # the logits that predict ids[:, t + 1]
            lg = logits.float()
            target = ids[:, t + 1]
            ref = lg[rows, target]
            other = lg.scatter(1, target[:, None], float("-inf")).max(1).values
            marg[:, t + 1] = ref - other
            good[:, t + 1] = lg.argmax(1) == target
    return [(marg[r, :len(s)].tolist(), good[r, :len(s)].tolist()) for r, s in enumerate(seqs)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--config", default=None, help="the task config (default: the checkpoint's)")
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--split", default="stress", choices=["test", "stress"])
    ap.add_argument("--classes", default="and_only", help="stress classes (comma-separated); ignored for --split test")
    ap.add_argument("--count", type=int, default=8, help="problems per size (and class)")
    ap.add_argument("--seed", type=int, default=0, help="the evaluation's item seed (eval.py --seed)")
    ap.add_argument("--threshold", type=float, default=2.0, help="report the share of digits with a margin below this")
    ap.add_argument("--stepped", action="store_true",
                    help="feed a size's problems together through the one-token decoding step (Mamba-1 only): memory "
                         "stays small at any length, for trajectories a full forward cannot hold (chain at 1,000 nodes)")
    ap.add_argument("--out", default=None, help="JSON file for the table")
    args = ap.parse_args(argv)

    import torch
    from transformers import AutoModelForCausalLM

    import toolssm  # noqa: F401  (registers the model classes)
    from toolssm.kernels import select_mamba_path
    from toolssm.modeling import read_tool_spec
    from toolssm.tasks import get_task, task_from_spec
    from toolssm.trajectory import render

    model = AutoModelForCausalLM.from_pretrained(args.model).eval()
    spec = read_tool_spec(args.model)
    if not spec:
        raise SystemExit(f"{args.model}: no toolssm task in its generation_config.json")
    task = get_task(spec["task"], args.config) if args.config else task_from_spec(spec)
    if task.name != "logical_graph":
        raise SystemExit(f"{args.model}: a {task.name} checkpoint; this script reads logical-graph trajectories")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    print(select_mamba_path(model), file=sys.stderr)
    classes = [c for c in args.classes.split(",") if c] if args.split == "stress" else [None]
    for c in classes:
        if c is not None and c not in task.stress_classes:
            raise SystemExit(f"unknown stress class {c!r}; choose from {task.stress_classes}")
    K = len(task.stress_classes)
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        for c in classes:
            stats: dict[str, dict] = {}
            t0 = time.time()
            if c is None:
                indices = list(range(args.count))
            else:
                first = task.stress_classes.index(c)
                indices = [first + K * j for j in range(args.count)]
            problems = []
            for idx in indices:
                item = task.make_item(args.seed, f"{args.split}_{n}", idx, n, train=False, stress=c is not None)
                toks = list(item.trajectory.tokens())
                problems.append((classify(toks), render(item.trajectory)["input_ids"][:len(toks)]))
            if args.stepped:
                scored = stepped_margins(model, [ids for _, ids in problems], device)
            else:
                scored = [margins(model, ids, device) for _, ids in problems]
            for (kinds, _), (m, ok) in zip(problems, scored):
                for k, mm, good in zip(kinds, m, ok):
                    if k is None:
                        continue
                    s = stats.setdefault(k, {"digits": 0, "argmax_wrong": 0, "below": 0, "min_margin": float("inf"), "margins": []})
                    s["digits"] += 1
                    s["argmax_wrong"] += not good
                    s["below"] += mm < args.threshold
                    s["min_margin"] = min(s["min_margin"], mm)
                    s["margins"].append(mm)
            for k, s in sorted(stats.items()):
                ms = sorted(s.pop("margins"))
                row = {"n": n, "class": c or "random", "kind": k, "problems": len(indices), **s,
                       "share_below": s["below"] / s["digits"], "p01_margin": ms[len(ms) // 100], "median_margin": ms[len(ms) // 2]}
                rows.append(row)
                print(f"n={n:5d} {row['class']:10s} {k:32s} digits {s['digits']:7d}  argmax wrong {s['argmax_wrong']:4d}  "
                      f"margin < {args.threshold:g}: {row['share_below']:.5f}  min {s['min_margin']:6.2f}  p1 {row['p01_margin']:6.2f}  "
                      f"median {row['median_margin']:6.2f}", flush=True)
            print(f"  ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump({"command": "python scripts/graph_copy_margins.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                       "model": args.model, "config": task.config, "split": args.split, "seed": args.seed,
                       "threshold": args.threshold, "device": str(device), "rows": rows}, f, indent=1)
        print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
