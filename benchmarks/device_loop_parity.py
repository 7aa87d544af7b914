#!/usr/bin/env python
"""Token-for-token parity of the device-side pointer loop (``generate_with_tools(device_tools=True)``) with the
reference host loop, on every shipped checkpoint whose tool is a pointer memory, over their test and stress splits:
at least 1,000 trajectories in all. Runs on CPU (the PyTorch bookkeeping; ``--fused`` uses the one-kernel version,
in Triton's interpreter on CPU) or on CUDA (with CUDA graphs of ``--steps-per-sync`` steps).

    python benchmarks/device_loop_parity.py --out results/device_loop_parity/parity_cpu.json
    python benchmarks/device_loop_parity.py --device cuda --out $RUN_DIR/parity_cuda.json

Each row is compared on its ids, roles, forced flags, finish / truncation / divergence flags, command and tool-error
counts, and output; the script also counts the rows that equal the reference trajectory (the models' exactness, which
parity does not need). Rows are decoded without stopping at the reference, so wrong models' own walks are compared
too. Exit status 1 when any row differs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# checkpoint -> sizes of each split (small enough that ~1,000 rows decode on 2 CPU cores in minutes)
PLAN = {
    "addition-mamba-small": {"test": (5, 10, 20), "stress": (5, 10, 20)},
    "addition-mamba-small-p3": {"test": (5, 10, 20), "stress": (5, 10, 20)},
    "addition-mamba-small-lockstep": {"test": (5, 10, 20), "stress": (5, 10, 20)},
    "addition-lstm-small": {"test": (5, 10, 20), "stress": (5, 10, 20)},
    "addition-lstm-small-p3": {"test": (5, 10, 20), "stress": (5, 10, 20)},
    "multiplication-n_x_2_aligned-mamba-small": {"test": (3, 5, 10), "stress": (3, 5, 10)},
    "long-multiplication-lstm-small": {"test": (3, 5, 10), "stress": (3, 5, 10)},
}


def _run(args) -> list[dict]:
    """Every cell of the plan."""
    from transformers import AutoModelForCausalLM

    from toolssm.evaluation import make_test_items
    from toolssm.tasks import choose_input
    from toolssm.trajectory import render

    cells = []
    for name in [c for c in args.checkpoints.split(",") if c]:
        if name not in PLAN:
            raise SystemExit(f"--checkpoints: {name!r} is not one of {', '.join(PLAN)}")
        model = AutoModelForCausalLM.from_pretrained(os.path.join(ROOT, "checkpoints", name)).to(args.device).eval()
        task = choose_input(model.task(), False)  # the device loop runs shown inputs (a hidden one's tool is host-only)
        for split, sizes in PLAN[name].items():
            for n in sizes:
                items = make_test_items(task, n, args.per_size, seed=11, split=split)
                refs = [render(it.trajectory, train_observations=task.train_observations)["input_ids"] for it in items]
                cell = dict(checkpoint=name, split=split, n=n, rows=0, same=0, exact=0, first_difference=None, seconds=0.0, tokens=0)
                t = time.time()
                for i in range(0, len(items), args.batch_size):
                    chunk, rchunk = items[i:i + args.batch_size], refs[i:i + args.batch_size]
                    kw = dict(max_new_tokens=[len(r) + 16 for r in rchunk])
                    want = model.generate_with_tools([it.prompt for it in chunk], [task.inference_tool(it.problem) for it in chunk], **kw)
                    got = model.generate_with_tools([it.prompt for it in chunk], [task.inference_tool(it.problem) for it in chunk],
                                                    device_tools=True, steps_per_sync=args.steps_per_sync, **kw)
                    for j, (a, b, r) in enumerate(zip(want, got, rchunk)):
                        diff = a.first_difference(b)
                        cell["rows"] += 1
                        cell["same"] += diff is None
                        cell["exact"] += a.ids == r
                        cell["tokens"] += len(a.ids)
                        if diff and cell["first_difference"] is None:
                            cell["first_difference"] = dict(index=i + j, prompt=chunk[j].prompt[:80], field=diff)
                cell["seconds"] = round(time.time() - t, 2)
                cells.append(cell)
                print(f"{name} {split} n={n}: {cell['same']}/{cell['rows']} rows the same, {cell['exact']} exact, {cell['seconds']:.1f} s", flush=True)
    return cells


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--per-size", type=int, default=32, help="problems per checkpoint, split and size (stress: the classes in turn)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--steps-per-sync", type=int, default=16)
    ap.add_argument("--fused", action="store_true", help="the one-kernel bookkeeping (needs triton; TRITON_INTERPRET=1 on CPU)")
    ap.add_argument("--checkpoints", default=",".join(PLAN), help="comma-separated names from: " + ", ".join(PLAN))
    ap.add_argument("--out", default=None, help="write the per-cell counts as JSON")
    args = ap.parse_args(argv)

    import torch

    import toolssm  # noqa: F401  (registers the model classes)
    from toolssm import device_loop

    t0, fused_before = time.time(), device_loop.DEFAULT_FUSED
    device_loop.DEFAULT_FUSED = bool(args.fused)
    try:  # no global switch left behind: the test suite calls main() inside its own process
        with torch.no_grad():
            cells = _run(args)
    finally:
        device_loop.DEFAULT_FUSED = fused_before
    rows, same = sum(c["rows"] for c in cells), sum(c["same"] for c in cells)
    summary = dict(device=args.device, fused=bool(args.fused), steps_per_sync=args.steps_per_sync, batch_size=args.batch_size,
                   rows=rows, same=same, exact=sum(c["exact"] for c in cells), seconds=round(time.time() - t0, 1),
                   torch=torch.__version__, cells=cells)
    print(f"device loop against the reference loop: {same}/{rows} rows token for token the same ({summary['seconds']} s)")
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(summary, f, indent=1)
    return 0 if same == rows else 1


if __name__ == "__main__":
    raise SystemExit(main())
