#!/usr/bin/env python
"""Where does a checkpoint leave the reference trajectory? For k test problems of size n, run the tool loop with
stop-at-divergence and print the first wrong token, what the reference expected, and the reference tokens before it.
With --go-on the episode runs on past the divergence (to eval.py's budget), and each is shown with what the model wrote
there and whether it is scored right as eval.py scores it (code fixing: the repaired program's output).
The task and config default to the checkpoint's own (its generation_config.json).

    python scripts/divergence.py --model runs/mul1-mamba --task multiplication --config n_x_1 --n 50 --k 4
    python scripts/divergence.py --model runs/add --task addition --config lockstep --n 1000 --split stress --indices 6,14
    python scripts/divergence.py --model results/code_fixing/cf-interactive-mamba-s0 --n 8 --k 4 --go-on --context 200
    python scripts/divergence.py --model checkpoints/addition-mamba-small-lockstep --prompt 1$(printf '0%.0s' {1..30})+7= --prompt 99+1=

--prompt (repeatable) takes problems typed as a user types them (the checkpoint's task parses them) instead of
drawing them from a split.
"""

import argparse
import os
import sys
from types import SimpleNamespace

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main(argv=None):
    from toolssm.evaluation import EVAL_SPLITS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--task", default=None, help="default: the checkpoint's task")
    p.add_argument("--config", default=None, help="default: the checkpoint's config when --task is not given")
    p.add_argument("--n", type=int, help="problem size (drawn from --split); not with --prompt")
    p.add_argument("--prompt", action="append", default=[], help="a problem as typed, e.g. 1000+1000= (repeatable)")
    p.add_argument("--k", type=int, default=4, help="problems: indices 0..k-1")
    p.add_argument("--seed", type=int, default=0, help="the evaluation's item seed (eval.py --seed)")
    p.add_argument("--split", default="test", choices=EVAL_SPLITS, help="which split's problems")
    p.add_argument("--indices", help="comma-separated item indices instead of 0..k-1 (stress: class = index mod the number of classes)")
    p.add_argument("--context", type=int, default=60, help="reference tokens shown before the divergence")
    p.add_argument("--hide-input", action=argparse.BooleanOptionalAction, default=None,
                   help="keep each problem's input in the tool only (--no-hide-input: show it; default: as the checkpoint records)")
    p.add_argument("--go-on", action="store_true", help="decode past the divergence; show the model's text there and the score")
    args = p.parse_args(argv)
    if (args.n is None) == (not args.prompt):
        p.error("give either --n (problems drawn from a split) or --prompt (problems as typed)")

    from transformers import AutoModelForCausalLM

    import toolssm  # noqa: F401  (registers the Auto classes)
    from toolssm import vocab as V
    from toolssm.tasks import choose_input, get_task, task_from_spec
    from toolssm.evaluation import episode_budget, make_test_items
    from toolssm.generation import generate_with_tools
    from toolssm.modeling import read_tool_spec
    from toolssm.trajectory import render

    model = AutoModelForCausalLM.from_pretrained(args.model).eval()
    if args.task is None:
        spec = read_tool_spec(args.model)
        if not spec:
            raise SystemExit(f"{args.model}: no toolssm task in its generation_config.json: give --task")
        # older checkpoints record {"task", "variant"} instead of {"task", "config"}: task_from_spec reads both
        task = get_task(spec["task"], args.config) if args.config else task_from_spec(spec)
    else:
        task = get_task(args.task, args.config)
    try:
        task = choose_input(task, args.hide_input)
    except ValueError as e:
        raise SystemExit(f"divergence.py: error: {e}")
    if args.prompt:
        problems = [task.parse_prompt(x) for x in args.prompt]  # a ValueError names a prompt the task does not accept
        items = [SimpleNamespace(prompt=task.prompt(q), trajectory=task.trajectory(q), problem=q) for q in problems]
    else:
        idx = [int(x) for x in args.indices.split(",")] if args.indices else range(args.k)
        items = [make_test_items(task, args.n, 1, seed=args.seed, start=i, split=args.split)[0] for i in idx]
    refs = [render(it.trajectory, train_observations=task.train_observations)["input_ids"] for it in items]
    tools = [task.inference_tool(it.problem) for it in items]
    if args.go_on:
        res = generate_with_tools(model, [it.prompt for it in items], tools, max_new_tokens=[episode_budget(r) for r in refs])
    else:
        res = generate_with_tools(model, [it.prompt for it in items], tools, max_new_tokens=[len(r) + 32 for r in refs], stop_at_reference=refs)
    for it, r, ref, tool in zip(items, res, refs, tools):
        where = "typed" if args.prompt else it.problem.get("stress", args.split)
        text = task.problem_text(it.problem)  # as typed (the model's prompt is shorter where the tool holds the input)
        shown = text if len(text) <= 64 else f"{text[:30]}...{text[-30:]}"
        print(f"{shown!r} ({where}):", end=" ")
        j = next((i for i, (a, b) in enumerate(zip(r.ids, ref)) if a != b), None) if args.go_on else len(r.ids) - 1 if r.diverged else None
        score = f"scored {'right' if (not r.diverged) and task.score(it.problem, r.output, tool) else 'wrong'}, " if args.go_on else ""
        if j is None:
            print(score + (f"exact: {len(ref)} tokens" if r.ids == ref else f"stopped without diverging at {len(r.ids)} of {len(ref)}"))
            continue
        ctx = "".join(V.VOCAB[x] for x in ref[max(0, j - args.context) : j])
        print(f"{score}diverged at token {j} of {len(ref)} ({j / len(ref):.2f}): expected {V.VOCAB[ref[j]]!r}, got {V.VOCAB[r.ids[j]]!r}\n  ...{ctx}")
        if args.go_on:
            print(f"  model went on ({len(r.ids)} tokens, finished {r.finished}): {''.join(V.VOCAB[x] for x in r.ids[j : j + 60])!r}")


if __name__ == "__main__":
    main()
