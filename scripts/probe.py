#!/usr/bin/env python
"""Probe a checkpoint with hand-picked corner inputs of its task, the kind a user types: edge values, powers of ten,
runs of identical columns (of every digit), extreme length disparity. Complements the stress split (random problems per corner class,
eval.py --split stress) with fixed, readable cases; every answer is checked against an independent oracle (Python's
integers for arithmetic, a legal-move simulation for Hanoi).

    python scripts/probe.py checkpoints/addition-lstm-small                 # every probe of its task
    python scripts/probe.py checkpoints/addition-mamba-small-lockstep --max-digits 60 --out results/probe

Prints one line per wrong case and a summary; with --out writes <out>/<checkpoint>/probe.json (every case, its
answer, right or wrong) and rebuilds <out>/README.md from every probe.json there; with --card writes the result into
the checkpoint's model card. Exit status 1 when a case is wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def addition_cases(max_digits: int, rng: random.Random) -> list[tuple[str, str]]:
    """(class, prompt) pairs; every operand at most ``max_digits`` digits."""
    def num(k):
        return str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(k - 1))

    ks = [k for k in (5, 10, 20, 30, 40, 50, 60, 80, 100, 200) if k < max_digits]
    out = [("tiny", p) for p in ("0+0=", "0+1=", "1+0=", "9+1=", "1+9=", "5+5=", "1+1=", "99+1=", "1+99=", "50+50=", "123+0=", "0+123=")]
    for k in ks:
        out += [("power_of_10_plus_small", f"{10**k}+7="), ("small_plus_power_of_10", f"7+{10**k}="),
                ("nines_plus_1", f"{10**k - 1}+1="), ("one_plus_nines", f"1+{10**k - 1}="),
                ("power_of_10_twice", f"{10**k}+{10**k}="), ("powers_of_10_unequal", f"{10**k}+{10**(k // 2)}="),
                ("double_zero_run", f"{2 * 10**k + 1}+{3 * 10**k + 4}="), ("nines_twice", f"{10**k - 1}+{10**k - 1}="),
                ("short_plus_long", f"{num(3)}+{num(k)}="), ("long_plus_short", f"{num(k)}+{num(2)}="),
                ("equal_length", f"{num(k)}+{num(k)}=")]
    return out


def multiplication_cases(max_digits: int, k: int, rng: random.Random) -> list[tuple[str, str]]:
    lo, hi = 10 ** (k - 1), 10**k - 1
    bs = sorted({lo, hi, lo + 1, int("1" * k), rng.randint(lo, hi)})
    out = []
    for n in [n for n in (1, 2, 3, 5, 10, 20, 30, 50, 100) if n <= max_digits]:
        for b in bs:
            out += [("power_of_10", f"{10 ** (n - 1)}×{b}="), ("nines", f"{10**n - 1}×{b}="), ("random", f"{rng.randint(10 ** (n - 1), 10**n - 1)}×{b}=")]
        out.append(("ones", f"{int('1' * n)}×{hi}="))
        if n >= 10:  # runs of identical columns of every other digit (1...1 and 9...9 above): d...d x 9...9
            out += [("repdigit", f"{str(d) * n}×{hi}=") for d in range(2, 9)]
    return out


def long_multiplication_cases(max_digits: int, rng: random.Random) -> list[tuple[str, str]]:
    """n x m corners (operands >= 1: the task's input space): single digits, n x 1 and 1 x n, powers of ten,
    9...9 x 9...9, 1...1 x 1...1, zero runs inside both operands, very unequal lengths."""
    def num(k):
        return rng.randint(10 ** (k - 1), 10**k - 1)

    out = [("tiny", p) for p in ("1×1=", "9×9=", "1×9=", "9×1=", "12×1=", "1×12=", "99×99=", "10×10=", "100×1=", "5×20=")]
    for n in [n for n in (5, 10, 20, 30, 50, 100) if n <= max_digits]:
        out += [("n_by_1", f"{num(n)}×7="), ("1_by_n", f"7×{num(n)}="), ("n_by_1_one", f"{num(n)}×1="),
                ("powers_of_10", f"{10 ** (n - 1)}×{10 ** (n - 1)}="), ("power_of_10_times", f"{10 ** (n - 1)}×{num(n)}="),
                ("nines", f"{10**n - 1}×{10**n - 1}="), ("ones", f"{int('1' * n)}×{int('1' * n)}="),
                ("zero_runs", f"{10 ** (n - 1) + 1}×{10 ** (n - 1) + 3}="), ("unequal", f"{num(n)}×{num(max(1, n // 5))}="),
                ("unequal_reversed", f"{num(max(1, n // 5))}×{num(n)}="), ("equal_length", f"{num(n)}×{num(n)}=")]
    return out


def hanoi_cases(max_disks: int, variant: str) -> list[tuple[str, str]]:
    sets = [("one", [5]), ("one", [1]), ("one", [100]), ("two", [100, 1]), ("two", [2, 1]), ("three", [3, 2, 1]),
            ("wide", [100, 99, 98]), ("spread", [50, 40, 30, 20, 10]), ("run", [9, 8, 7, 6, 5, 4]), ("mixed_width", [100, 2, 1]),
            ("powers", [64, 32, 16, 8, 4, 2])]
    wrap = (lambda ds: "A" + "".join(f"({d})" for d in ds) + "BC\n") if variant == "iterative" else (lambda ds: "".join(f"({d})" for d in ds) + "\n")
    return [(c, wrap(ds)) for c, ds in sets if len(ds) <= max_disks]


def graph_cases(max_nodes: int, rng: random.Random) -> list[tuple[str, str]]:
    """Degenerate programs of the task's family (3 input constants first, names v1000-v9999): a not-chain over one
    input, a variable used twice in one gate, tautologies, the answer decided by the first input through a long
    chain, names at the ends of the range in falling order, all inputs equal."""
    def prog(lines):
        return "".join(f"{v} = {e}\n" for v, e in lines) + f"print({lines[-1][0]})\n"

    out = []
    for k in [k for k in (4, 5, 10, 30, 60, 100) if k <= max_nodes]:
        v = [f"v{i}" for i in rng.sample(range(1000, 10000), k)]
        ins = [(v[0], "False"), (v[1], "True"), (v[2], "True")]
        out += [("not_chain", prog(ins + [(v[3], f"not {v[0]}")] + [(v[i], f"not {v[i - 1]}") for i in range(4, k)])),
                ("same_variable_twice", prog(ins + [(v[i], f"{v[i - 1]} and {v[i - 1]}") for i in range(3, k)])),
                ("tautology_chain", prog(ins + [(v[i], f"{v[i - 1]} or not {v[i - 1]}") for i in range(3, k)])),
                ("first_input_decides", prog(ins + [(v[3], f"{v[0]} or {v[0]}")] + [(v[i], f"{v[i - 1]} and {v[1]}") for i in range(4, k)])),
                ("inputs_only_gates", prog(ins + [(v[i], f"not {v[i % 3]} or {v[(i + 1) % 3]}") for i in range(3, k)])),
                ("all_inputs_equal", prog([(v[0], "True"), (v[1], "True"), (v[2], "True")] + [(v[i], f"not {v[i - 1]} and {v[i - 2]}") for i in range(3, k)]))]
    names = ["v9999", "v9998", "v1001", "v1000"]
    out.append(("names_at_the_ends", prog([(names[0], "True"), (names[1], "False"), (names[2], "True"), (names[3], f"{names[1]} or not {names[0]}")])))
    return out


def cases_for(task, max_size: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    if task.name == "addition":
        return addition_cases(max_size, rng)
    if task.name == "multiplication":
        return multiplication_cases(max_size, task.k, rng)
    if task.name == "long_multiplication":
        return long_multiplication_cases(max_size, rng)
    if task.name == "hanoi":
        return hanoi_cases(max_size, task.variant)
    if task.name == "logical_graph":
        return graph_cases(max_size, rng)
    raise SystemExit(f"probe.py has no probes for task {task.name!r} (addition, multiplication, long_multiplication, hanoi, logical_graph)")


def oracle_ok(task, prompt: str, output: str) -> bool:
    """Independent of the task's own trace: Python's integers for arithmetic; Hanoi's move simulation; the program run
    by Python for the logical graph."""
    if task.name == "addition":
        a, b = prompt[:-1].split("+")
        return output == str(int(a) + int(b))
    if task.name in ("multiplication", "long_multiplication"):
        a, b = prompt[:-1].split("×")
        return output == str(int(a) * int(b))
    return task.check(task.parse_prompt(prompt), output)


def write_index(out: str) -> None:
    rows = []
    for name in sorted(os.listdir(out)):
        p = os.path.join(out, name, "probe.json")
        if os.path.exists(p):
            with open(p) as f:
                d = json.load(f)
            wrong = {}
            for c in d["cases"]:
                if not c["right"]:
                    wrong.setdefault(c["class"], []).append(c["size"])
            desc = "; ".join(f"`{k}` at {', '.join(str(s) for s in sorted(set(v)))}" for k, v in sorted(wrong.items())) or "none"
            largest = max(c["size"] for c in d["cases"])
            rows.append(f"| `{name}` | {d['task']} / {d['config']} | {'hidden' if d.get('hide_input') else 'shown'} | {d['right']}/{len(d['cases'])} "
                        f"| {largest} | {desc} |")
    text = ("# probe\n\nHand-picked corner inputs per task (`scripts/probe.py`; the cases and every answer in each "
            "`probe.json`), checked against Python's integers or Hanoi's move simulation; greedy decoding, CPU. "
            "Sizes: the longer operand's digits, or disks. Input: shown (the whole prompt in the model's context) or hidden (in "
            "the tool's memory only: `--hide-input`, docs/FORMATS.md). Regenerate: `python scripts/probe.py checkpoints/NAME --out results/probe`.\n\n"
            "| checkpoint | task / config | input | right | largest size | wrong (class at sizes) |\n|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="a checkpoint folder")
    ap.add_argument("--max-digits", "--max-size", dest="max_size", type=int, default=201, help="largest operand length / disks (default 201)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--out", help="write <out>/<checkpoint>/probe.json and <out>/README.md")
    ap.add_argument("--card", action="store_true", help="also write the result into the checkpoint's model card ('Corner inputs')")
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda; the answers are the same, checked by the same oracle")
    ap.add_argument("--hide-input", action=argparse.BooleanOptionalAction, default=None,
                    help="keep each problem's input in the tool only (--no-hide-input: show it; default: as the checkpoint records)")
    args = ap.parse_args(argv)
    import torch
    from transformers import AutoModelForCausalLM

    import toolssm  # noqa: F401

    if not os.path.isdir(args.model):
        ap.error(f"{args.model!r} is not a checkpoint folder")
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    model = AutoModelForCausalLM.from_pretrained(args.model).eval().to(args.device)
    from toolssm.tasks import choose_input

    own = model.task()  # the checkpoint's own way (input shown or hidden)
    task = choose_input(own, args.hide_input)
    cases = cases_for(task, args.max_size)
    t0, results = time.time(), []
    for s in range(0, len(cases), args.batch_size):
        chunk = cases[s : s + args.batch_size]
        res = model.generate_with_tools([p for _, p in chunk], hide_input=task.input_in_tool)
        for (cls, prompt), r in zip(chunk, res):
            results.append({"class": cls, "prompt": prompt, "size": task.size(task.parse_prompt(prompt)), "output": r.output,
                            "right": oracle_ok(task, prompt, r.output), "finished": r.finished, "truncated": r.truncated})
    right = sum(r["right"] for r in results)
    for r in results:
        if not r["right"]:
            p = r["prompt"] if len(r["prompt"]) <= 50 else r["prompt"][:24] + "..." + r["prompt"][-12:]
            print(f"  wrong  {r['class']:<24} size {r['size']:<4} {p!r} -> {r['output'][:40]!r}{' (budget hit)' if r['truncated'] else ''}")
    name = os.path.basename(os.path.normpath(args.model))
    if task.input_in_tool != own.input_in_tool:  # not the checkpoint's own way: filed beside its own probe
        name += "--hidden-input" if task.input_in_tool else "--input-shown"
    print(f"{name}: {right}/{len(results)} right ({task.name}, sizes to {args.max_size}, {time.time() - t0:.0f} s, {args.device}"
          f"{', input hidden' if task.input_in_tool else ''})")
    record = {"checkpoint": args.model, "task": task.name, "config": task.config or "default", "max_size": args.max_size, "right": right,
              "device": args.device, "hide_input": task.input_in_tool, "cases": results}
    if args.out:
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "probe.json"), "w") as f:
            json.dump(record, f, indent=1)
        write_index(args.out)
    if args.card:
        from toolssm.cards import write_probe_section

        write_probe_section(args.model, record)
    return 0 if right == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
