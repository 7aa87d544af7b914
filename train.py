#!/usr/bin/env python
"""Train a model on tool-use trajectories (toolssm), on CPU, one GPU or many, with Accelerate.

    # CPU smoke run (tiny Mamba, 5-digit addition generated on the fly)
    python train.py --preset mamba-tiny --task addition --max_steps 50 --output_dir runs/tiny
    # one GPU, the paper's 130M Mamba shape
    accelerate launch --config_file configs/accelerate/one_process.yaml train.py --preset mamba-130m --task addition \
        --max-steps 2000 --batch-size 128 --learning-rate 1e-3 --output-dir runs/add-mamba
    # several GPUs / processes (two CPU processes over gloo: ACCELERATE_USE_CPU=1), several nodes: docs/TRAINING.md
    accelerate launch --config_file configs/accelerate/multi_gpu.yaml --num_processes 8 train.py ...
    # arguments from a file; resume a killed run from its last checkpoint
    python train.py configs/addition_mamba.yaml
    python train.py --output_dir runs/add-mamba --resume ...
    # LoRA: adapt a trained checkpoint to another task
    python train.py --init_from runs/add-mamba --lora --task multiplication --config n_x_1 --output_dir runs/lora

Every option has a help string: ``python train.py --help``. Unknown options are errors.
"""

from __future__ import annotations

import gc
import json
import math
import os
import shutil
import sys
import time
from dataclasses import asdict

from transformers import HfArgumentParser

from toolssm.arguments import DataArguments, ModelArguments, TrainArguments  # noqa: F401  (train.DataArguments etc.)
from toolssm.experiments import checkpoints, complete_checkpoints  # checkpoint-<step> folders (whose save finished), oldest first
from toolssm.trajectory import IGNORE_INDEX

def parse_args(argv=None):
    parser = HfArgumentParser((ModelArguments, DataArguments, TrainArguments))
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) >= 1 and argv[0].endswith((".yaml", ".yml", ".json")):
        path, rest = argv[0], argv[1:]
        if rest:
            parser.error("give either a config file or command-line options, not both")
        parse = parser.parse_yaml_file if path.endswith((".yaml", ".yml")) else parser.parse_json_file
        try:
            return parse(os.path.abspath(path), allow_extra_keys=False)
        except FileNotFoundError:
            parser.error(f"config file {path!r} does not exist")
        except ValueError as e:  # JSON/YAML syntax errors and unknown keys
            parser.error(f"config file {path!r}: {e}")
        except Exception as e:  # noqa: BLE001 - yaml's own errors are not ValueErrors
            parser.error(f"config file {path!r}: {type(e).__name__}: {e}")
    return parser.parse_args_into_dataclasses(args=argv)


def build_source(data: DataArguments):
    from toolssm.training import DatasetSource, Mixture, TaskSource

    if data.dataset:
        if data.stress_fraction:
            raise ValueError("--stress_fraction mixes stress problems into generated training data; with --dataset, build the "
                             "dataset with the mix you want instead")
        main = DatasetSource(data.dataset, data.config, "train", data.data_seed, verify=data.verify_data, hide_input=data.hide_input)
    else:
        main = TaskSource(data.task, data.config, data.train_max_n, data.data_seed, hide_input=data.hide_input,
                          stress_fraction=data.stress_fraction, stress_max_n=data.stress_max_n, stress_family=data.stress_family)
    if not data.mixture:
        return main
    sources, weights = [main], [data.mixture_main_weight]
    for part in data.mixture.split(","):
        bits = part.split(":")
        try:
            if len(bits) not in (3, 4):
                raise ValueError("not 3 or 4 fields")
            weight, max_n = float(bits[2]), int(bits[3]) if len(bits) == 4 else None
        except ValueError:
            raise ValueError(f"--mixture entries are task:config:weight[:max_n] (e.g. addition:tool:0.5:20), got {part!r}") from None
        sources.append(TaskSource(bits[0], bits[1], max_n, data.data_seed + len(sources), hide_input=data.hide_input))
        weights.append(weight)
    return Mixture(sources, weights, data.data_seed)


def main(argv=None) -> int:
    margs, dargs, targs = parse_args(argv)

    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm
    from transformers import get_scheduler

    import toolssm  # noqa: F401  (registers the Auto classes)
    from toolssm.cards import write_model_card
    from toolssm.evaluation import evaluate_items, make_test_items, summarize
    from toolssm.models import VOCAB_SIZE, build_model
    from toolssm.tokenizer import get_tokenizer
    from toolssm.evaluation import token_accuracy_counts
    from toolssm.training import StepDataset
    from toolssm.trajectory import collate

    if margs.scan_chunk < 0:
        raise ValueError(f"--scan_chunk must be >= 0, got {margs.scan_chunk}")
    if dargs.group_by_length < 0:
        raise ValueError(f"--group_by_length is a number of steps (0 or 1: off), got {dargs.group_by_length}")
    if dargs.max_length is not None and dargs.max_length < 16:
        raise ValueError(f"--max_length must be at least 16 tokens (it cuts every training sequence), got {dargs.max_length}")
    if targs.max_steps <= 0 or targs.batch_size <= 0 or targs.gradient_accumulation_steps <= 0:
        raise ValueError("max_steps, batch_size and gradient_accumulation_steps must be positive")
    for name, value, ok, need in [("--warmup_steps", targs.warmup_steps, targs.warmup_steps >= 0, ">= 0"),
                                  ("--log_every", targs.log_every, targs.log_every >= 1, ">= 1"),
                                  ("--save_every", targs.save_every, targs.save_every >= 1, ">= 1"),
                                  ("--eval_every", targs.eval_every, targs.eval_every >= 0, ">= 0 (0: only at the end)"),
                                  ("--eval_samples", targs.eval_samples, targs.eval_samples >= 1, ">= 1"),
                                  ("--save_total_limit", targs.save_total_limit, targs.save_total_limit >= 1, ">= 1"),
                                  ("--max_time_minutes", targs.max_time_minutes, targs.max_time_minutes is None or targs.max_time_minutes > 0, "> 0"),
                                  ("--learning_rate", targs.learning_rate, targs.learning_rate > 0, "> 0"),
                                  ("--num_workers", dargs.num_workers, dargs.num_workers >= 0, ">= 0")]:
        if not ok:
            raise ValueError(f"{name} must be {need}, got {value}")
    from toolssm.paths import checkpoint_path_problem

    problem = checkpoint_path_problem(margs.init_from) if margs.init_from else None
    if problem:
        raise ValueError(f"--init_from {margs.init_from!r}: {problem}")
    if margs.source_tokenizer and not margs.init_from:
        raise ValueError("--source_tokenizer needs --init_from (the pretrained model whose tokenizer it is)")
    if margs.lora and not margs.init_from:
        raise ValueError("--lora needs --init_from CHECKPOINT (LoRA adapts a trained model)")
    mp = targs.mixed_precision
    if mp == "auto":
        mp = "bf16" if torch.cuda.is_available() else "no"
    report = None if targs.report_to == "none" else targs.report_to
    if report == "tensorboard":
        import importlib.util

        if importlib.util.find_spec("tensorboard") is None and importlib.util.find_spec("tensorboardX") is None:
            print("tensorboard is not installed: metrics go to metrics.jsonl only", file=sys.stderr)
            report = None
    accelerator = Accelerator(gradient_accumulation_steps=targs.gradient_accumulation_steps, mixed_precision=mp,
                              log_with=report, project_dir=targs.output_dir)
    set_seed(targs.seed)
    from toolssm.training import run_files

    held = run_files(targs.output_dir)
    if held and targs.resume and targs.overwrite_output_dir:
        raise SystemExit("--resume and --overwrite_output_dir contradict each other: continue the run, or replace it")
    if held and not targs.resume:
        if not targs.overwrite_output_dir:
            raise SystemExit(f"--output_dir {targs.output_dir!r} holds a run ({', '.join(held[:6])}); pass --resume to continue it, "
                             "--overwrite_output_dir to replace it, or train into a new --output_dir")
        if accelerator.is_main_process:
            for name in held:
                if name.startswith("checkpoint-") or name == "metrics.jsonl":
                    p = os.path.join(targs.output_dir, name)
                    shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
            accelerator.print(f"--overwrite_output_dir: replacing the run in {targs.output_dir}")
        accelerator.wait_for_everyone()
    os.makedirs(targs.output_dir, exist_ok=True)
    from toolssm import provenance

    run_record = provenance.describe("train.py", seed=targs.seed, device=str(accelerator.device))
    run_record["num_processes"] = accelerator.num_processes
    if accelerator.is_main_process:
        provenance.write(targs.output_dir, run_record)

    source = build_source(dargs)
    task = source.task if hasattr(source, "task") and source.task is not None else source.sources[0].task

    # model -------------------------------------------------------------------------------------------
    if margs.init_from:
        from transformers import AutoModelForCausalLM

        try:
            model = AutoModelForCausalLM.from_pretrained(margs.init_from)
        except OSError as e:  # not a folder, and not a Hub id that resolves
            raise ValueError(f"--init_from {margs.init_from!r}: no such checkpoint folder, and the Hub did not provide it ({str(e).splitlines()[0]})") from None
        if margs.source_tokenizer:
            from transformers import AutoTokenizer

            from toolssm.transplant import transplant_vocabulary

            try:
                src_tok = AutoTokenizer.from_pretrained(margs.source_tokenizer)
            except (OSError, ValueError) as e:
                raise ValueError(f"--source_tokenizer {margs.source_tokenizer!r}: cannot load it ({str(e).splitlines()[0]})") from None
            info = transplant_vocabulary(model, src_tok)
            accelerator.print(f"vocabulary: toolssm's {info['tokens']} tokens transplanted from {info['source_vocab']:,} pretrained rows "
                              f"({info['single_piece']} of them one piece of {margs.source_tokenizer}, at most {info['max_pieces']} pieces)")
        elif model.get_input_embeddings().weight.shape[0] != VOCAB_SIZE:
            raise ValueError(f"--init_from {margs.init_from!r} has {model.get_input_embeddings().weight.shape[0]:,} embedding rows, toolssm's "
                             f"tokenizer {VOCAB_SIZE} tokens: a pretrained language model needs --source_tokenizer (its own tokenizer) "
                             "so that toolssm's tokens start from its embeddings")
    else:
        model = build_model(margs.preset)
    from toolssm.kernels import select_mamba_path

    mamba_path = "triton" if margs.triton_scan else "mambapy" if margs.use_mambapy else margs.mamba_path
    try:
        path_note = select_mamba_path(model, mamba_path, scan_chunk=margs.scan_chunk, device=accelerator.device)
    except ValueError as e:
        raise SystemExit(f"--mamba_path: {e}")
    if hasattr(model, "set_tool_spec"):  # every toolssm model class; a foreign --init_from model may lack it
        model.set_tool_spec(task.spec())
    n_params = sum(p.numel() for p in model.parameters())  # the released model's size (LoRA adapters are merged into it)
    if margs.lora:
        from peft import get_peft_model

        from toolssm.models import lora_config

        targets = margs.lora_target_modules.split(",") if margs.lora_target_modules else None
        model = get_peft_model(model, lora_config(model, margs.lora_r, margs.lora_alpha, targets))
        if accelerator.is_main_process:
            model.print_trainable_parameters()
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    accelerator.print(f"model: {margs.init_from or margs.preset}, {n_params / 1e6:.2f}M parameters ({n_trainable / 1e6:.2f}M trained); {path_note}")
    accelerator.print(f"task: {task.name}/{task.config}{' (input hidden)' if task.input_in_tool else ''}; processes: {accelerator.num_processes}; mixed precision: {mp}")

    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=targs.learning_rate, weight_decay=targs.weight_decay, betas=(0.9, 0.95))
    # Accelerate steps a prepared scheduler once per process each step, so both counts scale with the process count
    # (the warm-up once did not: two processes peaked at half the warm-up).
    scheduler = get_scheduler(targs.lr_scheduler, optimizer, num_warmup_steps=targs.warmup_steps * accelerator.num_processes,
                              num_training_steps=targs.max_steps * accelerator.num_processes)
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)

    all_args = {"model": asdict(margs), "data": asdict(dargs), "train": asdict(targs), "num_processes": accelerator.num_processes,
                "mixed_precision": mp, "n_params": n_params, "n_trainable_params": n_trainable, "toolssm_version": toolssm.__version__}
    metrics_path = os.path.join(targs.output_dir, "metrics.jsonl")
    start_step = 0
    if targs.resume:
        from toolssm.training import checkpoint_problem, resume_mismatch, trim_metrics

        ckpts = complete_checkpoints(targs.output_dir)
        final = os.path.join(targs.output_dir, "training_args.json")
        if not ckpts and os.path.exists(final):  # a run that ended (or ran out of time) without a step checkpoint
            with open(final) as f:
                saved = json.load(f)
            diff = resume_mismatch(saved, all_args)
            if diff:
                raise SystemExit(f"--resume: {targs.output_dir} holds another run ({'; '.join(diff)}); resume with its arguments "
                                 "or train into a new --output_dir")
            done = saved.get("steps_completed", saved["train"]["max_steps"])
            if done < targs.max_steps:
                raise SystemExit(f"--resume: the run in {targs.output_dir} ended at step {done} of {targs.max_steps} and left no step "
                                 "checkpoint (--save_every) to continue from; --overwrite_output_dir trains it again from scratch")
            accelerator.print(f"nothing to do: the run in {targs.output_dir} already finished ({done} steps)")
            return 0
        if not ckpts:
            accelerator.print(f"--resume: no checkpoint in {targs.output_dir}, starting from scratch")
            if accelerator.is_main_process:
                trim_metrics(metrics_path, 0)  # rows an interrupted first attempt logged would repeat
        for ckpt in reversed(ckpts):  # the newest intact one
            problem = checkpoint_problem(ckpt)
            if problem:
                accelerator.print(f"--resume: skipping {ckpt}: {problem}")
                continue
            with open(os.path.join(ckpt, "training_args.json")) as f:
                diff = resume_mismatch(json.load(f), all_args)
            if diff:
                raise SystemExit(f"--resume: {ckpt} belongs to another run ({'; '.join(diff)}); resume with its arguments "
                                 "or train into a new --output_dir")
            accelerator.load_state(os.path.join(ckpt, "accelerate_state"))
            with open(os.path.join(ckpt, "trainer_state.json")) as f:
                start_step = json.load(f)["step"]
            if accelerator.is_main_process:
                dropped = trim_metrics(metrics_path, start_step)
                accelerator.print(f"resumed from {ckpt} at step {start_step}" + (f" ({dropped} metrics rows past it dropped)" if dropped else ""))
            break
        else:
            if ckpts:
                raise SystemExit(f"--resume: no intact checkpoint in {targs.output_dir} (each failed its checksums, above)")
    if start_step >= targs.max_steps:
        accelerator.print("nothing to do: the run already reached max_steps")

    # Micro-batches for this process, continuing the global order exactly where the run stopped.
    micro = StepDataset(source, start_step * targs.gradient_accumulation_steps, targs.batch_size, accelerator.process_index,
                        accelerator.num_processes, dargs.max_length, dargs.group_by_length, dargs.loss_tokens)
    if dargs.loss_tokens != "all" and not any(t != IGNORE_INDEX for k in range(min(64, targs.batch_size * 4)) for t in micro[k]["labels"]):
        raise SystemExit(f"--loss_tokens {dargs.loss_tokens}: the first training examples of {dargs.task} hold no trained token of "
                         "that kind, so their loss would be empty (nothing to learn); use --loss_tokens all")
    loader = torch.utils.data.DataLoader(micro, batch_size=targs.batch_size, shuffle=False, collate_fn=collate,
                                         num_workers=dargs.num_workers, persistent_workers=dargs.num_workers > 0)
    batches = iter(loader)

    accelerator.init_trackers("tensorboard", config={f"{k}.{kk}": (vv if isinstance(vv, (int, float, str, bool)) else str(vv))
                                                for k, v in all_args.items() if isinstance(v, dict) for kk, vv in v.items()})
    try:
        eval_lengths = [int(x) for x in targs.eval_lengths.split(",")] if targs.eval_lengths else None
    except ValueError:
        raise ValueError(f"--eval_lengths must be comma-separated integers, got {targs.eval_lengths!r}") from None
    for n in eval_lengths or []:  # fail now, not after hours of training at the first validation
        try:
            task.validate_n(n)
        except ValueError as e:
            raise SystemExit(f"--eval_lengths: {e}") from None
    tok = get_tokenizer()

    def log(record: dict) -> None:
        if accelerator.is_main_process:
            with open(metrics_path, "a") as f:
                f.write(json.dumps(record) + "\n")
        accelerator.log({k: v for k, v in record.items() if isinstance(v, (int, float)) and k != "step"}, step=record["step"])

    def save(step: int, final: bool = False) -> None:
        accelerator.wait_for_everyone()
        path = targs.output_dir if final else os.path.join(targs.output_dir, f"checkpoint-{step}")
        if not final:
            accelerator.save_state(os.path.join(path, "accelerate_state"))
            accelerator.wait_for_everyone()  # every process's RNG state is on disk before the checksums
        if accelerator.is_main_process:
            m = accelerator.unwrap_model(model)
            if margs.lora:
                m.save_pretrained(os.path.join(path, "adapter"))
                with open(os.path.join(path, "adapter", "README.md"), "w") as f:  # not peft's blank template
                    f.write(f"# LoRA adapter\n\nThe peft adapter of this run (`PeftModel.from_pretrained(base, this_folder)`, base "
                            f"`{margs.init_from}`); the merged model and its card are one folder up.\n")
                m = m.merge_and_unload() if final else m.base_model.model
            m.save_pretrained(path, safe_serialization=True)
            tok.save_pretrained(path)
            with open(os.path.join(path, "training_args.json"), "w") as f:
                json.dump(all_args, f, indent=1)
            with open(os.path.join(path, "trainer_state.json"), "w") as f:
                json.dump({"step": step, "final": final}, f)
            if not final:  # checksums last (a resume falls back past a checkpoint whose files changed), then rotate
                from toolssm.training import write_checksums

                write_checksums(path)
                old = checkpoints(targs.output_dir)
                for p in old[: max(0, len(old) - targs.save_total_limit)]:
                    shutil.rmtree(p, ignore_errors=True)
        accelerator.wait_for_everyone()

    def validate(step: int) -> dict:
        """Teacher-forced token accuracy on validation items, and tool-loop exact match at a few lengths."""
        m = accelerator.unwrap_model(model)
        m.eval()
        val = [task.make_item(dargs.data_seed, "validation", i, source_max_n(), train=True) for i in range(accelerator.process_index, 64, accelerator.num_processes)]
        from toolssm.trajectory import render

        c = t = 0
        for i in range(0, len(val), 16):
            batch = collate([render(it.trajectory, train_observations=task.train_observations) for it in val[i : i + 16]])
            with accelerator.autocast():
                cc, tt = token_accuracy_counts(m, {k: v.to(accelerator.device) for k, v in batch.items()})
            c, t = c + cc, t + tt
        ct = accelerator.reduce(torch.tensor([c, t], device=accelerator.device), reduction="sum").tolist()
        record = {"step": step, "val_token_accuracy": ct[0] / max(ct[1], 1)}
        lengths = eval_lengths or [source_max_n(), 2 * source_max_n()]
        for n in lengths:
            n = min(n, task.max_n)
            items = make_test_items(task, n, targs.eval_samples, seed=dargs.data_seed + 1000)
            mine = items[accelerator.process_index :: accelerator.num_processes]
            with accelerator.autocast():
                res = evaluate_items(m, task, mine, batch_size=16, token_accuracy=False, stop_at_divergence=True)
            em = accelerator.reduce(torch.tensor([sum(r.exact for r in res), len(res)], device=accelerator.device), reduction="sum").tolist()
            record[f"val_exact_match_n{n}"] = em[0] / max(em[1], 1)
        m.train()
        return record

    def source_max_n() -> int:
        return getattr(source, "train_max_n", None) or getattr(getattr(source, "sources", [None])[0], "train_max_n", None) or 5

    def finish_processes():
        """Every process here, then the process group goes while all of them are alive. DDP's reducer holds the gloo
        group: left to the interpreter's exit, its destructor ran after the other rank had gone and one CPU rank hung
        in ~ProcessGroupGloo joining a worker thread (2026-12-07, two processes on a loaded 2-core machine, after
        the run had saved everything; not reproduced on demand: 6 of 6 runs beside two CPU burners finished, before
        this change and after). So the wrapped model goes first and the group is destroyed by end_training, as
        PyTorch's docs on shutdown ask (destroy where communication is no longer needed)."""
        nonlocal model, optimizer, scheduler
        accelerator.wait_for_everyone()
        model = optimizer = scheduler = None
        accelerator.free_memory()
        gc.collect()
        accelerator.end_training()

    # loop ----------------------------------------------------------------------------------------------
    model.train()
    bar = tqdm(total=targs.max_steps, initial=start_step, desc="train", disable=not accelerator.is_local_main_process, unit="step")
    step, t_last, tokens_since, loss_sum, loss_n = start_step, time.time(), 0, 0.0, 0
    t_start = time.time()
    all_args["steps_completed"] = targs.max_steps
    while step < targs.max_steps:
        for _ in range(targs.gradient_accumulation_steps):
            batch = {k: v.to(accelerator.device) for k, v in next(batches).items()}
            with accelerator.accumulate(model):
                out = model(input_ids=batch["input_ids"], labels=batch["labels"])
                loss = out.loss * batch["loss_weight"] if "loss_weight" in batch else out.loss  # --group_by_length
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"non-finite loss {loss.item()} at step {step}; lower the learning rate or use bf16/fp32")
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(model.parameters(), targs.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            tokens_since += int((batch["labels"] != IGNORE_INDEX).sum())
            loss_sum, loss_n = loss_sum + loss.item(), loss_n + 1
        step += 1
        bar.update(1)
        if step % targs.log_every == 0 or step == targs.max_steps:
            dt = time.time() - t_last
            tot = accelerator.reduce(torch.tensor([tokens_since], device=accelerator.device), reduction="sum").item()
            rec = {"step": step, "loss": loss_sum / loss_n, "lr": scheduler.get_last_lr()[0], "trained_tokens_per_s": tot / dt,
                   "seconds": dt}
            bar.set_postfix(loss=f"{rec['loss']:.4f}", tok_s=f"{rec['trained_tokens_per_s']:.0f}")
            log(rec)
            t_last, tokens_since, loss_sum, loss_n = time.time(), 0, 0.0, 0
        if targs.eval_every and step % targs.eval_every == 0 and step < targs.max_steps:
            rec = validate(step)
            accelerator.print(json.dumps(rec))
            log(rec)
            t_last = time.time()
        if step % targs.save_every == 0 and step < targs.max_steps:
            save(step)
        if targs.max_time_minutes is not None:
            over = torch.tensor([float(time.time() - t_start > 60 * targs.max_time_minutes)], device=accelerator.device)
            if accelerator.reduce(over, reduction="max").item() > 0:  # every process stops at the same step
                accelerator.print(f"time budget of {targs.max_time_minutes} min reached at step {step} of {targs.max_steps}")
                all_args["steps_completed"] = step
                break
        if targs.stop_after is not None and step >= targs.stop_after:
            save(step)
            accelerator.print(f"stopping after step {step} (--stop_after)")
            bar.close()
            finish_processes()
            return 3
    bar.close()
    save(step, final=True)  # first: a slow or failing validation must not cost the trained weights
    rec = validate(step)
    accelerator.print(json.dumps(rec))
    log(rec)
    if accelerator.is_main_process:
        provenance.finish(targs.output_dir, run_record, steps_completed=all_args.get("steps_completed", step))
        write_model_card(targs.output_dir)
        if targs.push_to_hub:
            from toolssm.cards import push_checkpoint

            print(push_checkpoint(targs.output_dir, targs.push_to_hub, token=os.environ.get("HF_TOKEN")))
    finish_processes()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, FileNotFoundError) as e:  # errors a user can cause name the input: one line, no traceback
        sys.exit(f"train.py: error: {e}")
