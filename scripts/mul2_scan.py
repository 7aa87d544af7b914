"""Every multiplier of an n x 2 checkpoint against structured multiplicands: which (a, b) fail?

The stress split draws the two-digit multiplier at random, 16 problems a class, so a failure tied to one multiplier
can hide in it: on 2026-12-05 `9 x 10^999 x 72` was the one stress problem the released n x 2 checkpoint got wrong at
1,000 digits, and scanning showed it is not that problem but that multiplier (every b from 10 to 99 exact at 9 x 10^200;
at 9 x 10^499 only 72 wrong of 24 tried). This script runs, for each family of multiplicands at each size, all 90
two-digit multipliers, and checks every answer against Python's integers.

    python scripts/mul2_scan.py checkpoints/multiplication-n_x_2_aligned-mamba-small-stress --sizes 200,400 \\
        --out results/probe/multiplication-n_x_2_aligned-mamba-small-stress/mul2-scan.json

Families (a has n digits): `power_of_10` (d x 10^(n-1), d cycling 1-9 with b), `zero_run_end` (a random head of
n/5 digits, then zeros), `zero_run_middle` (random head and tail of n/5 digits each, zeros between), `repdigit`
(d...d, d cycling 1-9 with b: every column of the trace the same), `random`.
"""

import argparse
import json
import os
import random
import sys
import time

FAMILIES = ("power_of_10", "zero_run_end", "zero_run_middle", "repdigit", "random")


def multiplicand(family: str, n: int, b: int, rng: random.Random) -> int:
    def digits(m: int) -> str:
        return str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(m - 1)) if m > 0 else ""

    if family == "power_of_10":
        return (b % 9 + 1) * 10 ** (n - 1)
    if family == "zero_run_end":
        h = max(1, n // 5)
        return int(digits(h) + "0" * (n - h))
    if family == "zero_run_middle":
        h = max(1, n // 5)
        tail = "".join(rng.choice("123456789") for _ in range(h))
        return int(digits(h) + "0" * (n - 2 * h) + tail)
    if family == "repdigit":
        return int(str(b % 9 + 1) * n)
    if family == "random":
        return int(digits(n))
    raise ValueError(f"unknown family {family!r}; choose from {FAMILIES}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="an n x 2 multiplication checkpoint folder")
    ap.add_argument("--sizes", default="200,400", help="multiplicand lengths in digits (comma-separated)")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--multipliers", default="10-99", help="'10-99' or a comma-separated list")
    ap.add_argument("--batch-size", type=int, default=90)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--hide-input", action=argparse.BooleanOptionalAction, default=None,
                    help="default: as the checkpoint records (generation_config.json)")
    ap.add_argument("--out", default=None, help="JSON file: every case and its answer")
    args = ap.parse_args(argv)

    import warnings

    import torch
    from transformers import AutoModelForCausalLM

    import toolssm  # noqa: F401

    if not os.path.isdir(args.model):
        ap.error(f"{args.model!r} is not a checkpoint folder")
    families = [f for f in args.families.split(",") if f]
    for f in families:
        if f not in FAMILIES:
            ap.error(f"unknown family {f!r}; choose from {', '.join(FAMILIES)}")
    if "-" in args.multipliers:
        lo, hi = (int(x) for x in args.multipliers.split("-"))
        bs = list(range(lo, hi + 1))
    else:
        bs = [int(x) for x in args.multipliers.split(",")]
    model = AutoModelForCausalLM.from_pretrained(args.model).eval().to(args.device)
    task = model.task()
    if task is None or task.name != "multiplication":
        ap.error(f"{args.model}: not a multiplication checkpoint")
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    rng = random.Random(args.seed)
    cases = [(f, n, multiplicand(f, n, b, rng), b) for n in (int(x) for x in args.sizes.split(",")) for f in families for b in bs]
    rows, t0 = [], time.time()
    for s in range(0, len(cases), args.batch_size):
        chunk = cases[s : s + args.batch_size]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a wrong row's budget warning: it is counted below
            res = model.generate_with_tools([f"{a}×{b}=" for _, _, a, b in chunk], hide_input=args.hide_input)
        for (f, n, a, b), r in zip(chunk, res):
            rows.append({"family": f, "n": n, "b": b, "a_head": str(a)[:12], "zeros": str(a).count("0"),
                         "right": r.output == str(a * b), "output_head": r.output[:24], "truncated": r.truncated})
        print(f"  {min(s + args.batch_size, len(cases))}/{len(cases)} ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    summary = {}
    for r in rows:
        k = f"{r['family']} n={r['n']}"
        summary.setdefault(k, {"right": 0, "cases": 0, "wrong_b": []})
        summary[k]["cases"] += 1
        summary[k]["right"] += r["right"]
        if not r["right"]:
            summary[k]["wrong_b"].append(r["b"])
    for k, v in summary.items():
        print(f"{k:28s} {v['right']}/{v['cases']}  wrong multipliers: {v['wrong_b'] or 'none'}")
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump({"command": "python scripts/mul2_scan.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                       "model": args.model, "hide_input": task.input_in_tool if args.hide_input is None else args.hide_input,
                       "device": args.device, "seconds": round(time.time() - t0), "summary": summary, "cases": rows}, f, indent=1)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0 if all(r["right"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
