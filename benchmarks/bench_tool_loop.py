#!/usr/bin/env python
"""Tool-loop speed: the cached tool loop vs re-encoding the prefix after every tool answer vs HF ``generate``.

    python benchmarks/bench_tool_loop.py                       # CPU, small Mamba, 100- and 1000-digit addition
    python benchmarks/bench_tool_loop.py --preset mamba-130m --device cuda --batch-sizes 1,64

All three run the same model on the same problems in one process. The tool loop and the naive loop follow the
reference trajectory token for token (``teacher_ids``; the model still runs every step) so they produce identical
sequences; HF ``generate`` (no tools) produces the same number of new tokens. The naive loop is quadratic, so it is
timed on a window of its first --naive-tokens tokens and reported as tokens/s over that window (stated in the output).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

from toolssm import vocab as V  # noqa: E402
from toolssm.generation import generate_with_tools  # noqa: E402
from toolssm.models import build_model  # noqa: E402
from toolssm.tasks import get_task  # noqa: E402
from toolssm.tokenizer import encode, split_tokens  # noqa: E402
from toolssm.trajectory import render  # noqa: E402


@torch.no_grad()
def naive_loop(model, prompts, tools, teacher, budget):
    """Decode one token per row per step; whenever any row got a tool answer, throw the cache away and
    re-encode every row's whole prefix (what a loop without a recurrent cache for tool answers must do)."""
    device = next(model.parameters()).device
    seqs = [encode(p) for p in prompts]
    for t, p in zip(tools, prompts):
        t.reset(split_tokens(p))
    L0 = min(len(s) for s in seqs)
    queues = [[] for _ in prompts]
    pos = [L0] * len(prompts)
    cur = [s[:L0] for s in seqs]
    out = model(input_ids=torch.tensor(cur, device=device), use_cache=True)
    cache, steps = out.cache, 0
    while steps < budget:
        nxt, reencode = [], False
        for b in range(len(prompts)):
            k = len(cur[b])
            if pos[b] < len(seqs[b]):
                tok = seqs[b][pos[b]]
            elif queues[b]:
                tok = queues[b].pop(0)
            else:
                tok = teacher[b][k] if k < len(teacher[b]) else V.TOKEN_TO_ID[V.EOS]
                _, obs = tools[b].observe(V.VOCAB[tok])
                if obs:
                    queues[b] = [V.TOKEN_TO_ID[o] for o in obs]
                    reencode = True
            pos[b] += 1
            cur[b].append(tok)
            nxt.append(tok)
        if reencode:  # the naive way: one full forward over everything so far
            out = model(input_ids=torch.tensor(cur, device=device), use_cache=True)
        else:
            out = model(input_ids=torch.tensor(nxt, device=device)[:, None], cache=cache, use_cache=True)
        cache = out.cache
        steps += 1
    return steps


def timed(fn):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    r = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return r, time.perf_counter() - t0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="mamba-small")
    p.add_argument("--device", default="cpu")
    p.add_argument("--lengths", default="100,1000", help="addition digits")
    p.add_argument("--batch-sizes", default="1,64")
    p.add_argument("--max-tokens", type=int, default=4000, help="tokens generated per row by every loop (the trajectory prefix)")
    p.add_argument("--naive-tokens", type=int, default=300, help="window timed for the quadratic naive loop")
    p.add_argument("--out", default="benchmarks/results/tool_loop_cpu.json")
    args = p.parse_args(argv)
    torch.manual_seed(0)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    model = build_model(args.preset).to(args.device).eval()
    task = get_task("addition")
    rows = []
    meta = {"preset": args.preset, "device": args.device, "torch": torch.__version__, "threads": torch.get_num_threads(),
            "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "command": " ".join(["python", *sys.argv])}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    for n in [int(x) for x in args.lengths.split(",")]:
        for B in [int(x) for x in args.batch_sizes.split(",")]:
            items = [task.make_item(0, f"test_{n}", i, n, train=False) for i in range(B)]
            prompts = [it.prompt for it in items]
            teacher = [render(it.trajectory)["input_ids"] for it in items]
            plen = min(len(encode(pp)) for pp in prompts)
            T = min(args.max_tokens, min(len(t) for t in teacher) - plen)
            res, dt_loop = timed(lambda: generate_with_tools(model, prompts, [task.tool() for _ in prompts], max_new_tokens=T, teacher_ids=teacher))
            assert all(r.ids == t[: len(r.ids)] for r, t in zip(res, teacher)), "tool loop left the teacher trajectory"
            forced = sum(r.num_forced for r in res) / B
            Tn = min(args.naive_tokens, T)
            _, dt_naive = timed(lambda: naive_loop(model, prompts, [task.tool() for _ in prompts], teacher, Tn))
            ids = torch.tensor([encode(pp)[:plen] for pp in prompts], device=args.device)
            _, dt_hf = timed(lambda: model.generate(ids, max_new_tokens=T, min_new_tokens=T, do_sample=False, pad_token_id=0))
            row = {
                "digits": n, "batch": B, "new_tokens_per_row": T, "tool_answers_per_row": forced,
                "tool_loop_tok_s": B * T / dt_loop, "naive_tok_s": B * Tn / dt_naive, "naive_window_tokens": Tn,
                "hf_generate_no_tools_tok_s": B * T / dt_hf,
            }
            row["tool_loop_vs_naive"] = row["tool_loop_tok_s"] / row["naive_tok_s"]
            row["tool_loop_vs_hf_generate"] = row["tool_loop_tok_s"] / row["hf_generate_no_tools_tok_s"]
            rows.append(row)
            print(json.dumps({k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)
            with open(args.out, "w") as f:  # after every row: a long run that is stopped keeps what it measured
                json.dump({"meta": meta, "rows": rows}, f, indent=1)
    print(f"{'digits':>6} {'batch':>5} {'tool loop tok/s':>16} {'naive tok/s':>12} {'HF generate tok/s':>18} {'vs naive':>9} {'vs HF':>6}")
    for r in rows:
        print(f"{r['digits']:>6} {r['batch']:>5} {r['tool_loop_tok_s']:>16.0f} {r['naive_tok_s']:>12.0f} {r['hf_generate_no_tools_tok_s']:>18.0f} "
              f"{r['tool_loop_vs_naive']:>8.1f}x {r['tool_loop_vs_hf_generate']:>5.2f}x")


if __name__ == "__main__":
    main()
