#!/usr/bin/env python
"""Evaluate checkpoints on length generalization through the tool loop.

    python eval.py --model runs/add-mamba --task addition --lengths 5,10,20,50,100,200,500,1000 --num-samples 100
    python eval.py --model runs/a runs/b --labels Mamba,LSTM --task addition --out results/addition
    accelerate launch --multi_gpu --num_processes 2 eval.py ...   # samples are sharded over processes (CPU: ACCELERATE_USE_CPU=1)

Per length: exact match of the whole trajectory and answer (the paper's metric), answer accuracy and
teacher-forced token accuracy, each with a 95% interval; tokens and seconds per sample. Writes
results.json, results.csv and accuracy_vs_length.png to --out; with --card also the
table and plot into each checkpoint's model card (README.md): a checkpoint's files change only when asked.
The default --out is eval_results/<model folder name>/<split> under the current folder.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import time


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", nargs="+", required=True, help="checkpoint folder(s) or Hub id(s)")
    p.add_argument("--labels", help="comma-separated curve labels, one per model (default: architecture + folder)")
    p.add_argument("--task", help="task (default: the one recorded in the checkpoint)")
    p.add_argument("--config", help="task config (default: the checkpoint's)")
    p.add_argument("--lengths", help="comma-separated problem sizes (default: the task's standard test lengths)")
    p.add_argument("--num-samples", type=int, default=100, help="problems per length")
    p.add_argument("--seed", type=int, default=0, help="test item seed: items are (seed, '<split>_<n>', index), the builder's test, stress and runs splits")
    p.add_argument("--split", default="test", help="test: the paper's distribution at each size; stress: the corners of the input space at each size (the task's stress classes in turn; docs/FORMATS.md); runs: long runs of one digit (arithmetic tasks; the runs classes in turn); 'test,stress' (any of them comma-separated): all, decoded in shared batches of one tool loop, each written to its own folder (see --out)")
    p.add_argument("--batch-size", type=int, default=16, help="rows decoded together in the tool loop")
    p.add_argument("--stop-at-divergence", action="store_true", help="stop a row at its first token off the reference trajectory (exact match unchanged, much faster for failing models; answer accuracy becomes a lower bound)")
    p.add_argument("--no-token-accuracy", action="store_true", help="skip the teacher-forced pass (saves a full forward per sample; for Mamba-1 off the GPU, past 32,768 tokens, a step-by-step pass as long as decoding: toolssm.evaluation.STEPPED_TEACHER_FORCING_TOKENS)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: the Accelerate device)")
    p.add_argument("--tf32", action="store_true", help="float32 matrix products on TF32 tensor cores (CUDA; 1.4x the tool loop at batch 64 on an H200, benchmarks/results/h200/session4)")
    p.add_argument("--dtype", default="float32", choices=["auto", "float32", "bfloat16"], help="weights dtype (default float32: the recurrent state of long trajectories stays exact enough; auto: bf16 on GPU)")
    p.add_argument("--out", default=None, help="output folder (default: eval_results/<first model's folder name>/<split>; a checkpoint's own folder changes only with --card); with several splits, '{split}' in it is replaced by each split's name, else each split goes to <out>/<split>")
    p.add_argument("--overwrite", action="store_true", help="replace the results of an earlier evaluation in the output folder (without it such a folder is refused; a partial one an interrupted evaluation left is replaced anyway)")
    p.add_argument("--card", action="store_true", help="also write the results into each checkpoint's model card (README.md): --split test its results table and plot, stress and runs their own sections (and the model-index)")
    p.add_argument("--no-card", action="store_true", help=argparse.SUPPRESS)  # the old default's opt-out: accepted, does nothing
    p.add_argument("--decode", default="auto", choices=["auto", "cache", "device"], help="decoding step: auto = static state buffers (CUDA graph on GPU) for Mamba-1/LSTM/GRU, the cache API otherwise; cache = always the model's cache API (the slower reference path); device = auto with pointer memory run on the device, 64 steps per graph replay (toolssm.device_loop; pointer-memory tasks only)")
    p.add_argument("--progress", action="store_true", help="progress bar per batch in the tool loop")
    p.add_argument("--hide-input", action=argparse.BooleanOptionalAction, default=None,
                   help="pointer-memory tasks: keep each problem's input in the tool's memory only, the model reading just the prompt's "
                        "last token ('='), or --no-hide-input to show it (default: as the checkpoint records; docs/FORMATS.md, 'Hidden input')")
    args = p.parse_args(argv)
    args.splits = [x.strip() for x in args.split.split(",")]
    from toolssm.evaluation import EVAL_SPLITS

    bad = [x for x in args.splits if x not in EVAL_SPLITS]
    if bad or len(set(args.splits)) != len(args.splits):
        p.error(f"--split must be {', '.join(EVAL_SPLITS)} or several of them comma-separated (each once), got {args.split!r}")
    if args.num_samples < 1 or args.batch_size < 1:
        p.error("--num-samples and --batch-size must be >= 1")
    if args.lengths:
        try:
            args.lengths = [int(x) for x in args.lengths.split(",")]
        except ValueError:
            p.error(f"--lengths must be comma-separated integers, got {args.lengths!r}")
    from toolssm.paths import checkpoint_path_problem

    for m in args.model:  # a local path that is not a checkpoint fails now, not after the Hub's retries
        problem = checkpoint_path_problem(m)
        if problem:
            p.error(f"--model {m!r}: {problem}")
    if args.labels:
        args.labels = args.labels.split(",")
        if len(args.labels) != len(args.model):
            p.error("--labels needs one label per --model")
    if not args.overwrite:  # an earlier evaluation's results are not replaced by accident
        for sp in args.splits:
            held = earlier_results(output_folder(args, sp))
            if held:
                p.error(f"{output_folder(args, sp)} holds an earlier evaluation's results ({held[:200]}); pass --overwrite to "
                        "replace them, or choose another --out")
    return args


def output_folder(args, split: str) -> str:
    """Where one split's results go: --out (with '{split}' replaced, or <out>/<split> when several splits share the
    run), by default eval_results/<first model's folder name>/<split>."""
    if not args.out:
        return os.path.join("eval_results", os.path.basename(os.path.normpath(args.model[0])), split)
    if "{split}" in args.out:
        return args.out.replace("{split}", split)
    return os.path.join(args.out, split) if len(args.splits) > 1 else args.out


def earlier_results(out_dir: str) -> str | None:
    """What a finished earlier evaluation left in ``out_dir`` (its checkpoint and sizes), or None: no results.json, or
    a partial one (``complete: false``, written while an evaluation runs, left when it was interrupted)."""
    path = os.path.join(out_dir, "results.json")
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            old = json.load(f)
    except (OSError, ValueError):
        return "a results.json that does not parse"
    rows = old if isinstance(old, list) else [old]
    if any(r.get("complete") is False for r in rows):
        return None
    return "; ".join(f"{r.get('checkpoint')} at {[L.get('n') for L in r.get('lengths', [])]}" for r in rows)


def write_tables(all_results: list[dict], out_dir: str) -> None:
    """results.json (one object, or a list for several models) and results.csv (one row per model and length)."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(all_results if len(all_results) > 1 else all_results[0], f, indent=1)
    with open(os.path.join(out_dir, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["label", "checkpoint", "task", "config", "n", "num_samples", "exact_match", "exact_match_lo", "exact_match_hi",
                    "answer_accuracy", "answer_accuracy_lo", "answer_accuracy_hi", "token_accuracy", "tokens_per_sample", "seconds_per_sample"])
        for r in all_results:
            for L in r["lengths"]:
                w.writerow([r["label"], r["checkpoint"], r["task"], r["config"], L["n"], L["num_samples"], L["exact_match"], *L["exact_match_ci"],
                            L["answer_accuracy"], *L["answer_accuracy_ci"], L["token_accuracy"], L["tokens_per_sample"], L["seconds_per_sample"]])


def main(argv=None) -> int:
    args = parse(argv)
    import torch
    from accelerate import Accelerator
    from accelerate.utils import gather_object
    from transformers import AutoModelForCausalLM

    import toolssm  # noqa: F401  (registers the Auto classes)
    from toolssm.cards import write_model_card, write_stress_section
    from toolssm.tasks import choose_input, task_class, task_from_spec
    from toolssm.evaluation import evaluate_splits, plot_results, summarize
    from toolssm.tasks.base import STRESS_FAMILIES

    accelerator = Accelerator()
    device = torch.device(args.device) if args.device else accelerator.device
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}.get(args.dtype, torch.bfloat16 if device.type == "cuda" else torch.float32)
    if args.tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    out_dirs = {sp: output_folder(args, sp) for sp in args.splits}
    from toolssm import provenance

    run_record = provenance.describe("eval.py", seed=args.seed, device=str(device))  # in results.json; run.json at the end
    all_results: dict[str, list[dict]] = {sp: [] for sp in args.splits}
    for mi, path in enumerate(args.model):
        try:
            model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device).eval()
        except OSError as e:  # a Hub id that does not resolve: one line, not transformers' traceback
            raise SystemExit(f"eval.py: error: --model {path!r}: no such checkpoint folder, and the Hub did not provide it ({str(e).splitlines()[0]})")
        from toolssm.kernels import select_mamba_path

        select_mamba_path(model)  # full forwards (teacher-forced token accuracy): kernels or the Triton scan on CUDA
        spec = getattr(model, "tool_spec", None) or {}
        task_name = args.task or spec.get("task")
        if not task_name:
            raise SystemExit(f"{path}: no task recorded in the checkpoint; pass --task")
        if args.config or spec.get("task") != task_name:  # the checkpoint's own task unless told otherwise
            task = task_class(task_name)(args.config)
        else:
            task = task_from_spec(spec)
        try:
            task = choose_input(task, args.hide_input)
        except ValueError as e:
            raise SystemExit(f"eval.py: error: {path}: {e}")
        config = task.config
        lengths = args.lengths or list(task.test_lengths)
        train_args = {}
        if os.path.exists(os.path.join(path, "training_args.json")):
            with open(os.path.join(path, "training_args.json")) as f:
                train_args = json.load(f)
        label = args.labels[mi] if args.labels else f"{model.config.model_type} ({os.path.basename(os.path.normpath(path))})"
        result = {
            "task": task_name, "config": config, "size_unit": task.size_unit, "checkpoint": path, "label": label,
            "architecture": (model.config.architectures or [type(model).__name__])[0], "model_type": model.config.model_type,
            "training_seed": train_args.get("train", {}).get("seed"),
            "train_max_n": train_args.get("data", {}).get("train_max_n") or task.train_max_n,
            "provenance": run_record, "eval_seed": args.seed, "split": None, "stop_at_divergence": args.stop_at_divergence, "decode": args.decode, "hide_input": task.input_in_tool, "num_processes": accelerator.num_processes, "device": str(device), "dtype": str(dtype), "tf32": args.tf32, "lengths": None,
        }
        results = {sp: dict(result, split=sp, lengths=[], **({"decoded_with": args.splits} if len(args.splits) > 1 else {})) for sp in args.splits}
        for n in lengths:
            t0 = time.time()
            with accelerator.split_between_processes({sp: list(range(args.num_samples)) for sp in args.splits}) as mine:
                res = evaluate_splits(model, task, n, mine, seed=args.seed, batch_size=args.batch_size,
                                      token_accuracy=not args.no_token_accuracy, progress=args.progress,
                                      stop_at_divergence=args.stop_at_divergence, fast=False if args.decode == "cache" else None,
                                      device_tools=True if args.decode == "device" else None)
            wall = time.time() - t0
            for sp in args.splits:
                summary = summarize(gather_object(res[sp]))
                summary["wall_seconds"] = wall  # with several splits: the shared loop's wall time
                results[sp]["lengths"].append(summary)
                lo, hi = summary["exact_match_ci"]
                accelerator.print(f"{path}{' ' + sp if len(args.splits) > 1 else ''} n={n}: exact {summary['exact_match']:.3f} [{lo:.2f}, {hi:.2f}], answer {summary['answer_accuracy']:.3f}, "
                                  f"token {summary['token_accuracy'] if summary['token_accuracy'] is None else round(summary['token_accuracy'], 4)}, "
                                  f"{summary['tokens_per_sample']:.0f} tok/sample, {summary['wall_seconds']:.1f}s"
                                  + ("; failing classes: " + (", ".join(f"{k} {v['samples'] - v['exact']}/{v['samples']}" for k, v in summary["by_class"].items() if v["exact"] < v["samples"]) or "none")
                                     if sp in STRESS_FAMILIES else ""))
                wrong = [f["index"] for f in summary["failures"] if f["index"] is not None]
                if wrong:  # how to look at them again
                    shown = ",".join(map(str, wrong[:20])) + (f",... ({len(wrong)} in all, listed in results.json)" if len(wrong) > 20 else "")
                    same = ((f" --task {args.task}" if args.task else "") + (f" --config {args.config}" if args.config else "")
                            + ({True: " --hide-input", False: " --no-hide-input"}.get(args.hide_input, "")) + (f" --seed {args.seed}" if args.seed else ""))
                    accelerator.print(f"  not exact: {sp} indices {shown}; see where: python scripts/divergence.py --model {path}{same} "
                                      f"--split {sp} --n {n} --indices {','.join(map(str, wrong[:4]))}")
                if accelerator.is_main_process:  # after every length: a killed or crashed evaluation keeps what it measured
                    write_tables(all_results[sp] + [dict(results[sp], complete=False)], out_dirs[sp])
        for sp in args.splits:
            all_results[sp].append(results[sp])
        del model
    if accelerator.is_main_process:
        for sp in args.splits:
            out_dir = out_dirs[sp]
            provenance.finish(out_dir, run_record)  # first: results.json carries the record with its end time
            write_tables(all_results[sp], out_dir)
            plot_path = os.path.join(out_dir, "accuracy_vs_length.png")
            plot_results(all_results[sp], plot_path)
            print(f"wrote {out_dir}/results.json, results.csv, accuracy_vs_length.png")
            if args.card:  # the test split is the card's results table and plot; a stress family is its own section
                for r in all_results[sp]:
                    if os.path.isdir(r["checkpoint"]) and os.path.exists(os.path.join(r["checkpoint"], "training_args.json")):
                        if sp == "test":
                            shutil.copy(plot_path, os.path.join(r["checkpoint"], "accuracy_vs_length.png"))
                            write_model_card(r["checkpoint"], dict(r, plot="accuracy_vs_length.png"))
                        elif os.path.exists(os.path.join(r["checkpoint"], "README.md")):
                            write_stress_section(r["checkpoint"], r, family=sp)
                        else:
                            print(f"{r['checkpoint']}: no README.md to add the {sp} section to (evaluate --split test with --card first)")
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, FileNotFoundError) as e:  # errors a user can cause name the input: one line, no traceback
        sys.exit(f"eval.py: error: {e}")
