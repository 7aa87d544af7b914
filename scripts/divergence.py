#!/usr/bin/env python
"""Where does a checkpoint leave the reference trajectory? For k test problems of size n, run the tool loop with
stop-at-divergence and print the first wrong token, what the reference expected, and the reference tokens before it.

    python scripts/divergence.py --model runs/mul1-mamba --task multiplication --config n_x_1 --n 50 --k 4
    python scripts/divergence.py --model runs/add --task addition --config lockstep --n 1000 --split stress --indices 6,14
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--task", required=True)
    p.add_argument("--config", default=None)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--k", type=int, default=4, help="problems (eval seed 0): indices 0..k-1")
    p.add_argument("--split", default="test", choices=["test", "stress"], help="which split's problems")
    p.add_argument("--indices", help="comma-separated item indices instead of 0..k-1 (stress: class = index mod the number of classes)")
    p.add_argument("--context", type=int, default=60, help="reference tokens shown before the divergence")
    args = p.parse_args(argv)

    from transformers import AutoModelForCausalLM

    import toolssm  # noqa: F401  (registers the Auto classes)
    from toolssm import vocab as V
    from toolssm.tasks import get_task
    from toolssm.evaluation import make_test_items
    from toolssm.generation import generate_with_tools
    from toolssm.trajectory import render

    model = AutoModelForCausalLM.from_pretrained(args.model).eval()
    task = get_task(args.task, args.config)
    idx = [int(x) for x in args.indices.split(",")] if args.indices else range(args.k)
    items = [make_test_items(task, args.n, 1, seed=0, start=i, split=args.split)[0] for i in idx]
    refs = [render(it.trajectory, train_observations=task.train_observations)["input_ids"] for it in items]
    res = generate_with_tools(model, [it.prompt for it in items], [task.inference_tool(it.problem) for it in items],
                              max_new_tokens=[len(r) + 32 for r in refs], stop_at_reference=refs)
    for it, r, ref in zip(items, res, refs):
        print(f"{it.prompt[:30]}...{it.prompt[-30:]!r} ({it.problem.get('stress', args.split)}):", end=" ")
        if not r.diverged:
            print(f"exact: {len(ref)} tokens" if r.ids == ref else f"stopped without diverging at {len(r.ids)} of {len(ref)}")
            continue
        j = len(r.ids) - 1
        ctx = "".join(V.VOCAB[x] for x in ref[max(0, j - args.context) : j])
        print(f"diverged at token {j} of {len(ref)} ({j / len(ref):.2f}): expected {V.VOCAB[ref[j]]!r}, got {V.VOCAB[r.ids[j]]!r}\n  ...{ctx}")


if __name__ == "__main__":
    main()
