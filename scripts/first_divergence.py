"""Where a checkpoint's episodes leave the reference trajectory: for k test problems of size n, run the tool loop
(greedy) and print, for each episode, whether it is scored right and the text around its first token off the
reference. A look at why episodes fail, not a metric (eval.py is that).

    python scripts/first_divergence.py results/code_fixing/cf-interactive-mamba-s0 --n 8 --k 4
"""

from __future__ import annotations

import argparse


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="a toolssm checkpoint folder")
    ap.add_argument("--n", type=int, required=True, help="problem size")
    ap.add_argument("--k", type=int, default=4, help="problems (test split, indices 0..k-1)")
    ap.add_argument("--context", type=int, default=200, help="characters of reference shown before the divergence")
    args = ap.parse_args(argv)

    from transformers import AutoModelForCausalLM

    import toolssm  # noqa: F401  (registers the Auto classes)
    from toolssm.evaluation import make_test_items
    from toolssm.modeling import read_tool_spec
    from toolssm.tasks import get_task
    from toolssm.tokenizer import decode
    from toolssm.trajectory import render

    model = AutoModelForCausalLM.from_pretrained(args.model).eval()
    spec = read_tool_spec(args.model)
    if not spec:
        raise SystemExit(f"{args.model}: no toolssm task in its generation_config.json")
    task = get_task(spec["task"], spec.get("config"))
    items = make_test_items(task, args.n, args.k)
    refs = [render(it.trajectory, train_observations=task.train_observations)["input_ids"] for it in items]
    tools = [task.inference_tool(it.problem) for it in items]
    res = model.generate_with_tools([it.prompt for it in items], tools, max_new_tokens=[int(len(r) * 1.1) + 32 for r in refs])
    for i, (it, ref, r, tool) in enumerate(zip(items, refs, res, tools)):
        right = (not r.diverged) and task.score(it.problem, r.output, tool)  # as evaluation.evaluate_items scores it
        k = next((j for j, (a, b) in enumerate(zip(r.ids, ref)) if a != b), None)
        print(f"[{i}] right {right}, finished {r.finished}, first token off the reference: {k} of {len(ref)} ({len(r.ids)} generated)")
        if k is not None:
            print("  reference:", repr(decode(ref[max(0, k - args.context) : k + 60])))
            print("  model:    ", repr(decode(r.ids[max(0, k - args.context) : k + 60])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
