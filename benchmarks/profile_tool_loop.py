#!/usr/bin/env python
"""Where a tool loop's time goes, on a shipped checkpoint and the problems an evaluation gives it.

    python benchmarks/profile_tool_loop.py --model checkpoints/logical-graph-mamba-small --split stress --n 1000 \
        --batch 112 --steps 20000 --device cuda --out benchmarks/results/h100/profile_graph_1000.json

Runs ``generate_with_tools`` exactly as eval.py does (greedy, ``stop_at_reference``, the default loop for the device:
pipelined host loop on CUDA, or ``--decode device``) for a window of ``--steps`` decode steps under cProfile, and
reports steps/s, rows still running at the end of the window and the functions with the most own time. Written for
issue 25's question why the logical graph (search memory, host loop) decoded ~600 steps/s at batch 112 on an H100
where addition's host loop ran ~3,900 steps/s at batch 64 (benchmarks/results/h200).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

from _write import write_json  # noqa: E402  (benchmarks/_write.py)

from toolssm.evaluation import EVAL_SPLITS, episode_budget  # noqa: E402
from toolssm.generation import generate_with_tools  # noqa: E402
from toolssm.trajectory import render  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="a checkpoint folder")
    p.add_argument("--split", default="stress", choices=EVAL_SPLITS)
    p.add_argument("--n", type=int, required=True, help="problem size (the task's unit)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=5000, help="decode steps per row timed (the window)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--decode", default="auto", choices=["auto", "device"])
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--out", default=None, help="JSON file for the figures and the profile's top functions")
    args = p.parse_args(argv)
    device = torch.device(args.device)
    from transformers import AutoModelForCausalLM

    import toolssm  # noqa: F401  (registers the Auto classes)
    from toolssm.tasks import choose_input, task_from_spec

    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).to(device).eval()  # as eval.py loads it
    task = choose_input(task_from_spec(model.tool_spec), None)  # the checkpoint's task, input shown or hidden as it says
    stress = args.split == "stress"
    items = [task.make_item(0, f"{args.split}_{args.n}", i, args.n, train=False, stress=stress) for i in range(args.batch)]
    refs = [render(it.trajectory, train_observations=task.train_observations)["input_ids"] for it in items]
    tools = [task.inference_tool(it.problem) for it in items]
    budgets = [min(args.steps, episode_budget(r)) for r in refs]
    kw = dict(stop_at_reference=refs, device_tools=True if args.decode == "device" else None)
    generate_with_tools(model, [it.prompt for it in items[:2]], [task.inference_tool(it.problem) for it in items[:2]], max_new_tokens=8, **kw)
    prof = cProfile.Profile()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    prof.enable()
    res = generate_with_tools(model, [it.prompt for it in items], tools, max_new_tokens=budgets, **kw)
    prof.disable()
    if device.type == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    steps = max(len(r.ids) for r in res) - min(len(r.ids) - len(r.generated_ids) for r in res)
    off = sum(r.diverged for r in res)
    s = io.StringIO()
    st = pstats.Stats(prof, stream=s).sort_stats("tottime")
    st.print_stats(args.top)
    top = [{"function": f"{os.path.basename(k[0])}:{k[1]}({k[2]})", "calls": v[1], "own_s": v[2], "cumulative_s": v[3]}
           for k, v in sorted(st.stats.items(), key=lambda kv: -kv[1][2])[: args.top]]
    out = {"model": args.model, "task": task.name, "split": args.split, "n": args.n, "batch": args.batch, "window_steps": args.steps,
           "decode": args.decode, "device": str(device), "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
           "machine": platform.processor() or platform.machine(), "wall_s": dt, "loop_steps": steps, "steps_per_s": steps / dt,
           "generated_tokens": sum(len(r.generated_ids) for r in res), "rows_diverged": off,
           "rows_running_at_end": sum(not (r.finished or r.diverged) for r in res), "top_own_time": top,
           "command": " ".join(["python", *sys.argv])}
    print(s.getvalue())
    print(json.dumps({k: v for k, v in out.items() if k != "top_own_time"}, indent=1))
    write_json(args.out, out)


if __name__ == "__main__":
    main()
