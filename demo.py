#!/usr/bin/env python
"""Demo: small recurrent models trained on 1-5 digit addition add numbers up to 1,000 digits long, on CPU.

    python demo.py                 # both shipped checkpoints, a few problems per length, ~2 minutes on 2 cores
    python demo.py --quick         # fewer lengths and samples (what the test suite runs)
    python demo.py 99999999999999999999+1= 123456789+987654321=    # your own problems

Each answer comes out of the tool loop: the model reads the operands through pointer-memory commands whose
answers are fed into its recurrent state; it never sees the whole input at once. Exact match = the whole
trajectory (every command, observation, thought and output token) equals the reference algorithm's.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKPOINTS = [
    # (folder, what it is, trace, example length, table lengths)
    ("checkpoints/addition-mamba-small-lockstep", "Mamba-1 (4 x 256, 1.8M parameters)", "3-pointer lockstep trace, operands read only through the tool", 100, [5, 100, 1000]),
    ("checkpoints/addition-lstm-small", "LSTM (2 x 256, 1.1M parameters)", "the paper's 2-pointer trace", 100, [5, 100, 1000]),
]


def own_problems(problems: list[str]) -> int:
    """Each shipped addition checkpoint on the user's problems; invalid ones are named, not answered."""
    from transformers import AutoModelForCausalLM

    for folder, what, trace, _, _ in CHECKPOINTS:
        model = AutoModelForCausalLM.from_pretrained(os.path.join(HERE, folder)).eval()
        print(f"== {folder}: {what}, trained on 1-5 digit addition ({trace})", flush=True)
        for prob in problems:
            t0 = time.time()
            try:
                (res,) = model.generate_with_tools([prob])
            except ValueError as e:
                print(f"   {prob[:40]!r}: not a valid problem: {e}", flush=True)
                continue
            a, b = prob.rstrip("=").split("+")
            truth = str(int(a) + int(b))
            print(f"   {_short(prob)} -> {_short(res.output)}  {'correct' if res.output == truth else 'WRONG (python: ' + _short(truth) + ')'}"
                  f"  ({len(res.generated_ids)} tokens, {time.time() - t0:.1f}s)", flush=True)
    return 0


def _short(x: str, k: int = 24) -> str:
    return x if len(x) <= 2 * k + 3 else f"{x[:k]}...{x[-k:]}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("problems", nargs="*", help="your own additions, e.g. 99999999999999999999+1= (then only these are run)")
    p.add_argument("--samples", type=int, default=2, help="problems per length")
    p.add_argument("--quick", action="store_true", help="two short lengths, two problems each")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1: decoding is one small step per token, and "
                   "on a 2-core machine with other load two threads ran 8-10 tokens/s against 71-96 with one)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    import toolssm  # noqa: F401
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    if args.problems:
        return own_problems(args.problems)

    from toolssm.evaluation import evaluate_items, make_test_items, summarize
    from toolssm.generation import generate_with_tools

    print(__doc__.strip().split("\n\n")[0], "\n")
    for folder, what, trace, example_n, lengths in CHECKPOINTS:
        path = os.path.join(HERE, folder)
        model = AutoModelForCausalLM.from_pretrained(path).eval()
        task = model.task()
        if args.quick:
            lengths, n_samples = lengths[:2], 2
        else:
            n_samples = args.samples
        print(f"== {folder}: {what}, trained on 1-5 digit addition ({trace})", flush=True)
        item = make_test_items(task, example_n, 1, seed=123)[0]
        t0 = time.time()
        (res,) = generate_with_tools(model, [item.prompt], [task.inference_tool(item.problem)],
                                     max_new_tokens=int(item.trajectory.num_tokens() * 1.1) + 32)
        a, b = task.problem_text(item.problem).rstrip("=").split("+")  # (the model's prompt is '=' where its input is hidden)
        print(f"   {example_n}-digit example: {a[:24]}... + {b[:24]}...")
        print(f"   model output  : {res.output[:48]}{'...' if len(res.output) > 48 else ''} ({len(res.output)} digits)")
        print(f"   python's a+b  : {item.answer[:48]}{'...' if len(item.answer) > 48 else ''}")
        print(f"   correct: {res.output == item.answer}; {res.num_commands} tool calls, {len(res.generated_ids)} tokens, {time.time() - t0:.1f}s\n")
        print(f"   {'digits':>6} | {'exact match':>11} | {'answer acc.':>11} | 95% interval (exact) | s/problem", flush=True)
        for n in lengths:
            items = make_test_items(task, n, n_samples, seed=7)
            s = summarize(evaluate_items(model, task, items, batch_size=n_samples, token_accuracy=False, stop_at_divergence=True))
            lo, hi = s["exact_match_ci"]
            print(f"   {n:>6} | {s['exact_match']:>11.2f} | {s['answer_accuracy']:>11.2f} | [{lo:.2f}, {hi:.2f}]{'':>10} | {s['seconds_per_sample']:.1f}", flush=True)
        print()
    print("Full evaluations (test and stress splits, up to 1,000 digits): README.md and each checkpoint's README.md.")
    print("Your own problems: python demo.py 99999999999999999999+1= 123+4567=")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
