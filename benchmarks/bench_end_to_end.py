#!/usr/bin/env python
"""What fast decoding buys end to end: evaluating 1,000-digit addition, and one 10-disk Hanoi trajectory.

    python benchmarks/bench_end_to_end.py --device cuda --out benchmarks/results/end_to_end_h200.json

A. Evaluation of 1,000-digit addition with shipped checkpoints (exact match through the tool loop, as eval.py does
   it): the new loop (static state, CUDA graph) measured in full; the previous loop (the model's cache API)
   measured on two prefixes of the same decode and extrapolated linearly to the full length (a recurrent model's
   step costs the same at every position; both prefix times are reported).
B. One 10-disk iterative Tower of Hanoi trajectory (about 209,000 tokens) through the tool loop, teacher-forced
   with a random model of --hanoi-preset (decoding cost does not depend on the weights): new loop in full,
   previous loop extrapolated the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

from _write import write_json  # noqa: E402  (benchmarks/_write.py)

import toolssm  # noqa: E402,F401
from toolssm.evaluation import evaluate_items, make_test_items, summarize  # noqa: E402
from toolssm.generation import generate_with_tools  # noqa: E402
from toolssm.models import build_model  # noqa: E402
from toolssm.tasks import get_task  # noqa: E402
from toolssm.trajectory import render  # noqa: E402


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device, fn):
    sync(device)
    t0 = time.perf_counter()
    r = fn()
    sync(device)
    return r, time.perf_counter() - t0


def extrapolate(device, run, w1, w2, total):
    """Time run(w) for two prefix lengths; extrapolate linearly to ``total`` tokens per row."""
    _, t1 = timed(device, lambda: run(w1))
    _, t2 = timed(device, lambda: run(w2))
    per_tok = (t2 - t1) / (w2 - w1)
    return {"window_tokens": [w1, w2], "window_seconds": [t1, t2], "seconds_per_step": per_tok, "estimated_seconds": t1 + (total - w1) * per_tok}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda")
    p.add_argument("--checkpoints", default="checkpoints/addition-lstm-small,checkpoints/addition-mamba-small")
    p.add_argument("--digits", type=int, default=1000)
    p.add_argument("--num-samples", type=int, default=16)
    p.add_argument("--hanoi-preset", default="mamba-small")
    p.add_argument("--hanoi-disks", type=int, default=10)
    p.add_argument("--windows", default="300,1300", help="prefix lengths timed for the previous loop")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    device = torch.device(args.device)
    w1, w2 = (int(x) for x in args.windows.split(","))
    from transformers import AutoModelForCausalLM

    out = {"command": " ".join(["python", *sys.argv]), "device": str(device),
           "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None, "addition": [], "hanoi": None}
    task = get_task("addition")
    items = make_test_items(task, args.digits, args.num_samples, seed=0)
    refs = [render(it.trajectory)["input_ids"] for it in items]
    total = max(int(len(r) * 1.1) + 32 for r in refs)
    for ck in [c for c in args.checkpoints.split(",") if c]:
        model = AutoModelForCausalLM.from_pretrained(ck, dtype=torch.float32).to(device).eval()
        evaluate_items(model, task, items[:1], batch_size=1, token_accuracy=False)  # warm-up
        res, t_new = timed(device, lambda: evaluate_items(model, task, items, batch_size=len(items), token_accuracy=False))
        s = summarize(res)

        def prev(w):
            return generate_with_tools(model, [it.prompt for it in items], [task.inference_tool(it.problem) for it in items],
                                       max_new_tokens=w, fast=False)

        before = extrapolate(device, prev, w1, w2, total)
        row = {"checkpoint": ck, "digits": args.digits, "num_samples": len(items), "exact_match": s["exact_match"],
               "tokens_per_sample": s["tokens_per_sample"], "new_loop_seconds": t_new, "previous_loop": before,
               "speedup": before["estimated_seconds"] / t_new}
        out["addition"].append(row)
        print(json.dumps(row), flush=True)
        del model

    htask = get_task("hanoi", "iterative")
    it = htask.make_item(0, f"test_{args.hanoi_disks}", 0, args.hanoi_disks, train=False)
    teacher = render(it.trajectory)["input_ids"]
    torch.manual_seed(0)
    model = build_model(args.hanoi_preset).to(device).eval()
    n_new = len(teacher) - len(it.prompt)  # an upper bound on the generated part; the loop stops at [EOS]

    def hanoi(w, fast):
        return generate_with_tools(model, [it.prompt], [htask.inference_tool(it.problem)], max_new_tokens=w, teacher_ids=[teacher], fast=fast)

    hanoi(100, None)  # warm-up
    res, t_new = timed(device, lambda: hanoi(n_new + 8, None))
    assert res[0].ids == teacher, "the teacher-forced Hanoi decode left the reference trajectory"
    before = extrapolate(device, lambda w: hanoi(w, False), w1, w2, len(res[0].generated_ids))
    out["hanoi"] = {"preset": args.hanoi_preset, "disks": args.hanoi_disks, "tokens": len(res[0].ids), "tool_answers": res[0].num_forced,
                    "new_loop_seconds": t_new, "new_loop_tok_s": len(res[0].ids) / t_new, "previous_loop": before,
                    "speedup": before["estimated_seconds"] / t_new}
    print(json.dumps(out["hanoi"]), flush=True)
    print(f"\n{'what':>44} {'new loop s':>11} {'previous s (est.)':>18} {'speedup':>8}")
    for r in out["addition"]:
        print(f"{'eval ' + str(r['digits']) + '-digit addition x' + str(r['num_samples']) + ' ' + os.path.basename(r['checkpoint']):>44} "
              f"{r['new_loop_seconds']:>11.1f} {r['previous_loop']['estimated_seconds']:>18.1f} {r['speedup']:>7.1f}x")
    h = out["hanoi"]
    what = f"Hanoi {h['disks']} disks, {h['tokens']} tokens, {h['preset']}"
    print(f"{what:>44} {h['new_loop_seconds']:>11.1f} {h['previous_loop']['estimated_seconds']:>18.1f} {h['speedup']:>7.1f}x")
    write_json(args.out, out)


if __name__ == "__main__":
    main()
