#!/usr/bin/env python
"""Mamba-1 training-step speed by path: mamba-ssm kernels vs toolssm's Triton scan vs mambapy (vs the reference loop).

    python benchmarks/bench_mamba_train.py --device cuda --presets mamba-small,mamba-130m --paths kernels,triton:64,triton:0,mambapy \
        --out benchmarks/results/mamba_train_h200.json

One process, same model weights and batch for every path: forward + backward + AdamW step under bf16 autocast
(as train.py on GPU), median of --repeats steps after warm-up. Also checks that the paths agree on the loss and the
gradient norm. Paths that run out of memory are reported as such.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

from toolssm import kernels  # noqa: E402
from toolssm.models import build_model  # noqa: E402


def run_path(model, ids, path, repeats, device):
    # "triton" keeps every state for the backward pass, "triton:K" one every K steps; "slow" is transformers' loop
    name = {"slow": "torch"}.get(path.split(":")[0], path.split(":")[0])
    try:
        kernels.select_mamba_path(model, name, scan_chunk=int(path.split(":")[1]) if ":" in path else 0, device=device)
    except ValueError as e:
        return {"path": path, "error": str(e)}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    times, loss, gnorm = [], None, None
    try:
        for i in range(repeats + 2):
            torch.cuda.synchronize(device) if device.type == "cuda" else None
            t0 = time.perf_counter()
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                out = model(input_ids=ids, labels=ids)
            out.loss.backward()
            if i == 0:
                loss = out.loss.item()
                gnorm = torch.norm(torch.stack([p.grad.norm() for p in model.parameters() if p.grad is not None])).item()
                opt.zero_grad(set_to_none=True)  # keep weights identical across paths: no step on the checked batch
            else:
                opt.step()
                opt.zero_grad(set_to_none=True)
            torch.cuda.synchronize(device) if device.type == "cuda" else None
            if i >= 2:
                times.append(time.perf_counter() - t0)
        peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    except torch.OutOfMemoryError:
        return {"path": path, "error": "out of memory"}
    finally:
        kernels.disable_triton_scan()
        kernels.use_cuda_kernels(True)
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
    t = sorted(times)[len(times) // 2]
    return {"path": path, "step_s": t, "tok_s": ids.numel() / t, "loss_first": loss, "grad_norm_first": gnorm, "peak_GiB": peak}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", default="mamba-small")
    p.add_argument("--device", default="cuda")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--length", type=int, default=128)
    p.add_argument("--paths", default="kernels,triton:64,triton,mambapy", help="comma-separated: kernels, triton, triton:K (state checkpoints every K steps), mambapy, slow")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    device = torch.device(args.device)
    rows = []
    for preset in args.presets.split(","):
        torch.manual_seed(0)
        ids = torch.randint(10, 120, (args.batch, args.length), device=device)
        for path in args.paths.split(","):
            torch.manual_seed(0)
            model = build_model(preset).to(device).train()
            r = {"preset": preset, "batch": args.batch, "length": args.length, **run_path(model, ids, path, args.repeats, device)}
            rows.append(r)
            print(json.dumps(r), flush=True)
            del model
    print(f"{'preset':>11} {'path':>8} {'tokens/s':>10} {'step ms':>8} {'peak GiB':>8} {'loss':>8} {'grad norm':>10}")
    for r in rows:
        if "error" in r:
            print(f"{r['preset']:>11} {r['path']:>8} {r['error']}")
        else:
            print(f"{r['preset']:>11} {r['path']:>8} {r['tok_s']:>10.0f} {r['step_s'] * 1e3:>8.1f} {r['peak_GiB'] or 0:>8.1f} {r['loss_first']:>8.4f} {r['grad_norm_first']:>10.4f}")
    if args.out:
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        with open(args.out, "w") as f:
            json.dump({"command": " ".join(["python", *sys.argv]), "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
                       "torch": torch.__version__, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
