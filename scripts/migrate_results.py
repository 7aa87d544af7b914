#!/usr/bin/env python
"""One-off: re-file results/ from the layout by GPU job (results/table1/call1 ... call8, cpu/, addition/seeds, ...) into
the layout by study and run that scripts/launch.py writes (results/<study>/<run>/: run.json, training_args.json,
metrics.jsonl, eval/<tag>/results.json). Kept in the repo as the record of how every migrated file was made.

    python scripts/migrate_results.py --out results.new   # then results.new replaces the migrated folders

What it does, per old run folder (one holding training_args.json):
- study and run name from where the run was filed (MAP below); runs of one name filed by several jobs keep the name
  and get the job's output folder as a suffix (hanoi-it-mamba-s0--s5b);
- training_args.json and metrics.jsonl copied; run.json copied where it exists, else made from the job's
  commands.txt line that trained this run (program, argv, the job's folder as ``job``, ``migrated_from``);
- every evaluation folder with a results.json becomes eval/<tag>/results.json (tag: the folder name without its
  ``eval`` prefix; ``eval`` alone is ``test``), with ``migrated_from``; CPU evaluations filed apart
  (results/table1/cpu/<run>[-N]) join the run they evaluated;
- evaluation rows that exist only in a console log (an eval.py stopped by its timeout before writing its JSON) are
  converted one last time, as the old summary scripts read them: eval/log/results.json, every row marked
  ``"source": "console log"`` and ``complete: false``; the sample count comes from the job's eval command.
Stress-split evaluations of shipped checkpoints (results/stress/<checkpoint>/) become study ``stress``, one run per
checkpoint, without training files. Figures, logs, commands files and hand-written READMEs are not carried over
(git history keeps them); scripts/summarize.py rebuilds every table and plot.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shlex
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOG_LINE = re.compile(r"n=(\d+): exact ([\d.]+) \[([\d.e-]+), ([\d.e-]+)\], answer ([\d.]+), token (\S+), (\d+) tok/sample")

# old folder (relative to results/) -> study; run names: the folder's name, except where a function says otherwise
MAP = [
    ("ablations/*", "ablations", lambda job, name: f"abl-{name}-lstm"),
    ("addition/*/*", "addition", lambda job, name: f"{os.path.basename(job)}-{name}"),
    ("lockstep/*", "lockstep", None),
    ("multiplication/aligned/*", "multiplication", None),
    ("multiplication/*", "multiplication", None),
    ("table1/call*/abl-*", "ablations", None),
    ("table1/call*/hybrid-*", "ablations", None),
    ("table1/call*/mix-*", "mixture", None),
    ("table1/call*/*", "table1", None),
]


def tracked(path: str) -> set[str]:
    out = subprocess.run(["git", "ls-files", path], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return set(out)


def tag_of(folder: str) -> str:
    t = re.sub(r"^eval[-_]?", "", os.path.basename(folder)).replace("_", "-")
    return t or "test"


def command_of(job_dir: str, output_dir: str, program: str = "train.py") -> list[str] | None:
    """The job's commands.txt line that ran ``program`` into ``output_dir``."""
    for f in (os.path.join(job_dir, "commands.txt"), os.path.join(os.path.dirname(job_dir), "commands.txt")):
        if not os.path.exists(f):
            continue
        for line in open(f, errors="replace"):
            line = line.strip().lstrip("+ ").strip()
            if program in line and re.search(r"--output_dir\s+" + re.escape(output_dir.rstrip("/")) + r"/?(\s|$)", line):
                try:
                    return shlex.split(line)
                except ValueError:
                    return line.split()
    return None


def log_rows(job_dir: str, name: str) -> list[dict]:
    """Rows of <job>/<name>.eval.log (eval.py's console lines), with the sample count of the eval command in the job's
    commands.txt that listed that size (the rule of the old scripts/table1_summary.py and results_table.py)."""
    log = os.path.join(job_dir, f"{name}.eval.log")
    cmds = os.path.join(job_dir, "commands.txt")
    if not os.path.exists(log) or not os.path.exists(cmds):
        return []
    by_n, default = {}, None
    for c in open(cmds, errors="replace"):
        if "eval.py" in c and f"/{name} " in c:
            k = re.search(r"--num-samples (\d+)", c)
            lengths = re.search(r"--lengths (\S+)", c)
            if k and lengths:
                for n in lengths.group(1).split(","):
                    by_n.setdefault(int(n), int(k.group(1)))
            elif k:
                default = default or int(k.group(1))
    rows = []
    for line in open(log, errors="replace"):
        g = LOG_LINE.search(line)
        if not g:
            continue
        n, em, lo, hi, ans, tok, tps = g.groups()
        k = by_n.get(int(n), default)
        if not k:
            continue
        rows.append({"n": int(n), "num_samples": k, "exact_match": float(em), "exact_match_ci": [float(lo), float(hi)],
                     "answer_accuracy": float(ans), "answer_accuracy_ci": None, "token_accuracy": None if tok == "None" else float(tok),
                     "tokens_per_sample": int(tps), "source": "console log"})
    return rows


def write_json(path: str, obj) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def migrate_run(old: str, study: str, name: str, out: str, files: set[str]) -> dict:
    """One old run folder -> out/<study>/<name>/; returns {tag: n rows} for the report."""
    new = os.path.join(out, study, name)
    os.makedirs(new, exist_ok=True)
    args = json.load(open(os.path.join(old, "training_args.json")))
    shutil.copy(os.path.join(old, "training_args.json"), os.path.join(new, "training_args.json"))
    if os.path.join(old, "metrics.jsonl") in files:
        shutil.copy(os.path.join(old, "metrics.jsonl"), os.path.join(new, "metrics.jsonl"))
    job_dir = os.path.dirname(old)
    rel_old = os.path.relpath(old, ROOT)
    if os.path.join(old, "run.json") in files:
        run = json.load(open(os.path.join(old, "run.json")))
    else:
        output_dir = args["train"]["output_dir"]
        run = {"runs": [{"program": "train.py", "argv": command_of(job_dir, output_dir), "job": os.path.relpath(job_dir, ROOT),
                         "study": study, "run": name, "seed": args["train"]["seed"], "device_output_dir": output_dir,
                         "migrated_from": rel_old, "note": "filed before train.py wrote run.json: argv is the job's commands.txt line"}]}
    for r in run["runs"]:
        r.setdefault("study", study)
        r.setdefault("run", name)
        r.setdefault("migrated_from", rel_old)
    write_json(os.path.join(new, "run.json"), run)
    report = {}
    evals = sorted({os.path.dirname(f) for f in files if f.startswith(rel_old + "/") and f.endswith("/results.json")})
    for ev in evals:
        if os.path.dirname(ev) != rel_old:
            continue  # only the run's own evaluation folders
        res = json.load(open(os.path.join(ROOT, ev, "results.json")))
        tag = tag_of(ev)
        res["migrated_from"] = ev + "/results.json"
        write_json(os.path.join(new, "eval", tag, "results.json"), res)
        report[tag] = len(res["lengths"])
    seen = {L["n"] for t in report for L in json.load(open(os.path.join(new, "eval", t, "results.json")))["lengths"]}
    rows = [r for r in log_rows(job_dir, os.path.basename(old)) if r["n"] not in seen]
    if rows:
        task = args["data"]["task"]
        write_json(os.path.join(new, "eval", "log", "results.json"), {
            "task": task, "config": args["data"]["config"], "split": "test", "checkpoint": args["train"]["output_dir"],
            "complete": False, "stop_at_divergence": True, "lengths": rows,
            "migrated_from": os.path.relpath(os.path.join(job_dir, os.path.basename(old) + ".eval.log"), ROOT),
            "note": "rows eval.py printed before its timeout stopped it, read from its console log",
        })
        report["log"] = len(rows)
    return report


def console_only_runs(out: str) -> int:
    """results/addition/run_a_console.md: five runs whose archive never came back (32 MB over the 16 MB limit), known
    only from the console lines copied there; filed as addition/early-<name> with results.json rows marked
    ``"source": "console log"`` and the settings that file states (no training_args.json exists for them)."""
    path = os.path.join(ROOT, "results", "addition", "run_a_console.md")
    text = open(path).read()
    presets = {"lstm": "lstm-small", "mamba": "mamba-small", "pythia": "pythia-small"}
    n = 0
    for line in text.splitlines():
        m = re.match(r"runs/addition/(\w+)-s(\d) (.*)", line)
        if not m:
            continue
        arch, seed, rest = m.group(1), int(m.group(2)), m.group(3)
        rows = [{"n": int(a), "num_samples": 32, "exact_match": float(b), "source": "console log"}
                for a, b in re.findall(r"n=(\d+): (?:exact )?([\d.]+)", rest)]
        name = f"early-{arch}-small-s{seed}"
        training = {"preset": presets[arch], "task": "addition", "config": "tool", "max_steps": 2000, "batch_size": 64, "seed": seed,
                    "path": "mambapy" if arch == "mamba" else None}
        write_json(os.path.join(out, "addition", name, "eval", "log", "results.json"), {
            "task": "addition", "config": "tool", "split": "test", "complete": False, "stop_at_divergence": True, "lengths": rows,
            "training": training, "migrated_from": "results/addition/run_a_console.md",
            "note": "console lines of a run whose files never came back; training settings as that file states them"})
        write_json(os.path.join(out, "addition", name, "run.json"), {"runs": [{
            "program": "train.py", "argv": None, "job": "scripts/gpu/addition_train.sh (2026-11-28)", "study": "addition", "run": name,
            "seed": seed, "training": training, "migrated_from": "results/addition/run_a_console.md"}]})
        n += 1
    return n


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(ROOT, "results.new"))
    args = p.parse_args(argv)
    files = tracked("results")
    res = os.path.join(ROOT, "results")
    run_dirs = sorted(os.path.dirname(f) for f in files if f.endswith("/training_args.json") and "/weights/" not in f
                      and "/checkpoint-" not in f and not f.startswith("results/paper_scale/"))
    placed = {}
    for d in run_dirs:
        rel = os.path.relpath(d, "results")
        for pattern, study, namer in MAP:
            if re.fullmatch(pattern.replace("*", "[^/]+"), rel):
                name = namer(os.path.dirname(rel), os.path.basename(rel)) if namer else os.path.basename(rel)
                placed.setdefault((study, name), []).append(d)
                break
        else:
            raise SystemExit(f"no study for {d}")
    shutil.rmtree(args.out, ignore_errors=True)
    total = 0
    for (study, name), dirs in sorted(placed.items()):
        for d in dirs:
            final = name
            if len(dirs) > 1:  # the same name filed by several jobs: the job's device output folder tells them apart
                out_dir = json.load(open(os.path.join(ROOT, d, "training_args.json")))["train"]["output_dir"]
                final = f"{name}--{os.path.basename(os.path.dirname(out_dir.rstrip('/')))}"
            report = migrate_run(os.path.join(ROOT, d), study, final, args.out, files)
            total += 1
            print(f"{d} -> {study}/{final}: " + ", ".join(f"{t} ({k})" for t, k in report.items()))
    # CPU evaluations filed apart, joined to the run they evaluated (results/table1/cpu/<run>[-N]/results.json)
    by_name = {name: (study, name) for (study, name), dirs in placed.items() if len(dirs) == 1}
    for f in sorted(f for f in files if f.startswith("results/table1/cpu/") and f.endswith("/results.json")):
        folder = os.path.basename(os.path.dirname(f))
        m = re.fullmatch(r"(.+?)(-\d+)?", folder)
        key = m.group(1) if m.group(1) in by_name else folder
        study, name = by_name[key]
        tag = "cpu" + (m.group(2) or "") if key == m.group(1) else "cpu"
        r = json.load(open(os.path.join(ROOT, f)))
        r["migrated_from"] = f
        write_json(os.path.join(args.out, study, name, "eval", tag, "results.json"), r)
        print(f"{f} -> {study}/{name}/eval/{tag}")
    # stress evaluations of shipped checkpoints
    for f in sorted(f for f in files if f.startswith("results/stress/") and f.endswith(".json") and "results" in os.path.basename(f)):
        ckpt = f.split("/")[2]
        base = os.path.basename(f)[: -len(".json")]
        tag = "stress" + base[len("results"):]
        r = json.load(open(os.path.join(ROOT, f)))
        r["migrated_from"] = f
        write_json(os.path.join(args.out, "stress", ckpt, "eval", tag, "results.json"), r)
        write_json(os.path.join(args.out, "stress", ckpt, "run.json"), {"runs": [{
            "program": "eval.py", "checkpoint": f"checkpoints/{ckpt}", "study": "stress", "run": ckpt, "migrated_from": os.path.dirname(f),
            "note": "stress-split evaluations of a shipped checkpoint (no training in this study)"}]})
        print(f"{f} -> stress/{ckpt}/eval/{tag}")
    total += console_only_runs(args.out)
    print(f"{total} runs migrated into {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
