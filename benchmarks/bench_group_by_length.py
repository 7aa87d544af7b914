#!/usr/bin/env python
"""Batching by length (train.py --group_by_length W) against the plain stream, in one process: the padded tokens a
training step computes, and the wall time of training steps on the same examples.

    python benchmarks/bench_group_by_length.py                                  # CPU: Hanoi recursive and iterative
    python benchmarks/bench_group_by_length.py --device cuda --preset mamba-small --time-steps 20 --out ...

A batch is padded to its longest row (toolssm.trajectory.collate), and the recurrent models' step time grows with that
length (an LSTM runs one time step after another; Mamba's scan covers every padded position), so the share of real
tokens among the padded ones bounds how much of a step is useful work. Part 1 counts it over ``--steps`` steps of each
task's training stream (the builder's own sampling, data seed 0) for each W. Part 2 trains a model (random start,
AdamW) for ``--time-steps`` steps on the grouped and on the plain batches of the same examples (a multiple of W),
alternately, and gives the total wall time of each and the ratio. Nothing is asserted: the figures are the result.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

from _write import write_json  # noqa: E402  (benchmarks/_write.py)

from toolssm.models import build_model  # noqa: E402
from toolssm.training import StepDataset, TaskSource  # noqa: E402
from toolssm.trajectory import collate  # noqa: E402

TASKS = {"hanoi-recursive": ("hanoi", "recursive", 7), "hanoi-iterative": ("hanoi", "iterative", 8)}


def padding(src, batch: int, steps: int, group: int) -> dict:
    ds = StepDataset(src, 0, batch, 0, 1, None, group_by_length=group)
    real = padded = 0
    for s in range(steps):
        lengths = [len(ds[s * batch + j]["input_ids"]) for j in range(batch)]
        real, padded = real + sum(lengths), padded + max(lengths) * batch
    return {"group_by_length": group, "real_tokens": real, "padded_tokens": padded, "real_share": real / padded}


def time_steps(src, batch: int, group: int, preset: str, device: torch.device, n_steps: int) -> dict:
    """Seconds per training step (forward, backward, AdamW) over the first ``n_steps`` steps of the grouped and of the
    plain stream, alternately, after one warm-up step: the same examples when n_steps is a multiple of ``group``. The
    total is the figure (a grouped window mixes short and long batches: its median step says little)."""
    torch.manual_seed(0)
    model = build_model(preset).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    streams = {name: StepDataset(src, 0, batch, 0, 1, None, group_by_length=g) for name, g in (("plain", 0), ("grouped", group))}
    times: dict[str, list[float]] = {k: [] for k in streams}
    tokens: dict[str, list[int]] = {k: [] for k in streams}

    def step(b) -> float:
        b = {k: v.to(device) for k, v in b.items()}
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        out = model(input_ids=b["input_ids"], attention_mask=b.get("attention_mask"), labels=b["labels"])
        out.loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t

    step(collate([streams["plain"][j] for j in range(batch)]))  # warm-up, not counted
    for s in range(n_steps):
        for name, ds in streams.items():
            b = collate([ds[s * batch + j] for j in range(batch)])
            times[name].append(step(b))
            tokens[name].append(int(b["input_ids"].numel()))
    total = {k: sum(v) for k, v in times.items()}
    return {"preset": preset, "device": str(device), "steps": n_steps, "total_s": total, "padded_tokens": {k: sum(v) for k, v in tokens.items()},
            "speedup": total["plain"] / total["grouped"], "all_step_s": times}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated, of {sorted(TASKS)}")
    p.add_argument("--batch", type=int, default=16, help="sequences a step (table1_full's Hanoi cells: 16)")
    p.add_argument("--steps", type=int, default=64, help="steps counted for the padding table")
    p.add_argument("--groups", default="0,4,8,16,32", help="W values for the padding table")
    p.add_argument("--group", type=int, default=8, help="W for the timed comparison")
    p.add_argument("--preset", default="mamba-tiny")
    p.add_argument("--device", default="cpu")
    p.add_argument("--time-steps", type=int, default=8, help="timed steps per variant, a multiple of --group for the same examples (0: skip the timing)")
    p.add_argument("--out", default=None, help="write the figures as JSON")
    args = p.parse_args(argv)
    device = torch.device(args.device)
    record = {"command": " ".join(["python", *sys.argv]), "batch": args.batch, "tasks": {}}
    for name in args.tasks.split(","):
        task, config, tmax = TASKS[name]
        src = TaskSource(task, config, tmax, 0)
        rows = [padding(src, args.batch, args.steps, int(g)) for g in args.groups.split(",")]
        base = rows[0]["padded_tokens"]
        print(f"{name} (train max {tmax}, batch {args.batch}, {args.steps} steps):")
        print("  W     real share of padded tokens   padded tokens vs W=0")
        for r in rows:
            print(f"  {r['group_by_length']:<5} {r['real_share']:>8.2f}                     {base / r['padded_tokens']:>6.2f}x fewer")
        entry = {"padding": rows}
        if args.time_steps:
            t = time_steps(src, args.batch, args.group, args.preset, device, args.time_steps)
            print(f"  {args.preset} on {device}, the same {args.time_steps} steps' examples: plain {t['total_s']['plain']:.2f} s, "
                  f"W={args.group} {t['total_s']['grouped']:.2f} s: {t['speedup']:.2f}x")
            entry["timing"] = t
        record["tasks"][name] = entry
    write_json(args.out, record)


if __name__ == "__main__":
    main()
