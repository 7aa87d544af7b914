#!/usr/bin/env python
"""Tool-loop speed: the new tool loop (static state, CUDA graph on GPU) vs the previous tool loop (the model's
cache API) vs re-encoding the prefix after every tool answer vs HF ``generate`` without tools.

    python benchmarks/bench_tool_loop.py                       # CPU, small Mamba, 100- and 1000-digit addition
    python benchmarks/bench_tool_loop.py --presets mamba-130m,mamba-small --device cuda --batch-sizes 1,64 \
        --slow-tokens 500 --out benchmarks/results/tool_loop_h200.json

All loops run the same model on the same problems in one process. The tool loops and the naive loop follow the
reference trajectory token for token (``teacher_ids``; the model still runs every step) so they produce identical
sequences; HF ``generate`` (no tools) produces the same number of new tokens. Slow loops can be timed on a window of
their first tokens (--slow-tokens, --naive-tokens; the naive loop is quadratic), reported as tokens/s over that
window (stated in each row). Times include the prompt prefill. On CUDA the script also measures copy bandwidth and
reports the physical floor of a decoding step: weight bytes plus recurrent-state bytes over that bandwidth.
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


def copy_bandwidth(device) -> float | None:
    """Measured device-to-device copy bandwidth in bytes/s (bytes read + bytes written), median of 20."""
    if device.type != "cuda":
        return None
    x = torch.empty(1 << 28, dtype=torch.float32, device=device).normal_()  # 1 GiB
    y = torch.empty_like(x)
    times = []
    for _ in range(22):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        y.copy_(x)
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) / 1e3)
    del x, y
    return 2 * (1 << 30) / sorted(times[2:])[len(times[2:]) // 2]


def state_bytes(model, B) -> int:
    """Bytes of recurrent state read and written per step (Mamba-1: conv window + float32 SSM state; RNN: h, c)."""
    c = model.config
    if c.model_type == "mamba":
        per_row = c.num_hidden_layers * c.intermediate_size * (c.conv_kernel * model.dtype.itemsize + c.state_size * 4)
    elif c.model_type == "toolssm_rnn":
        per_row = c.num_hidden_layers * c.hidden_size * (2 if c.cell == "lstm" else 1) * model.dtype.itemsize
    else:
        return 0
    return 2 * B * per_row


def step_times(model, B, device, reps=200, layer_blocks=()) -> dict:
    """Median device time of one decoding step alone (no tool loop around it), per stepper variant, in microseconds.
    ``layer_blocks``: Mamba's three-kernel step also with these channel-block widths (``step_us_layer_be{w}_graph``)."""
    from toolssm.fast import MambaStepper, RNNStepper, make_stepper, static_stepper_class

    cls = static_stepper_class(model)
    if cls is None or device.type != "cuda":
        return {}
    variants = {"graph": dict(cuda_graph=True), "eager": dict(cuda_graph=False)}
    if cls is RNNStepper:  # the written-out cell (PyTorch) or toolssm.rnn_kernel
        variants = {"fused_graph": dict(cuda_graph=True, fused=True), "reference_graph": dict(cuda_graph=True, fused=False),
                    "reference_eager": dict(cuda_graph=False, fused=False)}
    if cls is MambaStepper:
        variants = {"fused_graph": dict(cuda_graph=True, fused=True), "reference_graph": dict(cuda_graph=True, fused=False),
                    "fused_eager": dict(cuda_graph=False, fused=True), "layer_graph": dict(cuda_graph=True, fused="layer")}
        variants.update({f"layer_be{w}_graph": dict(cuda_graph=True, fused="layer", block=w) for w in layer_blocks})
    from toolssm import rnn_kernel

    threshold = rnn_kernel.ROW_BLOCK_MIN_BATCH
    if cls is RNNStepper:  # the fused step's two kernel shapes side by side: one row a program, BR rows a program (tl.dot)
        variants.update({"fused_onerow_graph": dict(cuda_graph=True, fused=True, min_batch=1 << 30),
                         "fused_rows_graph": dict(cuda_graph=True, fused=True, min_batch=1)})
    out = {}
    ids = torch.randint(10, 100, (B,), device=device)
    try:
        for name, kw in variants.items():
            rnn_kernel.ROW_BLOCK_MIN_BATCH = kw.pop("min_batch", threshold)  # read when the graph is captured (first steps)
            MambaStepper.layer_block_channels = kw.pop("block", None)  # read when the stepper allocates its scratch
            st = make_stepper(model, B, fast=True, **kw)
            for _ in range(10):
                st.step(ids)
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            for _ in range(reps):
                st.step(ids)
            b.record()
            b.synchronize()
            out[f"step_us_{name}"] = a.elapsed_time(b) * 1e3 / reps
    finally:
        rnn_kernel.ROW_BLOCK_MIN_BATCH = threshold
        MambaStepper.layer_block_channels = None
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", "--preset", default="mamba-small", help="comma-separated model presets (random weights: speed does not depend on them)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    p.add_argument("--pipeline", action="store_true", help="also time the new loop with pipeline=True (device one step ahead of the host)")
    p.add_argument("--device-tools", action="store_true", help="also time the loop with the pointer tools on the device (toolssm.device_loop: "
                   "--steps-per-sync steps per CUDA graph replay), and its share of the byte floor")
    p.add_argument("--steps-per-sync", type=int, default=64, help="device loop: decode steps per replay")
    p.add_argument("--tf32", action="store_true", help="float32 matrix products on TF32 tensor cores (torch.backends.cuda.matmul.allow_tf32)")
    p.add_argument("--layer-block-channels", default="", help="Mamba's three-kernel step: also time its step with these channel-block "
                   "widths, comma-separated powers of two (default 16 only; issue 25's sweep: 4,8,32)")
    p.add_argument("--lengths", default="100,1000", help="addition digits")
    p.add_argument("--batch-sizes", default="1,64")
    p.add_argument("--max-tokens", type=int, default=4000, help="tokens per row for the new tool loop (the trajectory prefix)")
    p.add_argument("--slow-tokens", type=int, default=None, help="tokens per row for the previous tool loop and HF generate (default: --max-tokens)")
    p.add_argument("--naive-tokens", type=int, default=300, help="window timed for the quadratic naive loop (0: skip it)")
    p.add_argument("--out", default="benchmarks/results/tool_loop_cpu.json")
    args = p.parse_args(argv)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype)
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    bw = copy_bandwidth(device)
    task = get_task("addition")
    rows = []
    meta = {"device": str(device), "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None, "dtype": args.dtype, "tf32": args.tf32, "pipeline": args.pipeline,
            "torch": torch.__version__, "threads": torch.get_num_threads(), "machine": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "copy_bandwidth_GBps": bw / 1e9 if bw else None, "command": " ".join(["python", *sys.argv])}
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    for preset in args.presets.split(","):
        torch.manual_seed(0)
        model = build_model(preset).to(device=device, dtype=dtype).eval()
        weight_bytes = sum(q.numel() * q.element_size() for q in model.parameters())
        for n in [int(x) for x in args.lengths.split(",")]:
            for B in [int(x) for x in args.batch_sizes.split(",")]:
                items = [task.make_item(0, f"test_{n}", i, n, train=False) for i in range(B)]
                prompts = [it.prompt for it in items]
                teacher = [render(it.trajectory)["input_ids"] for it in items]
                plen = min(len(encode(pp)) for pp in prompts)
                T = min(args.max_tokens, min(len(t) for t in teacher) - plen)
                Ts = min(args.slow_tokens or T, T)

                def loop(fast, tokens, pipeline=False, device_tools=False):
                    return generate_with_tools(model, prompts, [task.tool() for _ in prompts], max_new_tokens=tokens, teacher_ids=teacher, fast=fast,
                                               pipeline=pipeline, device_tools=device_tools, steps_per_sync=args.steps_per_sync)

                loop(None, 8)  # warm-up (CUDA context, graph capture path, allocator)
                res, dt_new = timed(lambda: loop(None, T))
                assert all(r.ids == t[: len(r.ids)] for r, t in zip(res, teacher)), "tool loop left the teacher trajectory"
                forced = sum(r.num_forced for r in res) / B
                if args.pipeline:  # the same loop with the device one step ahead of the host
                    res_p, dt_pipe = timed(lambda: loop(None, T, pipeline=True))
                    assert [r.ids for r in res_p] == [r.ids for r in res], "pipelined loop differs"
                if args.device_tools:  # the tools on the device, many steps per replay (graph capture inside the timing)
                    from toolssm import device_loop, kernels

                    from toolssm.fast import MambaStepper, RNNStepper

                    dts = {}
                    can_fuse = kernels.triton_runs_on(device)
                    rnn = model.config.model_type == "toolssm_rnn"
                    # (bookkeeping fused, model step fused): the bookkeeping as ~120 PyTorch ops or one Triton kernel;
                    # for the LSTM/GRU also its step as ~14 PyTorch ops a layer or toolssm.rnn_kernel; for Mamba its
                    # default step (six kernels a layer on CUDA) or the three-kernel one ("layer": toolssm.mamba_kernel)
                    combos = ([(False, False), (True, False), (True, True if rnn else "layer")]) if can_fuse else [(False, False)]
                    for fused, step_fused in combos:
                        device_loop.DEFAULT_FUSED = fused
                        RNNStepper.default_fused = step_fused if rnn else None
                        MambaStepper.default_fused = "layer" if step_fused == "layer" else None
                        loop(None, 8, device_tools=True)
                        res_d, dts[fused, step_fused] = timed(lambda: loop(None, T, device_tools=True))
                        assert [r.ids for r in res_d] == [r.ids for r in res], f"device loop (fused={fused}, step fused={step_fused}) differs"
                    if can_fuse and not rnn:  # the host loop with the three-kernel step
                        loop(None, 8)
                        res_l, dt_host_layer = timed(lambda: loop(None, T))
                        assert [r.ids for r in res_l] == [r.ids for r in res], "host loop with the three-kernel step differs"
                    device_loop.DEFAULT_FUSED = None
                    RNNStepper.default_fused = None
                    MambaStepper.default_fused = None
                    dt_dev = dts[False, False]
                _, dt_prev = timed(lambda: loop(False, Ts))
                ids = torch.tensor([encode(pp)[:plen] for pp in prompts], device=device)
                if model.config.model_type == "toolssm_rnn":  # our LSTM/GRU does not take generate()'s DynamicCache
                    dt_hf = float("nan")
                else:
                    _, dt_hf = timed(lambda: model.generate(ids, max_new_tokens=Ts, min_new_tokens=Ts, do_sample=False, pad_token_id=0))
                row = {
                    "preset": preset, "params_M": weight_bytes / dtype.itemsize / 1e6, "digits": n, "batch": B, "prompt_tokens": plen,
                    "new_tokens_per_row": T, "slow_window_tokens": Ts, "tool_answers_per_row": forced,
                    "new_loop_tok_s": B * T / dt_new, "previous_loop_tok_s": B * Ts / dt_prev, "hf_generate_no_tools_tok_s": B * Ts / dt_hf,
                }
                if args.naive_tokens:
                    Tn = min(args.naive_tokens, T)
                    _, dt_naive = timed(lambda: naive_loop(model, prompts, [task.tool() for _ in prompts], teacher, Tn))
                    row.update(naive_tok_s=B * Tn / dt_naive, naive_window_tokens=Tn)
                    row["new_vs_naive"] = row["new_loop_tok_s"] / row["naive_tok_s"]
                if args.pipeline:
                    row["pipelined_loop_tok_s"] = B * T / dt_pipe
                    row["pipelined_vs_new"] = dt_new / dt_pipe
                if args.device_tools:
                    row["device_loop_tok_s"] = B * T / dt_dev
                    row["device_vs_new"] = dt_new / dt_dev
                    if (True, False) in dts:
                        row["device_fused_loop_tok_s"] = B * T / dts[True, False]
                        row["device_fused_vs_new"] = dt_new / dts[True, False]
                    for key in ((True, True), (True, "layer")):  # the fused step too (toolssm.rnn_kernel / mamba_kernel)
                        if key in dts:
                            row["device_fused_step_loop_tok_s"] = B * T / dts[key]
                            row["device_fused_step_vs_new"] = dt_new / dts[key]
                            row["device_fused_step_us"] = dts[key] / (T + plen) * 1e6
                            row["device_fused_step_kind"] = "rnn_kernel" if key[1] is True else "mamba_kernel (three kernels a layer)"
                    if (True, "layer") in dts:
                        row["host_layer_step_loop_tok_s"] = B * T / dt_host_layer
                        row["host_layer_step_vs_new"] = dt_new / dt_host_layer
                row["new_vs_previous"] = row["new_loop_tok_s"] / row["previous_loop_tok_s"]
                row["new_vs_hf_generate"] = row["new_loop_tok_s"] / row["hf_generate_no_tools_tok_s"]
                row.update(step_times(model, B, device, layer_blocks=[int(w) for w in args.layer_block_channels.split(",") if w]))
                if bw:  # physical floor: every weight byte and the state read once per step, at the measured bandwidth
                    step_s = (weight_bytes + state_bytes(model, B)) / bw
                    row["floor_step_us"] = step_s * 1e6
                    row["floor_tok_s"] = B / step_s
                    row["new_step_us"] = dt_new / (T + plen) * 1e6
                    if args.device_tools:
                        row["device_share_of_floor"] = row["device_loop_tok_s"] / row["floor_tok_s"]
                        if (True, False) in dts:
                            row["device_fused_share_of_floor"] = row["device_fused_loop_tok_s"] / row["floor_tok_s"]
                        if "device_fused_step_loop_tok_s" in row:
                            row["device_fused_step_share_of_floor"] = row["device_fused_step_loop_tok_s"] / row["floor_tok_s"]
                rows.append(row)
                print(json.dumps({k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)
                with open(args.out, "w") as f:  # after every row: a long run that is stopped keeps what it measured
                    json.dump({"meta": meta, "rows": rows}, f, indent=1)
        del model
    print(f"{'preset':>11} {'digits':>6} {'batch':>5} {'new loop':>10} {'previous':>10} {'HF gen':>9} {'naive':>8} {'floor':>10} "
          f"{'vs prev':>8} {'vs HF':>6} {'vs naive':>9}   (tokens/s)")
    for r in rows:
        print(f"{r['preset']:>11} {r['digits']:>6} {r['batch']:>5} {r['new_loop_tok_s']:>10.0f} {r['previous_loop_tok_s']:>10.0f} "
              f"{r['hf_generate_no_tools_tok_s']:>9.0f} {r.get('naive_tok_s', float('nan')):>8.0f} {r.get('floor_tok_s', float('nan')):>10.0f} "
              f"{r['new_vs_previous']:>7.1f}x {r['new_vs_hf_generate']:>5.1f}x {r.get('new_vs_naive', float('nan')):>8.0f}x")


if __name__ == "__main__":
    main()
