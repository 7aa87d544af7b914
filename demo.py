#!/usr/bin/env python
"""Demo: small recurrent models trained on 1-5 digit addition add numbers up to 1,000 digits long, on CPU.

    python demo.py                 # both shipped checkpoints, a few problems per length, a few minutes on 2 cores
    python demo.py --quick         # fewer lengths and samples (what the test suite runs)

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
    ("checkpoints/addition-mamba-small-p3", "Mamba-1 (4 x 256, 1.8M parameters)", "3-pointer trace, tool_p3", 100, [5, 100, 1000]),
    ("checkpoints/addition-lstm-small", "LSTM (2 x 256, 1.1M parameters)", "the paper's 2-pointer trace", 100, [5, 100, 1000]),
]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", type=int, default=2, help="problems per length")
    p.add_argument("--quick", action="store_true", help="two short lengths, two problems each")
    args = p.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)

    import toolssm  # noqa: F401
    from transformers import AutoModelForCausalLM

    from toolssm.data import config_for_spec, task_for_config
    from toolssm.evaluation import evaluate_items, make_test_items, summarize
    from toolssm.generation import generate_with_tools

    print(__doc__.strip().split("\n\n")[0], "\n")
    for folder, what, trace, example_n, lengths in CHECKPOINTS:
        path = os.path.join(HERE, folder)
        model = AutoModelForCausalLM.from_pretrained(path).eval()
        task = task_for_config("addition", config_for_spec(model.tool_spec))
        if args.quick:
            lengths, n_samples = lengths[:2], 2
        else:
            n_samples = args.samples
        print(f"== {folder}: {what}, trained on 1-5 digit addition ({trace})")
        item = make_test_items(task, example_n, 1, seed=123)[0]
        t0 = time.time()
        (res,) = generate_with_tools(model, [item.prompt], [task.inference_tool()], max_new_tokens=int(item.trajectory.num_tokens() * 1.1) + 32)
        a, b = item.prompt.rstrip("=").split("+")
        print(f"   {example_n}-digit example: {a[:24]}... + {b[:24]}...")
        print(f"   model output  : {res.output[:48]}{'...' if len(res.output) > 48 else ''} ({len(res.output)} digits)")
        print(f"   python's a+b  : {item.answer[:48]}{'...' if len(item.answer) > 48 else ''}")
        print(f"   correct: {res.output == item.answer}; {res.num_commands} tool calls, {len(res.generated_ids)} tokens, {time.time() - t0:.1f}s\n")
        print(f"   {'digits':>6} | {'exact match':>11} | {'answer acc.':>11} | 95% interval (exact) | s/problem")
        for n in lengths:
            items = make_test_items(task, n, n_samples, seed=7)
            s = summarize(evaluate_items(model, task, items, batch_size=n_samples, token_accuracy=False, stop_at_divergence=True))
            lo, hi = s["exact_match_ci"]
            print(f"   {n:>6} | {s['exact_match']:>11.2f} | {s['answer_accuracy']:>11.2f} | [{lo:.2f}, {hi:.2f}]{'':>10} | {s['seconds_per_sample']:.1f}")
        print()
    print("Full evaluations (32 problems per length, up to 1,000 digits): results/addition/ and README.md.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
