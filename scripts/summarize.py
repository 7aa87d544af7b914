#!/usr/bin/env python
"""Every results table of the README and of results/ (and their plots), from the filed results alone.

    python scripts/summarize.py            # writes results/README.md, results/<study>/README.md + plots, README.md's tables
    python scripts/summarize.py --check    # exit 1 naming every table that differs from what it would write (a test runs it)

Inputs: results/<study>/<run>/ (training_args.json, run.json, eval/<tag>/results.json: toolssm.experiments), the
shipped checkpoints' training_args.json (which run made each one: the same training output folder) and
benchmarks/results/h200/tool_loop_h200.json. Per run and split, each size shows the evaluation with the most problems
(ties: a complete evaluation over rows read from a console log). README.md's tables sit between
``<!-- summarize:NAME -->`` and ``<!-- /summarize:NAME -->``; everything else in it is written by hand.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from toolssm.experiments import checkpoint_step, is_filed_run, read_run, read_study  # noqa: E402
from toolssm.evaluation import EVAL_SPLITS  # noqa: E402

RESULTS = os.path.join(ROOT, "results")
Z = 1.959963984540054

#: studies filed before run tables existed (their runs came from one-off GPU scripts, see git history): the claim each tests
CLAIMS = {
    "addition": "Addition trained on 1-5 digits, tested to 1,000 digits: Mamba, LSTM, GRU and a Transformer, the paper's 2-pointer trace and toolssm's 3-pointer one, every seed.",
    "lockstep": "The lockstep addition trace (a stopped pointer keeps reading in place): exact on every valid input class, not only the test distribution; small and 130M-shape Mamba.",
    "table1": "The paper's Table 1 and Table 2 cells (n x 1 and n x 2 multiplication, logical graph, iterative and recursive Hanoi) at the small presets.",
    "multiplication": "Multiplication with toolssm's aligned trace (no walk ends ambiguously): n x 1 and n x 2 to 2,000 digits.",
    "ablations": "The paper's D.7 ablations (direct, reversed, single-turn calculator, no tool) and the hybrid Mamba-attention baseline, addition trained on 1-5 digits.",
    "mixture": "The paper's D.8 task mixture: n x 2 multiplication with auxiliary addition at weights 0-0.6, budgets 250 / 500 / final.",
    "stress": "Stress- and runs-split evaluations of the shipped checkpoints (the corners of each task's input space at each size; long runs of one digit).",
}
ARCH = {"mamba-small": "Mamba-1 4x256", "mamba-130m": "Mamba-1 130M shape", "mamba-tiny": "Mamba-1 tiny", "lstm-small": "LSTM 2x256",
        "gru-small": "GRU 2x256", "lstm": "LSTM 4x1536", "gru": "GRU 4x1536", "pythia-small": "Pythia-style 4x256",
        "mistral-small": "Mistral-style 4x256", "hybrid-small": "Hybrid Mamba-attention 4x256"}
FAMILY = {"mamba": "Mamba", "lstm": "LSTM", "gru": "GRU", "pythia": "Pythia", "mistral": "Mistral", "hybrid": "Hybrid"}
TRACE = {"tool": "paper (2 pointers)", "tool_p3": "3 pointers", "lockstep": "lockstep", None: "paper (2 pointers)"}
PAPER_TABLE1 = {  # the paper's Table 1 and Table 2 (best seed of 2; Hanoi: of 10 for Mamba and Pythia, of 3 for the others)
    "n×1": {"Mamba": "10→1K (100%)", "LSTM": "10→500 (100%)", "GRU": "10→500 (100%)", "Pythia": "10→20 (79%)", "Mistral": "10→13 (25%)"},
    "n×2": {"Mamba": "10→1K (100%)", "LSTM": "10→100 (100%)", "GRU": "10→100 (100%)", "Pythia": "10→14 (12%)", "Mistral": "10→20 (33%)"},
    "logical graph": {"Mamba": "10→1K (98%)", "LSTM": "10→1K (100%)", "GRU": "10→1K (100%)", "Pythia": "10→1K (5%)", "Mistral": "10→500 (9%)"},
    "Hanoi iterative": {"Mamba": "8→12 (49%)", "LSTM": "8→8 (100%)", "GRU": "8→8 (100%)", "Pythia": "8→8 (100%)", "Mistral": "8→8 (100%)"},
    "Hanoi recursive": {"Mamba": "7→8 (100%)", "LSTM": "7→9 (83%)", "GRU": "7→8 (100%)", "Pythia": "7→7 (100%)", "Mistral": "7→8 (87%)"},
}
FAMILIES = ["Mamba", "LSTM", "GRU", "Pythia", "Mistral"]


# --- reading ----------------------------------------------------------------------------------------------------------

def wilson(k: int, n: int) -> list[float]:
    if n == 0:
        return [0.0, 1.0]
    p = k / n
    d = 1 + Z * Z / n
    c = (p + Z * Z / (2 * n)) / d
    h = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / d
    return [max(0.0, c - h), min(1.0, c + h)]


def load_runs() -> list[dict]:
    runs = []
    for study in sorted(os.listdir(RESULTS)):
        if os.path.isdir(os.path.join(RESULTS, study)):
            runs += read_study(os.path.join(RESULTS, study))
    by_dir = {}
    for r in runs:
        r["training"] = training_of(r)
        # a shipped checkpoint's evaluations, filed under its name or under NAME--<what> (claimed_sizes' NAME--perclass)
        ckpt_args = os.path.join(ROOT, "checkpoints", shipped_name(r["name"]), "training_args.json")
        if r["args"] is None and os.path.exists(ckpt_args):  # a shipped checkpoint's evaluations (stress, push_length): its settings
            with open(ckpt_args) as f:
                r["training"] = training_of({"args": json.load(f), "evals": {}})
        out = (r["args"] or {}).get("train", {}).get("output_dir")
        if out:
            by_dir[out.rstrip("/")] = r
            by_dir[f"results/{r['study']}/{r['name']}"] = r  # --init_from a filed run (its weights carried to the GPU)
    for r in runs:
        r["speed"] = speed_of(r)
    def init_of(r: dict) -> str | None:
        init = ((r["args"] or {}).get("model") or {}).get("init_from")
        return init.rstrip("/") if init else None

    def start_of(r: dict) -> dict | None:
        """The run a continued run started from: another run's output folder, or a shipped checkpoint (the run that
        made it, named by its training_args.json)."""
        init = init_of(r)
        if not init:
            return None
        return by_dir.get(init) or (by_dir.get(made_by(os.path.join(ROOT, init)) or "") if init.startswith("checkpoints/") else None)

    starts = {id(r): start_of(r) for r in runs}

    def steps_of(r: dict, depth: int = 0) -> str:  # a continued run shows every stage: "a + b (+ c)" steps
        start = starts.get(id(r)) if depth < 8 else None
        if start:
            return f"{steps_of(start, depth + 1)} + {r['training']['steps']}"
        return f"? + {r['training']['steps']}" if init_of(r) else str(r["training"]["steps"] or "-")

    for r in runs:
        if starts[id(r)]:  # --init_from ignores --preset (left at its default): the model is the start run's
            r["training"]["preset"] = starts[id(r)]["training"]["preset"]
    for r in runs:
        r["steps"] = steps_of(r)
    return runs


def shipped_name(name: str) -> str:
    """The shipped checkpoint a filed run's name refers to: NAME for NAME and for NAME--<what> (a second job on it)."""
    return name.split("--", 1)[0]


def made_by(ckpt_dir: str) -> str | None:
    """The training output folder that made a checkpoint (its training_args.json's train.output_dir), or None."""
    path = os.path.join(ckpt_dir, "training_args.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        out = (json.load(f).get("train") or {}).get("output_dir")
    return out.rstrip("/") if out else None


def training_of(run: dict) -> dict:
    """preset, task, config, steps, batch, lr, seed of a run (from training_args.json, or what a console-only run's
    results.json states)."""
    a = run["args"]
    if a:
        # a run cut before its final save reads its settings from its newest checkpoint: its steps are that checkpoint's
        steps = checkpoint_step(run["args_from"]) if run.get("args_from") else a.get("steps_completed", a["train"]["max_steps"])
        return {"preset": a["model"]["preset"],
                "task": a["data"]["task"], "config": a["data"]["config"], "steps": steps,
                "max_steps": a["train"]["max_steps"], "batch": a["train"]["batch_size"], "lr": a["train"]["learning_rate"],
                "seed": a["train"]["seed"], "train_max_n": a["data"].get("train_max_n"), "stress_fraction": a["data"].get("stress_fraction") or 0,
                "stress_max_n": a["data"].get("stress_max_n"), "stress_family": a["data"].get("stress_family") or "stress",
                "hide_input": bool(a["data"].get("hide_input")), "loss_tokens": a["data"].get("loss_tokens") or "all"}
    for res in run["evals"].values():
        t = res.get("training")
        if t:
            return {"preset": t["preset"], "task": t["task"], "config": t["config"], "steps": None, "max_steps": t["max_steps"],
                    "batch": t["batch_size"], "lr": None, "seed": t["seed"], "train_max_n": None}
    first = next(iter(run["evals"].values()), {})
    return {"preset": None, "task": first.get("task"), "config": first.get("config"), "steps": None, "max_steps": None, "batch": None, "lr": None, "seed": None,
            "train_max_n": None}


def speed_of(run: dict) -> str:
    """'T tok/s, M min': the median trained tokens/s train.py logged and the wall minutes run.json records (what the
    run had of a GPU shared with the study's other runs; '-' where unknown)."""
    import statistics
    from datetime import datetime

    tps = [m["trained_tokens_per_s"] for m in run["metrics"] if "trained_tokens_per_s" in m]
    p = run["provenance"] or {}
    mins = None
    if p.get("program") == "train.py" and p.get("start") and p.get("end"):
        t = [datetime.strptime(p[k], "%Y-%m-%dT%H:%M:%S%z") for k in ("start", "end")]
        mins = (t[1] - t[0]).total_seconds() / 60
    return f"{statistics.median(tps) / 1e3:.1f}k" + (f", {mins:.1f}" if mins is not None else "") if tps else "-"


def checkpoint_of(tag: str) -> str | None:
    """'checkpoint-1000' for the evaluation tags of that checkpoint ('checkpoint-1000', 'checkpoint-1000-stress': one
    folder per split), None for the final model's."""
    m = re.match(r"^(checkpoint-\d+)(-|$)", tag)
    return m.group(1) if m else None


def last_step(run: dict) -> int:
    """The last step a run's training log (metrics.jsonl) reached."""
    return max((m.get("step", 0) for m in run["metrics"]), default=0)


def merged(run: dict, split: str = "test", checkpoint: str | None = None, hidden: bool | None = None) -> dict[int, dict]:
    """n -> the row of ``split`` with the most problems (ties: complete over console-log rows, then tag order), over the
    evaluations of the final model, or with ``checkpoint`` of that intermediate checkpoint (tags ``checkpoint-<step>``,
    ``checkpoint-<step>-<anything>``).
    Only evaluations made with the input as the run was trained (shown or hidden), or as ``hidden`` says: a run trained
    with the input shown and also evaluated hidden has two sets of results, never mixed per size."""
    if hidden is None:
        hidden = (run.get("training") or {}).get("hide_input")
    out = {}
    for tag in sorted(run["evals"]):
        res = run["evals"][tag]
        if (res.get("split") or "test") != split or (checkpoint_of(tag) != checkpoint if checkpoint else tag.startswith("checkpoint-")):
            continue
        if hidden is not None and bool(res.get("hide_input")) != hidden:
            continue
        for L in res["lengths"]:
            key = (L["num_samples"], L.get("source") != "console log")
            old = out.get(L["n"])
            if old is None or key > (old["num_samples"], old.get("source") != "console log"):
                row = dict(L, tag=tag)
                if not row.get("exact_match_ci"):
                    row["exact_match_ci"] = wilson(round(L["exact_match"] * L["num_samples"]), L["num_samples"])
                out[L["n"]] = row
    return dict(sorted(out.items()))


def arch_of(run: dict) -> str:
    p = run["training"]["preset"]
    return ARCH.get(p, p or "?")


def family_of(run: dict) -> str:
    p = run["training"]["preset"] or ""
    return FAMILY.get(p.split("-")[0], p)


# --- formatting -------------------------------------------------------------------------------------------------------

#: tasks scored by running what the model left behind (code fixing: the repaired program must print the reference fix's
#: output), not by matching the scripted agent's trajectory: their tables and plots show that success rate
#: (``answer_accuracy``), with the trajectory match beside it
EXECUTION_SCORED = {"code_fixing"}
CODE_FIXING_FIGURE = "code_fixing-pooled.png"  # the paper's Figure 1 (right) from our runs (code_fixing_pooled)


def cell(row: dict | None, task: str | None = None) -> str:
    if row is None:
        return "-"
    if task in EXECUTION_SCORED and row.get("answer_accuracy") is not None:
        k = row["num_samples"]
        return f"{round(row['answer_accuracy'] * k)}/{k} (trace {round(row['exact_match'] * k)})"
    return f"{row['exact_match']:.2f} ({row['num_samples']})"


def size(n: int) -> str:
    return f"{n // 1000}K" if n >= 1000 and n % 1000 == 0 else str(n)


def paper_notation(train_max: int, rows: dict[int, dict]) -> str:
    """n→m (p%): the largest evaluated m with exact match ≥ 5%, and that accuracy (the paper's Table 1 notation)."""
    ok = [r for r in rows.values() if r["exact_match"] >= 0.05]
    if not ok:
        return f"{train_max}→– (0%)"
    r = max(ok, key=lambda r: r["n"])
    return f"{train_max}→{size(r['n'])} ({100 * r['exact_match']:.0f}%, {r['num_samples']})"


def describe(rows: dict[int, dict], task: str | None = None) -> str:
    """'k/k at every size from a to b; then x/k at n, ...' for one run's rows of one split (for a task scored by
    execution: 'repaired k/n at n, ...')."""
    if not rows:
        return "not evaluated"
    ns = sorted(rows)
    if task in EXECUTION_SCORED:
        return "repaired " + ", ".join(f"{round(rows[n]['answer_accuracy'] * rows[n]['num_samples'])}/{rows[n]['num_samples']} at {n:,}" for n in ns)
    prefix = []
    for n in ns:
        if rows[n]["exact_match"] != 1.0:
            break
        prefix.append(n)
    parts = []
    if prefix:
        ks = sorted({rows[n]["num_samples"] for n in prefix})
        k = f"{ks[0]}" if len(ks) == 1 else f"{ks[0]}-{ks[-1]}"
        parts.append(f"exact at every size from {prefix[0]:,} to {prefix[-1]:,} ({k} problems each)" if len(prefix) > 1
                     else f"exact at {prefix[0]:,} ({k} problems)")
    rest = [n for n in ns if n not in prefix]
    if rest:
        parts.append(", ".join(f"{round(rows[n]['exact_match'] * rows[n]['num_samples'])}/{rows[n]['num_samples']} at {n:,}" for n in rest))
    return "; then ".join(parts)


def table(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows])


def failing_classes(rows: dict[int, dict]) -> str:
    """The stress classes that failed, per size: "20: `a_nines` 2/2; ...", or "20: all 8 classes" where none held
    (a Transformer past its training size fails every class: naming each says nothing more)."""
    bad = []
    for n, r in rows.items():
        classes = sorted((r.get("by_class") or {}).items())
        failed = [(cls, v) for cls, v in classes if v["exact"] < v["samples"]]
        if len(classes) > 2 and all(v["exact"] == 0 for _, v in classes):
            bad.append(f"{n:,}: all {len(classes)} classes")
            continue
        bad.extend(f"{n:,}: `{cls}` {v['samples'] - v['exact']}/{v['samples']}" for cls, v in failed)
    return "; ".join(bad) or "none"


def input_note(run: dict, rows: dict[int, dict]) -> str:
    """" (input hidden)" / " (input shown)" after a run's name in a study table where its evaluations were not made the
    way it runs by default (a shipped checkpoint's spec), or were made with the input hidden; "" otherwise."""
    modes = {bool(run["evals"][row["tag"]].get("hide_input")) for row in rows.values()}
    default = False
    if os.path.isdir(os.path.join(ROOT, "checkpoints", shipped_name(run["name"]))):
        from toolssm.modeling import read_tool_spec

        default = bool((read_tool_spec(os.path.join(ROOT, "checkpoints", shipped_name(run["name"]))) or {}).get("hide_input"))
    if modes == {True}:
        return " (input hidden)"
    if modes == {False}:
        return " (input shown)" if default else ""
    return " (input shown and hidden)"


# --- tables -----------------------------------------------------------------------------------------------------------

def study_readme(study: str, runs: list[dict], claim: str) -> tuple[str, list[dict]]:
    """results/<study>/README.md: every run, its settings and exact match per size (test, stress and runs splits), one table
    per task and split; and the plots those tables draw (one per task and split)."""
    lines = [f"# {study}", "", claim, "",
             "Generated by `python scripts/summarize.py` from the `results.json` files in this folder: exact match of the whole",
             "trajectory and answer, greedy decoding; in brackets the number of problems. Steps: the steps completed (\"a + b\":",
             "b steps continued from the run of a steps named in its training_args.json, a new optimizer and schedule).",
             "tok/s, min: the median trained tokens per second train.py logged and the run's wall minutes (from run.json,",
             "where it has them), on a GPU the study's runs shared.", ""]
    plots = []
    tasks = sorted({r["training"]["task"] or "?" for r in runs})
    for task in tasks:
        mine = [r for r in runs if (r["training"]["task"] or "?") == task]
        for split in EVAL_SPLITS:
            # per run: its final model as trained (input shown or hidden), then in the other input mode where it was
            # also evaluated so (a row of its own), then its intermediate checkpoints
            states = ([(r, None, None) for r in mine] + [(r, None, not r["training"]["hide_input"]) for r in mine if r["training"].get("hide_input") is not None]
                      + [(r, c, None) for r in mine for c in sorted({checkpoint_of(t) for t in r["evals"]} - {None})])
            states = sorted(((r, c, h, m) for r, c, h in states if (m := merged(r, split, c, h))), key=lambda s: (s[0]["name"], s[1] or "~", s[2] is not None))
            if not states:
                continue
            sel = [r for r, *_ in states]
            ns = sorted({n for *_, m in states for n in m})
            rows = []
            for r, c, _, m in states:
                t = r["training"]
                steps = c.split("-", 1)[1] if c else r["steps"]
                rows.append([f"`{r['name']}`" + (f" at {c}" if c else "") + input_note(r, m), arch_of(r),
                             (t["config"] or "default") + (f" + {t['stress_fraction']:.0%} {(t.get('stress_family') or 'stress').replace(',', ' + ')}" + (f" to {t['stress_max_n']}" if t.get("stress_max_n") else "")
                                                           if t.get("stress_fraction") else "")
                             + (f" (loss on {t['loss_tokens']} only)" if t.get("loss_tokens", "all") != "all" else ""), steps, str(t["batch"] or "-"),
                             str(t["lr"] or "-"), str(t["seed"] if t["seed"] is not None else "-"), r["speed"]] + [cell(m.get(n), task) for n in ns]
                            + ([failing_classes(m)] if split != "test" else []))
            unit = next((res.get("size_unit") for r in sel for res in r["evals"].values() if res.get("size_unit")), "n")
            header = ["run", "model", "config", "steps", "batch", "lr", "seed", "tok/s, min"] + [size(n) for n in ns] + (["failing classes"] if split != "test" else [])
            what = {"test": "the paper's distribution at each size", "stress": "the corners of the input space at each size",
                    "runs": "long runs of one digit at each size"}[split]
            png = f"{task}-{split}.png"
            metric = "answer_accuracy" if task in EXECUTION_SCORED else "exact_match"
            how = ([f"Cells: episodes whose repaired program runs and prints exactly the reference fix's output (the model as the agent in "
                    "the sandboxed shell), of the codebases evaluated; in brackets, episodes whose whole trajectory is the scripted "
                    "agent's.", ""] if metric == "answer_accuracy" else [])
            lines += [f"## {task}, {split} split ({what}; sizes in {unit})", "", *how, table(header, rows), "",
                      f"![{task}: {metric.replace('_', ' ')} against size, {split} split]({png})", ""]
            plots.append({"png": png, "metric": metric, "title": f"{study + ': ' if study != task else ''}{task}, {split} split", "results": [
                {"label": r["name"] + (f" at {c}" if c else "") + input_note(r, m), "task": task, "size_unit": unit, "lengths": list(m.values())}
                for r, c, _, m in states]})
    cut = unfinished_runs(os.path.join(RESULTS, study))
    if cut:
        lines += ["## Runs filed before their training ended", "",
                  "Folders with a training log and no weights, settings or evaluations: the files were packed while the run was",
                  "still training (a lease ended) or after its training failed. No table above uses them; the in-training",
                  "evaluation is train.py's own (`--eval-samples` problems a size).", "",
                  table(["run", "last step logged", "steps asked", "last in-training exact match", "started", "how it ended"], cut), ""]
    return "\n".join(lines), plots


def _how_it_ended(d: str) -> str:
    """'still training when packed' (no train.rc), or 'failed (exit N): <the log's last error line>'."""
    try:
        with open(os.path.join(d, "train.rc")) as f:
            rc = f.read().strip()
    except OSError:
        return "still training when packed"
    error = ""
    if os.path.exists(os.path.join(d, "train.log")):
        with open(os.path.join(d, "train.log"), errors="replace") as f:
            found = [line.strip() for line in f if re.match(r"^\w+(Error|Exception|Interrupt)\b", line.strip())]
        error = f": `{found[-1][:80]}`" if found else ""
    return f"failed (exit {rc}){error}" if rc != "0" else "trained (exit 0), no weights filed"


def unfinished_runs(folder: str) -> list[list[str]]:
    """Rows for the run folders of ``folder`` that read_study skips (no training_args.json, no eval/, no checkpoint) but that hold a
    training log (metrics.jsonl): runs packed before their training ended (2026-12-07: six table1_full runs cut by a
    lease's end, no weights). Per run: the last step logged, the steps its command asked for, its last in-training
    evaluation, and when it started."""
    rows = []
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        d = os.path.join(folder, name)
        metrics = os.path.join(d, "metrics.jsonl")
        if not os.path.isdir(d) or is_filed_run(d) or not os.path.exists(metrics):
            continue
        run = read_run(d)  # its metrics (a line cut by the packing skipped) and its newest run.json record
        records = run["metrics"]
        val = [r for r in records if any(k.startswith("val_exact_match") for k in r)]
        evaluation = ", ".join(f"n={k.rsplit('_n', 1)[1]}: {v:.2f}" for k, v in val[-1].items() if k.startswith("val_exact_match")) \
            + f" (step {val[-1]['step']})" if val else "-"
        asked = "-"
        if os.path.exists(os.path.join(d, "train.cmd")):
            m = re.search(r"--max[-_]steps[ =](\d+)", open(os.path.join(d, "train.cmd")).read())
            asked = m.group(1) if m else "-"
        start = (run["provenance"] or {}).get("start") or "-"
        rows.append([f"`{name}`", str(last_step(run)), asked, evaluation, start, _how_it_ended(d)])
    return rows


def checkpoint_sources(runs: list[dict], ckpt: str) -> tuple[dict | None, list[dict]]:
    """The shipped checkpoint ``ckpt``'s training run (or None) and its evaluations filed without training arguments
    under its own name or NAME--<what> (results/stress/, results/push_length/, results/hidden_input/,
    results/claimed_sizes/NAME--perclass): only the evaluations made the
    way the checkpoint runs by default (input shown, or hidden: ``hide_input`` in its spec and in each result)."""
    out_dir = made_by(os.path.join(ROOT, "checkpoints", ckpt))
    from toolssm.modeling import read_tool_spec

    hidden = bool((read_tool_spec(os.path.join(ROOT, "checkpoints", ckpt)) or {}).get("hide_input"))

    def same_mode(r):
        return dict(r, evals={t: e for t, e in r["evals"].items() if bool(e.get("hide_input")) == hidden},
                    training=dict(r.get("training") or {}, hide_input=hidden))  # merged(): the checkpoint's mode, not training's

    run = next((r for r in runs if r["args"] and r["args"].get("train", {}).get("output_dir", "").rstrip("/") == out_dir), None)
    # a job filed under the checkpoint's name, or under NAME--<what> (results/claimed_sizes/NAME--perclass)
    return (same_mode(run) if run else None), [same_mode(r) for r in runs if r["args"] is None and r["name"].split("--")[0] == ckpt]


def merged_over(sources: list[dict], split: str) -> dict[int, dict]:
    """:func:`merged` over several filed runs: per size the row with the most problems (ties: the earlier source)."""
    rows: dict[int, dict] = {}
    for r in sources:
        for n, row in merged(r, split).items():
            if n not in rows or row["num_samples"] > rows[n]["num_samples"]:
                rows[n] = row
    return dict(sorted(rows.items()))


def shipped_checkpoints(runs: list[dict]) -> list[tuple[str, dict, dict, dict, dict]]:
    """(checkpoint, its training run, test rows, stress rows, runs rows) for every folder in checkpoints/."""
    out = []
    for ckpt in sorted(os.listdir(os.path.join(ROOT, "checkpoints"))):
        run, extra = checkpoint_sources(runs, ckpt)
        sources = ([run] if run else []) + extra
        out.append((ckpt, run, merged_over(sources, "test"), merged_over(sources, "stress"), merged_over(sources, "runs")))
    return out


def readme_checkpoints(runs):
    from toolssm.tasks import task_class

    rows = []
    for ckpt, run, test, st, rn in shipped_checkpoints(runs):
        t = run["training"] if run else {}
        has_runs = bool(t.get("task") and getattr(task_class(t["task"]), "runs_classes", ()))
        rows.append([f"[`{ckpt}`](checkpoints/{ckpt})", arch_of(run) if run else "?", f"{t.get('task')} / {t.get('config') or 'default'}",
                     f"{run['steps']} steps" if run else "-", describe(test, t.get("task")), describe(st) if st else ("not evaluated" if t.get("task") not in EXECUTION_SCORED else "-"),
                     describe(rn) if rn else ("not evaluated" if has_runs else "-"),
                     f"[{run['study']}/{run['name']}](results/{run['study']}/{run['name']})" if run else "-"])
    return table(["checkpoint", "model", "task / config", "training", "test split", "stress split", "runs split", "run"], rows)


def readme_addition(runs):
    """Every addition run of the main trace comparison, grouped by model and trace: per size the runs' exact match in
    seed order."""
    sel = [r for r in runs if r["study"] in ("addition", "lockstep", "paper_scale") and r["training"]["task"] == "addition"]
    groups = {}
    for r in sel:
        groups.setdefault((arch_of(r), TRACE.get(r["training"]["config"], r["training"]["config"])), []).append(r)
    cols = [("test", 20), ("test", 100), ("test", 1000), ("stress", 100), ("stress", 1000)]
    order = list(ARCH.values())
    rows = []
    for (arch, trace), rs in sorted(groups.items(), key=lambda kv: (order.index(kv[0][0]) if kv[0][0] in order else 99, kv[0][1])):
        rs = sorted(rs, key=lambda r: (r["training"]["seed"] if r["training"]["seed"] is not None else 99, r["name"]))
        cells = []
        for split, n in cols:
            vals = [merged(r, split).get(n) for r in rs]
            if all(v is None for v in vals):
                cells.append("-")
                continue
            ks = {v["num_samples"] for v in vals if v}
            cells.append(" / ".join("-" if v is None else f"{v['exact_match']:.2f}" for v in vals) + (f" ({ks.pop()})" if len(ks) == 1 else
                         " (" + " / ".join("-" if v is None else str(v["num_samples"]) for v in vals) + ")"))
        steps = " / ".join(r["steps"] for r in rs)
        rows.append([arch, trace, str(len(rs)), steps] + cells)
    return table(["model", "trace", "runs", "steps (per run)", "test 20", "test 100", "test 1,000", "stress 100", "stress 1,000"], rows)


TABLE1_TASKS = [  # (row label, task, configs, train max)
    ("n×1", "multiplication", ("n_x_1",), 10), ("n×2", "multiplication", ("n_x_2",), 10),
    ("n×1, aligned trace", "multiplication", ("n_x_1_aligned",), 10), ("n×2, aligned trace", "multiplication", ("n_x_2_aligned",), 10),
    ("logical graph", "logical_graph", (None, "default"), 10),
    ("logical graph, value_lines trace", "logical_graph", ("value_lines",), 10), ("Hanoi iterative", "hanoi", ("iterative",), 8),
    ("Hanoi recursive", "hanoi", ("recursive",), 7)]


def table1_cells(runs):
    """(row, family) -> runs for the Table 1 grid (studies table1 and multiplication; the D.8 mixture and paper_scale apart)."""
    cells = {}
    for r in runs:
        if r["study"] not in ("table1", "multiplication"):  # the small presets; the 130M shape has its own table
            continue
        t = r["training"]
        for label, task, configs, _ in TABLE1_TASKS:
            if t["task"] == task and t["config"] in configs and (t["train_max_n"] in (None, 10) or task == "hanoi"):
                cells.setdefault((label, family_of(r)), []).append(r)
    return cells


FIRST_STAGES = ("n5", "copy")  # lr_variant tags of a curriculum's first stage (no Table 1 row of its own)


def lr_variant(r) -> str:
    """'' for a table1_full run of its cell's own recipe, else the variant's tag from the run's name: a learning rate
    ('lr5e-4'), the graph curriculum's second stage ('cur') or its first ('n5', trained on 4-5 nodes: no Table 1 row),
    the copy curriculum's second stage ('copycur') or its first ('copy', the loss on the names only: no Table 1 row),
    batches by length ('g8': train.py --group_by_length 8), the paper's model size ('paper': the 4 x 1536 LSTM)."""
    m = re.search(r"-(lr[0-9.e-]+|copycur|copy|cur|n5|g\d+|paper)-s\d+$", r["name"])
    return m.group(1) if m else ""


def variant_label(v: str) -> str:
    """The README row's words for a variation's tag."""
    if v == "cur":
        return "curriculum (1,000 steps on 4-5 nodes first)"
    if v == "copycur":
        return "copy curriculum (1,000 steps with the loss on the names only first)"
    if v == "paper":
        return "the paper's size (4 x 1536)"
    if re.fullmatch(r"g\d+", v):
        return f"batched by length ({v[1:]} steps' examples sorted)"
    return f"{v[:2]} {v[2:]}"


def full_budget_cells(runs, task: str, configs: tuple, train_max: int, variant: str = "") -> dict[str, str]:
    """family -> every seed of study table1_full (the paper's 2,000 steps) for one Table 1 row, in seed order: each
    evaluated seed's n→m (p%, k), the largest size it was evaluated at where that is short of the row's largest, its
    steps where short of its schedule; seeds trained but not evaluated are counted. ``variant`` selects the runs of
    one learning-rate variation ('lr5e-4') instead of the cell's own."""
    by_fam: dict[str, list] = {}
    for r in runs:
        t = r["training"]
        if r["study"] == "table1_full" and t["task"] == task and t["config"] in configs and lr_variant(r) == variant:
            by_fam.setdefault(family_of(r), []).append(r)
    def rows_and_cut(r):
        """The final model's rows; for a run cut before its final save (a lease's end), its newest evaluated
        checkpoint's, with that checkpoint's name."""
        rows = merged(r)
        if rows or not r.get("args_from"):
            return rows, None
        ckpts = sorted({checkpoint_of(t) for t in r["evals"]} - {None}, key=checkpoint_step)
        return (merged(r, checkpoint=ckpts[-1]), ckpts[-1]) if ckpts else ({}, None)

    rows_of = {id(r): rows_and_cut(r) for rs in by_fam.values() for r in rs}
    largest = max((n for rows, _ in rows_of.values() for n in rows), default=0)  # the row's largest size evaluated
    out = {}
    for fam, rs in by_fam.items():
        parts, unevaluated = [], 0
        for r in sorted(rs, key=lambda r: r["training"].get("seed") or 0):
            rows, cut = rows_of[id(r)]
            if not rows and r.get("args_from"):  # cut by a lease, its checkpoint not evaluated (yet)
                parts.append(f"s{r['training'].get('seed')}: not evaluated [cut at {last_step(r)} of {r['training']['max_steps']}]")
                continue
            if not rows:
                unevaluated += 1
                continue
            note = paper_notation(train_max, rows)
            if max(rows) < largest:
                note += f", evaluated to {size(max(rows))}"
            t = r["training"]
            if cut:  # say it plainly: this seed's cell is an intermediate checkpoint of a run the lease cut
                parts.append(f"s{t.get('seed')}: {note} [step {checkpoint_step(cut)} of {t['max_steps']}, cut at {last_step(r)}]")
                continue
            parts.append(f"s{t.get('seed')}: {note}" + (f" [{r['steps']}]" if t["steps"] != t["max_steps"] else ""))
        if unevaluated:
            parts.append(f"{unevaluated}{' more' if parts else ''} trained, not evaluated")
        out[fam] = "; ".join(parts)
    return out


def readme_table1(runs):
    cells = table1_cells(runs)
    rows = []
    for label, task, configs, tm in TABLE1_TASKS:
        ours = []
        for fam in FAMILIES:
            rs = cells.get((label, fam), [])
            if not rs:
                ours.append("-")
                continue
            scored = [(paper_notation(r["training"]["train_max_n"] or tm, merged(r)), r) for r in rs]

            def key(item):
                m = re.search(r"→(\S+) \((\d+)%", item[0])
                top = 0 if m.group(1) == "–" else int(m.group(1).replace("K", "000"))
                return (top, int(m.group(2)))

            best = max(scored, key=key)
            note = f" [{best[1]['steps']}]" + (f", best of {len(rs)} runs" if len(rs) > 1 else "")
            ours.append(best[0] + note)
        if any(c != "-" for c in ours):  # a trace of our own (value_lines) has no run of the earlier table1 study
            rows.append([f"{label}, ours"] + ours)
        full = full_budget_cells(runs, task, configs, tm)
        if full:
            rows.append([f"{label}, 2,000 steps"] + [full.get(fam, "-") for fam in FAMILIES])
        variants = sorted({lr_variant(r) for r in runs if r["study"] == "table1_full" and r["training"]["task"] == task
                           and r["training"]["config"] in configs} - {""})
        for v in [v for v in variants if v not in FIRST_STAGES]:  # a curriculum's first stage is no Table 1 cell
            var = full_budget_cells(runs, task, configs, tm, variant=v)
            rows.append([f"{label}, 2,000 steps, {variant_label(v)}"] + [var.get(fam, "-") for fam in FAMILIES])
        base = label.split(",")[0]
        if base in PAPER_TABLE1 and "trace" not in label:  # the paper's numbers are for its own traces
            rows.append([f"{label}, paper"] + [f"*{PAPER_TABLE1[base][f]}*" for f in FAMILIES])
    return table(["task"] + FAMILIES, rows)


def readme_ablations(runs):
    sel = [r for r in runs if r["study"] == "ablations"]
    ns = sorted({n for r in sel for n in merged(r)})
    rows = [[f"`{r['name']}`", arch_of(r), r["training"]["config"] or "tool", r["steps"]] + [cell(merged(r).get(n)) for n in ns] for r in sel]
    return table(["run", "model", "trace", "steps"] + [size(n) for n in ns], rows)


def readme_speed():
    with open(os.path.join(ROOT, "benchmarks", "results", "h200", "tool_loop_h200.json")) as f:
        rows = json.load(f)["rows"]
    out = []
    for r in rows:
        out.append([ARCH.get(r["preset"], r["preset"]), str(r["digits"]), str(r["batch"]), f"**{r['new_loop_tok_s']:,.0f}**",
                    f"{r['previous_loop_tok_s']:,.0f}", f"{r['hf_generate_no_tools_tok_s']:,.0f}", f"{r['floor_tok_s']:,.0f}"])
    return table(["model", "digits", "batch", "tool loop (tok/s)", "model forward + cache", "HF generate, no tools", "byte floor"], out)


def code_fixing_pooled(runs) -> list[dict]:
    """Per model family and trace kind of results/code_fixing: every run's test evaluations pooled per size (successes
    and codebases summed over seeds and reruns), with the Wilson interval of the pooled rate: the paper's Figure 1
    (right) from our runs. Each dict is eval.py-shaped for plot_results, with the runs behind it."""
    groups: dict[tuple, list] = {}
    for r in runs:
        if r["study"] == "code_fixing" and r["training"]["task"] == "code_fixing":
            groups.setdefault((family_of(r), r["training"]["config"] or "default"), []).append(r)
    out = []
    for (fam, config), rs in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        ks: dict[int, list[int]] = {}
        for r in rs:
            for n, row in merged(r).items():
                k = ks.setdefault(n, [0, 0])
                k[0] += round(row["answer_accuracy"] * row["num_samples"])
                k[1] += row["num_samples"]
        lengths = [{"n": n, "answer_accuracy": a / b, "answer_accuracy_ci": wilson(a, b), "successes": a, "num_samples": b}
                   for n, (a, b) in sorted(ks.items())]
        out.append({"label": f"{fam}, {config.replace('_', '-')} ({len(rs)} runs)", "family": fam, "config": config, "runs": rs,
                    "task": "code_fixing", "size_unit": "functions", "train_max_n": max(r["training"]["train_max_n"] or 16 for r in rs),
                    "lengths": lengths})
    return out


def readme_code_fixing(runs):
    """README's code-fixing table: per model and trace kind, the pooled success per size with its 95% interval, every
    run behind it with its seed, steps and final training loss."""
    pooled = code_fixing_pooled(runs)
    ns = sorted({L["n"] for g in pooled for L in g["lengths"]})
    rows = []
    for g in pooled:
        by_n = {L["n"]: L for L in g["lengths"]}
        runs_txt = "; ".join(f"s{r['training']['seed']}{' rerun' if r['name'].endswith('-rerun') else ''} {r['steps']} steps, loss "
                             + next((f"{m['loss']:.3f}" for m in reversed(r["metrics"]) if "loss" in m), "-") for r in g["runs"])
        rows.append([g["family"], g["config"].replace("_", "-"), runs_txt]
                    + [f"{by_n[n]['successes']}/{by_n[n]['num_samples']} [{by_n[n]['answer_accuracy_ci'][0]:.2f}, "
                       f"{by_n[n]['answer_accuracy_ci'][1]:.2f}]" if n in by_n else "-" for n in ns])
    return table(["model", "trace", "runs (seed, steps, final loss)"] + [str(n) for n in ns], rows)


README_TABLES = {"checkpoints": readme_checkpoints, "addition": readme_addition, "table1": readme_table1,
                 "ablations": readme_ablations, "code_fixing": readme_code_fixing, "speed": lambda runs: readme_speed()}


JOB_README_MARK = "<!-- generated by scripts/summarize.py from each job's run.json -->"


def job_studies(runs) -> list[str]:
    """The study folders of results/ that hold no training or evaluation run (test suites, benchmarks, evaluations
    that have not filed a result yet): their folders are jobs."""
    with_runs = {r["study"] for r in runs}
    return sorted(d for d in os.listdir(RESULTS) if os.path.isdir(os.path.join(RESULTS, d)) and d not in with_runs)


def _first_paragraph(path: str) -> str:
    """The first paragraph of prose of a hand-written README (its claim), cut at its first sentence past 200
    characters, or ''."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return ""
    for para in text.split("\n\n"):
        para = " ".join(line.strip() for line in para.splitlines())
        if para and not para.startswith(("#", "<!--", "|", "!", "```")):
            end = para.find(". ", 200)
            return para if end < 0 else para[:end + 1]
    return ""


def job_study_readme(study: str, claim: str) -> str:
    """results/<study>/README.md for a study of jobs only: per job its exit status, start and end, the command and
    the files it filed (from its run.json)."""
    folder = os.path.join(RESULTS, study)
    lines = [f"# {study}", "", claim, "", JOB_README_MARK,
             "Jobs of this study (commands that are not training runs: `bash scripts/gpu/run.sh " + study + "`), each from the newest",
             "record of its `run.json`; exit status 124 is the job's own timeout. A job's other files are its results.", "",
             "| job | exit status | start | end | files | command |", "|---|---|---|---|---|---|"]
    for name in sorted(os.listdir(folder)):
        d = os.path.join(folder, name)
        if not os.path.isdir(d):
            continue
        try:
            with open(os.path.join(d, "run.json")) as f:
                rec = (json.load(f).get("runs") or [{}])[-1]
        except (OSError, ValueError):
            rec = {}
        argv = rec.get("argv") or []
        cmd = argv[2] if len(argv) > 2 and argv[:2] == ["bash", "-c"] else " ".join(map(str, argv))
        cmd = cmd if len(cmd) <= 100 else cmd[:97] + "..."
        files = sorted(os.path.relpath(os.path.join(b, f), d) for b, _, fs in os.walk(d) for f in fs
                       if f not in ("run.json", "job.cmd", "job.rc", "README.md"))
        shown = ", ".join(f"[{f}]({name}/{f})" for f in files[:6]) + (f" (+{len(files) - 6})" if len(files) > 6 else "")
        status = rec.get("exit_status", "running or lost" if rec else "-")
        lines.append(f"| `{name}` | {status} | {rec.get('start', '-')} | {rec.get('end', '-')} | {shown or '-'} | `{cmd.replace('|', '/')}` |")
    return "\n".join(lines) + "\n"


def results_index(runs) -> str:
    from toolssm.experiments import load_study, studies

    planned = set(studies())
    lines = ["# Results", "",
             "Every run filed by study: `results/<study>/<run>/` holds `run.json` (what produced it: commit, command, device,",
             "versions, times, the GPU job), `training_args.json`, `metrics.jsonl` and `eval/<tag>/results.json`. Tables and plots",
             "here are generated by `python scripts/summarize.py` from those files alone (`--check` verifies them; a test does).",
             "Studies with a run table in `experiments/` rerun with `bash scripts/gpu/run.sh STUDY` on a GPU machine; the older",
             "ones were filed from one-off GPU scripts (git history), and each run's `run.json` names its command.", "",
             "| study | claim | runs | run table |", "|---|---|---|---|"]
    for study in sorted({r["study"] for r in runs}):
        claim = load_study(study).claim if study in planned else CLAIMS.get(study, "")
        n = sum(r["study"] == study for r in runs)
        lines.append(f"| [{study}]({study}/README.md) | {claim} | {n} | {f'[experiments/{study}.py](../experiments/{study}.py)' if study in planned else '-'} |")
    jobs = job_studies(runs)
    if jobs:
        lines += ["", "Studies of jobs (test suites, benchmarks, parity checks; evaluations that have filed no result yet):", "",
                  "| study | what | jobs | run table |", "|---|---|---|---|"]
        for study in jobs:
            claim = load_study(study).claim if study in planned else _first_paragraph(os.path.join(RESULTS, study, "README.md"))
            n = sum(os.path.isdir(os.path.join(RESULTS, study, d)) for d in os.listdir(os.path.join(RESULTS, study))) or "-"
            link = f"[{study}]({study}/README.md)" if os.path.exists(os.path.join(RESULTS, study, "README.md")) or study in planned else f"[{study}]({study}/)"
            lines.append(f"| {link} | {claim} | {n} | {f'[experiments/{study}.py](../experiments/{study}.py)' if study in planned else '-'} |")
    lines += ["", "## Weights", "",
              "Weights are not filed here (a 1.8M-parameter model is 7 MB; the 130M shape 360 MB). The models that README claims",
              "rest on are released in `checkpoints/` with their cards; every other run is reproduced from its `training_args.json`",
              "(`python train.py` with those arguments; item streams are deterministic in the data seed) or, for a study with a run",
              "table, `bash scripts/gpu/run.sh STUDY RUN`. A run's model card is `results/STUDY/RUN/README.md` where it has one:",
              "`launch.py unpack` writes it from the run's filed files (the launcher files `config.json` too since 2026-12-02);",
              "`python -m toolssm.cards results/STUDY/RUN` writes one for an older run (the 130M-shape runs have theirs).", ""]
    return "\n".join(lines)


# --- writing ----------------------------------------------------------------------------------------------------------

def render_all(runs) -> dict[str, str]:
    """path -> text of every generated markdown file (README.md with its tables replaced)."""
    from toolssm.experiments import load_study, studies

    planned = set(studies())
    out = {os.path.join(RESULTS, "README.md"): results_index(runs)}
    for study in sorted({r["study"] for r in runs}):
        claim = load_study(study).claim if study in planned else CLAIMS.get(study, "")
        text, _ = study_readme(study, [r for r in runs if r["study"] == study], claim)
        out[os.path.join(RESULTS, study, "README.md")] = text
    for study in job_studies(runs):  # a generated README for a planned study of jobs, never over a hand-written one
        path = os.path.join(RESULTS, study, "README.md")
        hand_written = os.path.exists(path) and JOB_README_MARK not in open(path).read()
        if study in planned and not hand_written:
            out[path] = job_study_readme(study, load_study(study).claim)
    path = os.path.join(ROOT, "README.md")
    readme = open(path).read()
    for name, fn in README_TABLES.items():
        start, end = f"<!-- summarize:{name} -->", f"<!-- /summarize:{name} -->"
        if start in readme:
            readme = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda m: f"{start}\n{fn(runs)}\n{end}", readme, flags=re.S)
    out[path] = readme
    return out


def write_plots(runs) -> None:
    from toolssm.evaluation import plot_results

    for study in sorted({r["study"] for r in runs}):
        _, plots = study_readme(study, [r for r in runs if r["study"] == study], "")
        for p in plots:
            plot_results(p["results"], os.path.join(RESULTS, study, p["png"]), metric=p.get("metric", "exact_match"), title=p["title"])
    pooled = code_fixing_pooled(runs)
    if pooled:
        plot_results(pooled, os.path.join(RESULTS, "code_fixing", CODE_FIXING_FIGURE), metric="answer_accuracy",
                     title="code fixing, seeds pooled (95% intervals)")


def checkpoint_evaluations(runs: list[dict], ckpt: str, split: str) -> dict | None:
    """Every filed evaluation of the shipped checkpoint ``ckpt`` on ``split`` merged into one eval.py-shaped result:
    per size the row with the most problems (from its training run and from results/stress/, results/push_length/)."""
    run, extra = checkpoint_sources(runs, ckpt)
    sources = ([run] if run else []) + extra
    rows, first, stop = merged_over(sources, split), None, False
    for r in sources:
        for tag, res in r["evals"].items():
            if any(row.get("tag") == tag for row in rows.values()) and (res.get("split") or "test") == split:
                first = first or res
                stop |= bool(res.get("stop_at_divergence"))
    if not rows:
        return None
    filled = [dict({"answer_accuracy": row["exact_match"], "answer_accuracy_ci": row["exact_match_ci"], "token_accuracy": None,
                    "token_accuracy_ci": None, "tokens_per_sample": float("nan")}, **{k: v for k, v in row.items() if v is not None or k == "token_accuracy"})
              for row in rows.values()]
    return {"task": first["task"], "config": first.get("config"), "eval_seed": first.get("eval_seed", 0), "stop_at_divergence": stop,
            "hide_input": bool(first.get("hide_input")),
            "label": first.get("label"), "architecture": first.get("architecture"), "train_max_n": first.get("train_max_n"),
            "size_unit": first.get("size_unit"), "lengths": filled}


def refresh_cards(runs: list[dict], names: list[str]) -> None:
    """Rewrite the named checkpoints' results and stress tables, model-index and plot from every evaluation filed
    under results/ (the stress section's hand-written note is kept)."""
    import re

    from toolssm.cards import FAMILY_TEXT, family_markers, write_model_card, write_stress_section
    from toolssm.evaluation import plot_results

    for ckpt in names:
        d = os.path.join(ROOT, "checkpoints", ckpt)
        if not os.path.isdir(d):
            raise SystemExit(f"--cards: no checkpoint {ckpt!r} in checkpoints/")
        test = checkpoint_evaluations(runs, ckpt, "test")
        if test:
            plot_results([test], os.path.join(d, "accuracy_vs_length.png"),
                         metric="answer_accuracy" if test.get("task") in EXECUTION_SCORED else "exact_match")
            write_model_card(d, dict(test, plot="accuracy_vs_length.png"))
        sizes = {}
        for family in FAMILY_TEXT:
            ev = checkpoint_evaluations(runs, ckpt, family)
            sizes[family] = [r["n"] for r in (ev or {}).get("lengths", [])]
            if ev:
                start, end = family_markers(family)
                opening = FAMILY_TEXT[family][0].split("(")[0].strip()
                text = open(os.path.join(d, "README.md")).read()
                m = re.search(re.escape(start) + r"\n(.*?)\n\n" + re.escape(opening) + r" \(", text, re.S)
                write_stress_section(d, ev, note=m.group(1) if m and end not in m.group(1) else "", family=family)
        print(f"refreshed checkpoints/{ckpt}/README.md: test sizes {[r['n'] for r in (test or {}).get('lengths', [])]}, "
              + ", ".join(f"{f} sizes {v}" for f, v in sizes.items()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if a generated file differs")
    ap.add_argument("--no-plots", action="store_true", help="tables only")
    ap.add_argument("--cards", help="also rewrite these shipped checkpoints' card tables and plots from results/ (comma-separated names)")
    args = ap.parse_args(argv)
    runs = load_runs()
    if args.cards and not args.check:
        refresh_cards(runs, [c for c in args.cards.split(",") if c])
    texts = render_all(runs)
    if args.check:
        stale = [p for p, t in texts.items() if not os.path.exists(p) or open(p).read() != t]
        for p in stale:
            print(f"stale: {os.path.relpath(p, ROOT)} (run python scripts/summarize.py)")
        return 1 if stale else 0
    for p, t in texts.items():
        with open(p, "w") as f:
            f.write(t)
    if not args.no_plots:
        write_plots(runs)
    print(f"wrote {len(texts)} files from {len(runs)} runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
