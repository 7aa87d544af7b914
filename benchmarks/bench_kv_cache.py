#!/usr/bin/env python
"""The attention models' tool-loop cache: toolssm's growing cache (a buffer that doubles) against transformers'
DynamicCache (a ``torch.cat`` of the whole cache every step), end to end in the tool loop, in one process.

    python benchmarks/bench_kv_cache.py                                         # CPU, pythia-small, code fixing at 8
    python benchmarks/bench_kv_cache.py --preset mistral-small --n 16 --batch 32 --device cuda --out ...

A batch of the task's test problems is decoded teacher-forced (``teacher_ids``: the model runs every step, the tokens
are the reference trajectory's), so both caches decode identical rows; the script checks that their logits at every
step agree. Both variants run alternately, ``--repeats`` times each; the table gives the median wall time, loop steps
per second and the ratio. Random weights (speed does not depend on them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

from _write import ab_record, write_json  # noqa: E402  (benchmarks/_write.py)

from toolssm import fast, generation  # noqa: E402
from toolssm.models import build_model  # noqa: E402
from toolssm.tasks import get_task  # noqa: E402
from toolssm.tokenizer import encode  # noqa: E402
from toolssm.trajectory import render  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="pythia-small")
    p.add_argument("--device", default="cpu")
    p.add_argument("--task", default="code_fixing")
    p.add_argument("--config", default=None)
    p.add_argument("--n", type=int, default=8)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = build_model(args.preset).to(device).eval()
    if fast.growing_cache(model) is None:
        raise SystemExit(f"{args.preset}: not an attention model (its tool loop does not use the growing cache)")
    task = get_task(args.task, args.config) if args.config else get_task(args.task)
    items = [task.make_item(0, f"test_{args.n}", i, args.n, train=False) for i in range(args.batch)]
    refs = [render(it.trajectory, train_observations=task.train_observations)["input_ids"] for it in items]
    prompts = [it.prompt for it in items]
    growing = fast.growing_cache

    def run(kind):
        fast.growing_cache = growing if kind == "growing" else (lambda model: None)  # None: transformers' DynamicCache
        tools = [task.inference_tool(it.problem) for it in items]
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        res = generation.generate_with_tools(model, prompts, tools, max_new_tokens=[len(r) for r in refs], teacher_ids=refs,
                                             return_logits=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        fast.growing_cache = growing
        return res, time.perf_counter() - t0

    times, logits = {"dynamic_cache": [], "growing_cache": []}, {}
    for _ in range(args.repeats):
        for kind in ("dynamic", "growing"):
            res, dt = run(kind)
            times[f"{kind}_cache"].append(dt)
            logits.setdefault(kind, [r.logits for r in res])
    err = max((a - b).abs().max().item() for a, b in zip(logits["dynamic"], logits["growing"]))
    assert err < 1e-3, f"the two caches disagree: max logit difference {err}"
    out = ab_record(args, device, args.preset, len(items), refs, [len(encode(pr)) for pr in prompts], times, "dynamic_cache",
                    "growing_cache", max_logit_difference=err)
    steps, (shortest, _, longest) = out["loop_steps"], out["trajectory_tokens_min_median_max"]
    print(json.dumps(out, indent=1))
    print(f"{args.preset}, batch {len(items)}, trajectories {shortest}-{longest} tokens: DynamicCache {out['dynamic_cache_s']:.1f} s, "
          f"growing cache {out['growing_cache_s']:.1f} s ({out['speedup']:.2f}x), median of {args.repeats}; {steps} loop steps; "
          f"logits differ by at most {err:.1e}")
    write_json(args.out, out)


if __name__ == "__main__":
    main()
