#!/usr/bin/env python
"""The host tool loop's own cost: planning and committing only the rows still running vs every row every step.

    python benchmarks/bench_host_loop.py                                  # CPU, mamba-tiny, graph per class at 100 nodes
    python benchmarks/bench_host_loop.py --device cuda --preset mamba-small --n 1000 --batch 112 --out ...

A stress batch of the logical graph (16 per class by default: 7 classes whose trajectories differ up to 10x in length)
is decoded teacher-forced (``teacher_ids``: the model still runs every step, the sequences are the reference's), so
both variants decode identical rows; the script checks that they do. Rows finish at their own lengths, so after the
short classes are done most rows are padding: ``toolssm.generation.SKIP_FINISHED_ROWS`` stops planning and committing
them. Both variants run in this process, alternately, ``--repeats`` times each; the table gives the median wall time,
steps/s and the ratio. Random weights (speed does not depend on them).
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

from toolssm import generation  # noqa: E402
from toolssm.models import build_model  # noqa: E402
from toolssm.tasks import get_task  # noqa: E402
from toolssm.tokenizer import encode  # noqa: E402
from toolssm.trajectory import render  # noqa: E402


class NullStepper:
    """A decoding step that computes nothing: logits and greedy ids are fixed tensors (the teacher supplies the tokens)."""

    kind = "null"

    def __init__(self, B: int, device):
        from toolssm import vocab as V

        self.logits = torch.zeros(B, len(V.VOCAB), device=device)
        self.greedy = torch.zeros(B, dtype=torch.long, device=device)

    def prefill(self, ids):
        return self.logits[:, None].expand(ids.shape[0], ids.shape[1], -1)

    def step(self, ids):
        return self.logits

    def greedy_tokens(self):
        return self.greedy


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="mamba-tiny")
    p.add_argument("--device", default="cpu")
    p.add_argument("--task", default="logical_graph")
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--per-class", type=int, default=16, help="stress problems per class (batch = this x classes)")
    p.add_argument("--pipeline", action=argparse.BooleanOptionalAction, default=None, help="default: as generate_with_tools (on for CUDA)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--null-model", action="store_true", help="a stand-in step that computes nothing (constant logits): times the "
                   "loop's own host work alone, as on a GPU where the step runs asynchronously behind it")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = build_model(args.preset).to(device).eval()
    if args.null_model:
        generation.make_stepper = lambda model, B, **kw: NullStepper(B, device)
    task = get_task(args.task)
    k = len(task.stress_classes)
    items = [task.make_item(0, f"stress_{args.n}", i, args.n, train=False, stress=True) for i in range(args.per_class * k)]
    refs = [render(it.trajectory, train_observations=task.train_observations)["input_ids"] for it in items]
    prompts = [it.prompt for it in items]

    def run():
        tools = [task.inference_tool(it.problem) for it in items]
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        res = generation.generate_with_tools(model, prompts, tools, max_new_tokens=[len(r) for r in refs], teacher_ids=refs,
                                             pipeline=args.pipeline)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return res, time.perf_counter() - t0

    times = {"every_row": [], "live_rows": []}
    ids = {}
    for rep in range(args.repeats):
        for skip in (False, True):
            generation.SKIP_FINISHED_ROWS = skip
            res, dt = run()
            times["live_rows" if skip else "every_row"].append(dt)
            ids.setdefault(skip, [r.ids for r in res])
    generation.SKIP_FINISHED_ROWS = True
    assert ids[True] == ids[False], "the two variants decoded different rows"
    out = ab_record(args, device, "null step (no model)" if args.null_model else args.preset, len(items), refs,
                    [len(encode(pr)) for pr in prompts], times, "every_row", "live_rows")
    steps, (shortest, _, longest) = out["loop_steps"], out["trajectory_tokens_min_median_max"]
    print(json.dumps(out, indent=1))
    print(f"batch {len(items)}, trajectories {shortest}-{longest} tokens: every row {out['every_row_s']:.2f} s, "
          f"live rows {out['live_rows_s']:.2f} s ({out['speedup']:.2f}x), median of {args.repeats}; "
          f"{steps} loop steps: {out['every_row_steps_per_s']:.0f} -> {out['live_rows_steps_per_s']:.0f} steps/s")
    write_json(args.out, out)


if __name__ == "__main__":
    main()
