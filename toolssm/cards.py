"""Model cards for released checkpoints: filled from training_args.json and evaluation results."""

from __future__ import annotations

import json
import os
import re
from importlib import resources

from .arguments import reproduce_command

START, END = "<!-- results:start -->", "<!-- results:end -->"


def results_table(results: dict) -> str:
    """Markdown table of one evaluation (eval.py's JSON)."""
    counts = sorted({r["num_samples"] for r in results["lengths"]})
    per_length = f"{counts[0] if counts else 0} problems per length" if len(counts) <= 1 else "problems per length in the last column"
    lines = [
        f"Evaluated with `eval.py` on `{results['task']}` ({results.get('config')}"
        f"{', input hidden: the operands in the tool only' if results.get('hide_input') else ''}), greedy decoding, "
        f"{per_length} (eval seed {results.get('eval_seed')}); "
        "95% intervals in brackets."
        + (" Rows stopped at their first token off the reference (`--stop-at-divergence`): answer accuracy is a lower bound."
           if results.get("stop_at_divergence") else ""),
        "",
        "| n | exact match | answer accuracy | token accuracy | tokens / sample |" + (" problems |" if len(counts) > 1 else ""),
        "|---|---|---|---|---|" + ("---|" if len(counts) > 1 else ""),
    ]
    for r in sorted(results["lengths"], key=lambda r: r["n"]):
        ta = "-" if r["token_accuracy"] is None else f"{r['token_accuracy']:.4f} [{r['token_accuracy_ci'][0]:.4f}, {r['token_accuracy_ci'][1]:.4f}]"
        lines.append(
            f"| {r['n']} | {r['exact_match']:.3f} [{r['exact_match_ci'][0]:.3f}, {r['exact_match_ci'][1]:.3f}] | "
            f"{r['answer_accuracy']:.3f} [{r['answer_accuracy_ci'][0]:.3f}, {r['answer_accuracy_ci'][1]:.3f}] | {ta} | {r['tokens_per_sample']:.0f} |"
            + (f" {r['num_samples']} |" if len(counts) > 1 else "")
        )
    if results.get("plot"):
        lines += ["", f"![accuracy against length]({results['plot']})"]
    return "\n".join(lines)


def _eval_results(results: dict, split: str) -> list:
    """huggingface_hub EvalResults (the card's model-index): exact match per size of one evaluation."""
    from huggingface_hub import EvalResult

    return [EvalResult(task_type="text-generation", task_name=f"{results['task']} length generalization",
                       dataset_type=f"toolssm/{results['task']}", dataset_name=f"toolssm {results['task']} ({split} split)",
                       dataset_config=results.get("config"), dataset_split=f"{split}_{r['n']}", metric_type="exact_match",
                       metric_name=f"exact match, n = {r['n']} ({r['num_samples']} problems)", metric_value=round(r["exact_match"], 4))
            for r in sorted(results["lengths"], key=lambda r: r["n"])]


def _card_data(args: dict, config: dict, config_name: str, eval_results: list | None = None):
    """The card's YAML metadata, through huggingface_hub's ModelCardData (model-index from ``eval_results``)."""
    from huggingface_hub import ModelCardData

    d, m = args["data"], args["model"]
    return ModelCardData(
        library_name="transformers", pipeline_tag="text-generation", license="apache-2.0", language="en",
        tags=["toolssm", "tool-use", "length-generalization", config.get("model_type")] + (["lora"] if m.get("lora") else []),
        datasets=[f"toolssm/{d['task']}"], base_model=_base_model(m),
        model_name=f"toolssm {config.get('model_type')} {d['task']} {config_name}", eval_results=eval_results or None,
    )


def _base_model(m: dict) -> str | None:
    """The card's base_model: what --init_from adapted or fine-tuned, but not a run folder of the training machine
    (a run continued from an earlier run of its own task: runs/...), which no reader can resolve."""
    init = m.get("init_from")
    return init if init and (m.get("lora") or not str(init).startswith("runs/")) else None


def _replace_card_data(text: str, data) -> str:
    return "---\n" + data.to_yaml() + "\n---\n" + text.split("---\n", 2)[2] if text.startswith("---\n") else text


def _existing_eval_results(text: str) -> list:
    from huggingface_hub import ModelCard

    try:
        return list(ModelCard(text).data.eval_results or [])
    except Exception:  # noqa: BLE001 - a card without (valid) metadata: start afresh
        return []


#: each stress family's card section: (what its table says the split is, the section's heading)
FAMILY_TEXT = {
    "stress": ("Stress split (`eval.py --split stress`): problems of each size from the corners of the input space, the "
               "task's stress classes in turn (docs/FORMATS.md, 'Stress splits')",
               "Stress split: every valid input, not only the typical one"),
    "runs": ("Runs split (`eval.py --split runs`): problems of each size whose operand holds one run of a digit over at "
             "least half its digits, the task's runs classes in turn (docs/FORMATS.md, 'Runs splits')",
             "Runs split: long runs of one digit"),
}


def family_markers(family: str) -> tuple[str, str]:
    """The comments that open and close a stress family's card section."""
    return f"<!-- {family}:start -->", f"<!-- {family}:end -->"


def stress_table(results: dict, family: str = "stress") -> str:
    """Markdown table of one stress-family evaluation (eval.py --split stress or runs): exact match per size and the
    classes that failed, with how many of their problems."""
    lines = [
        f"{FAMILY_TEXT[family][0]}; greedy, eval seed {results.get('eval_seed')}, 95% intervals in brackets.",
        "",
        "| n | exact match | problems | failing classes (wrong / problems) |",
        "|---|---|---|---|",
    ]
    for r in sorted(results["lengths"], key=lambda r: r["n"]):
        bad = ", ".join(f"`{k}` {v['samples'] - v['exact']}/{v['samples']}" for k, v in sorted(r.get("by_class", {}).items()) if v["exact"] < v["samples"])
        lines.append(f"| {r['n']} | {r['exact_match']:.3f} [{r['exact_match_ci'][0]:.3f}, {r['exact_match_ci'][1]:.3f}] | {r['num_samples']} | {bad or 'none'} |")
    return "\n".join(lines)


def write_stress_section(ckpt_dir: str, results: dict, note: str = "", config: dict | None = None, family: str = "stress") -> str:
    """Insert or replace the card's section of one stress family (``stress`` or ``runs``; before 'How to use');
    ``note`` is said above the table; ``config``: the model config when the folder has no config.json (see
    ``_load_args``)."""
    if family not in FAMILY_TEXT:
        raise ValueError(f"family must be one of {sorted(FAMILY_TEXT)}, got {family!r}")
    path = os.path.join(ckpt_dir, "README.md")
    text = open(path).read()
    kept = [e for e in _existing_eval_results(text) if not (e.dataset_split or "").startswith(f"{family}_")]
    if os.path.exists(os.path.join(ckpt_dir, "training_args.json")):
        args, config = _load_args(ckpt_dir, config)
        text = _replace_card_data(text, _card_data(args, config, results.get("config"), kept + _eval_results(results, family)))
    body = f"{note + chr(10) + chr(10) if note else ''}{stress_table(results, family)}"
    return _write_section(path, text, *family_markers(family), body, FAMILY_TEXT[family][1])


def _write_section(path: str, text: str, start: str, end: str, body: str, heading: str) -> str:
    """Replace the card's section between ``start`` and ``end``, or insert it under ``heading`` before 'How to use'."""
    body = f"{start}\n{body}\n{end}"
    if start in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda m: body, text, flags=re.S)
    else:
        section = f"## {heading}\n\n{body}\n\n"
        text = text.replace("## How to use", section + "## How to use", 1) if "## How to use" in text else text.rstrip() + "\n\n" + section
    with open(path, "w") as f:
        f.write(text)
    return text


PROBE_START, PROBE_END = "<!-- probe:start -->", "<!-- probe:end -->"


def write_probe_section(ckpt_dir: str, probe: dict) -> str:
    """Insert or replace the card's corner-input section (scripts/probe.py's result), before 'How to use'."""
    cases = probe["cases"]
    right = sum(c["right"] for c in cases)
    largest = max(c["size"] for c in cases)
    lines = [f"Hand-picked corner inputs (`python scripts/probe.py`: edge values, powers of ten, runs of identical columns, "
             f"extreme length disparity; every answer checked against Python's integers or a move simulation): "
             f"**{right}/{len(cases)} right**, sizes up to {largest}, greedy, {'GPU' if probe.get('device', 'cpu').startswith('cuda') else 'CPU'}"
             f"{', input hidden (the model reads the operands only through its pointers)' if probe.get('hide_input') else ''}."]
    wrong: dict[str, list[dict]] = {}
    for c in cases:
        if not c["right"]:
            wrong.setdefault(c["class"], []).append(c)
    if wrong:
        lines += ["", "| case class | wrong at sizes | example |", "|---|---|---|"]
        for cls, cs in sorted(wrong.items()):
            ex = min(cs, key=lambda c: c["size"])["prompt"]
            ex = ex if len(ex) <= 48 else ex[:20] + "..." + ex[-12:]
            lines.append(f"| `{cls}` | {', '.join(str(c['size']) for c in sorted(cs, key=lambda c: c['size']))} | `{ex!r}` |")
    path = os.path.join(ckpt_dir, "README.md")
    return _write_section(path, open(path).read(), PROBE_START, PROBE_END, "\n".join(lines), "Corner inputs")


def _load_args(ckpt_dir: str, config: dict | None = None) -> tuple[dict, dict]:
    """training_args.json and the model config: ``config`` where given, else config.json."""
    with open(os.path.join(ckpt_dir, "training_args.json")) as f:
        args = json.load(f)
    if config is not None:
        return args, config
    with open(os.path.join(ckpt_dir, "config.json")) as f:
        return args, json.load(f)


def write_model_card(ckpt_dir: str, results: dict | None = None, *, config: dict | None = None, weights_note: str = "",
                     config_note: str = "config in `config.json`") -> str:
    """Write README.md in ``ckpt_dir`` from the template; with ``results``, (re)write the results section.
    ``config`` stands in for a missing config.json; ``weights_note`` opens the card (a run filed without weights)."""
    path = os.path.join(ckpt_dir, "README.md")
    args, config = _load_args(ckpt_dir, config)
    config_name = args["data"]["config"]
    if os.path.exists(path) and results is not None:
        text = open(path).read()
        if START in text:
            text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda m: f"{START}\n{results_table(results)}\n{END}", text, flags=re.S)
            stress = [e for e in _existing_eval_results(text) if (e.dataset_split or "").startswith(("stress_", "runs_"))]
            text = _replace_card_data(text, _card_data(args, config, results.get("config") or config_name, _eval_results(results, "test") + stress))
            text = refresh_reproduce_command(text, args)
            with open(path, "w") as f:
                f.write(text)
            return text
    from .tasks import task_class

    d, t, m = args["data"], args["train"], args["model"]
    task = task_class(d["task"])(d["config"])
    config_name = task.config
    item = task.make_item(0, "card", 0, max(task.min_n, 3), train=False)  # a small example for the usage snippet
    tool = type(task.inference_tool(item.problem)).__name__
    arch = (config.get("architectures") or ["?"])[0]
    cmd = _train_command(args)
    done = args.get("steps_completed", t["max_steps"])
    steps_note = "" if done >= t["max_steps"] else f" (of {t['max_steps']} planned: stopped by the --max_time_minutes budget)"
    if m.get("init_from"):
        steps_note += (f", continued from `{m['init_from']}` (new optimizer state and schedule; that run's own steps come first"
                       " and are not counted here)")
    fields = {
        "card_data": _card_data(args, config, config_name, _eval_results(results, "test") if results else None).to_yaml(),
        "origin": (f"adapted with LoRA (rank {m.get('lora_r')}) from `{m['init_from']}`, adapters merged into these weights" if m.get("lora")
                   else f"fine-tuned from `{m['init_from']}`" if m.get("init_from") else "trained from scratch"),
        "title": f"toolssm {config.get('model_type')} for {d['task']} ({config_name})",
        "model_type": config.get("model_type"), "task": d["task"], "variant": task.variant, "config": config_name, "tool": tool,
        "train_max_n": d.get("train_max_n") or task.train_max_n, "size_unit": task.size_unit, "data_seed": d["data_seed"],
        "architecture": arch, "architecture_base": arch.replace("Tool", "", 1), "n_params_m": f"{args['n_params'] / 1e6:.2f}",
        "preset": m["init_from"] or m["preset"], "steps": done, "steps_note": steps_note,
        "batch_size": t["batch_size"], "num_processes": args["num_processes"],
        "grad_accum": t["gradient_accumulation_steps"], "learning_rate": t["learning_rate"], "weight_decay": t["weight_decay"],
        "lr_scheduler": t["lr_scheduler"], "warmup_steps": t["warmup_steps"], "mixed_precision": args["mixed_precision"], "seed": t["seed"],
        "results": results_table(results) if results else "Not evaluated yet: run `eval.py --model THIS_FOLDER` to fill this section.",
        "example_prompt": item.prompt.replace("\n", "\\n"), "train_command": cmd,
        "eval_lengths": ",".join(map(str, task.test_lengths)), "weights_note": weights_note, "config_note": config_note,
        "plain_note": (f"The weights are a plain `{arch.replace('Tool', '', 1)}` checkpoint: `transformers` alone loads them "
                       "(without the tool loop, which answering needs)." if config.get("model_type") != "toolssm_rnn" else
                       "This LSTM/GRU baseline is toolssm's own model class (`toolssm_rnn`): it needs `import toolssm` to load."),
    }
    template = resources.files("toolssm").joinpath("templates/model_card.md").read_text()
    text = template.format(**fields)
    with open(path, "w") as f:
        f.write(text)
    return text


_REPRODUCE = re.compile(r"(## How to reproduce\n\n```bash\n(?:[^`\n]*\n)*?)(accelerate launch [^\n]*)\n")  # the block's first train command


def _train_command(args: dict) -> str:
    """The card's train.py command (:func:`toolssm.arguments.reproduce_command`), the task's config spelled out."""
    from .tasks import task_class

    d = args["data"]
    return reproduce_command(dict(args, data=dict(d, config=task_class(d["task"])(d["config"]).config)))


def refresh_reproduce_command(text: str, args: dict) -> str:
    """``text`` (a card) with its "How to reproduce" train.py command rewritten from ``args`` (training_args.json):
    cards written before :func:`toolssm.arguments.reproduce_command` named a hand-picked subset of the options."""
    cmd = _train_command(args)
    return _REPRODUCE.sub(lambda m: m.group(1) + cmd + "\n", text, count=1)


def push_checkpoint(ckpt_dir: str, repo_id: str, token: str | None = None) -> str:
    """Upload a checkpoint folder (weights, tokenizer, generation config, card) to the Hub."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, exist_ok=True)
    info = api.upload_folder(folder_path=ckpt_dir, repo_id=repo_id, ignore_patterns=["checkpoint-*", "*/accelerate_state/*", "runs/*", "toolssm/*"])
    return str(info)


WEIGHTS_NOTE = ("> **Weights not filed.** This card describes a run filed under `results/` without its weights "
                "(results/README.md, 'Weights'): retrain them with the command under 'Training' (item streams are "
                "deterministic in the data seed), or with `bash scripts/gpu/run.sh {study} {run}` where the study "
                "has a run table.\n\n")


def write_run_card(run_dir: str) -> str:
    """The model card of a run filed under ``results/<study>/<run>/`` (training_args.json, metrics, eval/<tag>/
    results.json; no weights): README.md there, rewritten whole from those files, with the test results, the stress
    section where a stress evaluation exists, and a note that the weights are not filed. The model's config comes
    from the filed config.json, else from the run's preset (no weights are built)."""
    run_dir = os.path.abspath(run_dir)
    args_path = os.path.join(run_dir, "training_args.json")
    if not os.path.exists(args_path):
        raise FileNotFoundError(f"{run_dir}: no training_args.json; not a filed training run")
    config, config_note = None, "config in `config.json`"
    if not os.path.exists(os.path.join(run_dir, "config.json")):
        from .models import PRESETS

        with open(args_path) as f:
            m = json.load(f)["model"]
        preset = m.get("preset")
        if m.get("init_from") or preset not in PRESETS:
            raise ValueError(f"{run_dir}: no config.json and the run's model is not a plain preset ({m.get('init_from') or preset!r})")
        cls, preset_config = PRESETS[preset]()
        config = dict(preset_config.to_dict(), architectures=[cls.__name__])
        config_note = f"config of the preset (not filed: `build_model({preset!r})` rebuilds it)"
    evals = {}
    for tag in ("test", "stress", "runs"):
        p = os.path.join(run_dir, "eval", tag, "results.json")
        if os.path.exists(p):
            with open(p) as f:
                evals[tag] = json.load(f)
    path = os.path.join(run_dir, "README.md")
    if os.path.exists(path):
        os.remove(path)  # rewritten whole from the filed files
    study, run = os.path.basename(os.path.dirname(run_dir)), os.path.basename(run_dir)
    text = write_model_card(run_dir, evals.get("test"), config=config, config_note=config_note,
                            weights_note=WEIGHTS_NOTE.format(study=study, run=run))
    for family in ("stress", "runs"):
        if family in evals:
            text = write_stress_section(run_dir, evals[family], config=config, family=family)
    return text


if __name__ == "__main__":  # python -m toolssm.cards results/STUDY/RUN ...: the card of each filed run
    import sys

    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m toolssm.cards results/STUDY/RUN [...]: writes README.md (the model card) in each")
    for run_dir in sys.argv[1:]:
        write_run_card(run_dir)
        print(f"wrote {os.path.join(run_dir, 'README.md')}")
