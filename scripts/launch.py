#!/usr/bin/env python
"""The one launcher: run a study's table (experiments/<study>.py), evaluate what it trained, pack and file the results.

    python scripts/launch.py list paper_scale                # the runs and the exact commands they will run
    python scripts/launch.py run paper_scale 'add-*'          # start, evaluate, pack into --out; call again to go on
    python scripts/launch.py unpack out/paper_scale.tgz       # file packed results under results/<study>/<run>/
    python scripts/launch.py finish table1_full 'mul1-*'      # here: the evaluations a lease left undone (rescued weights)
    bash scripts/gpu/run.sh paper_scale                       # on the GPU machine: set up, then `run` into $OUT

``run`` is idempotent and made for device calls of a few minutes on a machine that stays held between them: each call
starts the runs that can start (at most the study's ``parallel`` trainings at once; runs that need the mamba-ssm
kernels once ``scripts/gpu/build_kernels.sh``, started in the background by the first call, has finished; jobs one at
a time, in table order, unless the study's ``parallel_jobs`` says more), starts the evaluations of runs whose training ended, waits until everything selected is done
or ``--deadline`` seconds have passed, and packs what is there. Every process runs in a session of its own, so it
outlives the call.
State lives beside the outputs in ``runs/<study>/<run>/.launch/`` (pid, exit status, console log).
"""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import filecmp
import gzip
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tarfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# (imports torch and transformers through the toolssm package: over a minute on a GPU machine whose cores are busy,
# which is why the deadline counts from TOOLSSM_CALL_START, set before any import)
from toolssm.experiments import FILED, Eval, Job, Run, checkpoint_step, complete_checkpoints, load_study  # noqa: E402

KERNELS_DIR = os.environ.get("KERNELS_DIR", "/tmp/kernels")
STUDY_LOG = "kernel-build.log"  # the kernel build's log, packed with a study's logs beside its runs' folders
MAX_FILED_BYTES = 1 << 20  # a job's files above this are not filed
#: the most bytes one packed archive may hold: the device returns files of at most 16 MiB each (../.library/device);
#: on 2026-12-03 one 21.6 MB weights archive of four small runs did not come back. Weights are split across archives
#: of whole runs under this bound (safetensors barely compress, so the files' own sizes bound the archive's)
MAX_ARCHIVE_BYTES = 15 << 20
#: the most files one device call returns (../.library/device: 8, the first in name order). On 2026-12-06 three
#: launchers in one call packed 11 archives; the three left behind held the results of long_multiplication and
#: table1_full (six evaluated runs lost with the lease). ``trim`` keeps this many, results first.
MAX_RETURNED_FILES = 8
MAX_RETURNED_BYTES = 63 << 20  # the device returns 64 MiB a call in all; 1 MiB is left for a call's own logs
CONTINUED = "continued"  # .launch/continued: the run was carried from an earlier lease (its checkpoint step inside)
WEIGHT_FILES = ("model.safetensors", "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json")


# --- processes --------------------------------------------------------------------------------------------------------

def _state(folder: str, what: str) -> str:
    """'todo', 'running', 'done' (exit 0), 'failed' (another exit status) or 'lost' (no status and no process)."""
    d = os.path.join(folder, ".launch")
    rc_file, pid_file = os.path.join(d, f"{what}.rc"), os.path.join(d, f"{what}.pid")
    if os.path.exists(rc_file):
        with open(rc_file) as f:
            return "done" if f.read().strip() == "0" else "failed"
    if not os.path.exists(pid_file):
        return "todo"
    with open(pid_file) as f:
        pid = int(f.read())
    return "running" if os.path.exists(f"/proc/{pid}") else "lost"


def _spawn(folder: str, what: str, argv: list[str] | str, env: dict, timeout_s: int | None = None) -> None:
    """Start ``argv`` (a list, or a bash command line) in its own session; console to .launch/<what>.log, exit status to
    .launch/<what>.rc once it ends."""
    d = os.path.join(folder, ".launch")
    os.makedirs(d, exist_ok=True)
    cmd = argv if isinstance(argv, str) else shlex.join(argv)
    if timeout_s:
        cmd = f"timeout {int(timeout_s)} bash -c {shlex.quote(cmd)}"
    rc = shlex.quote(os.path.join(d, f"{what}.rc"))
    shell = f"{cmd} > {shlex.quote(os.path.join(d, what + '.log'))} 2>&1; echo $? > {rc}.tmp && mv {rc}.tmp {rc}"
    with open(os.path.join(d, f"{what}.cmd"), "w") as f:
        f.write(cmd + "\n")
    p = subprocess.Popen(["bash", "-c", shell], cwd=ROOT, env=env, start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(d, f"{what}.pid"), "w") as f:
        f.write(str(p.pid))


def _resume_point(folder: str) -> int | None:
    """The step of the newest finished checkpoint of a run whose training ended badly, if no resume started from it
    yet (``.launch/train.resumed`` lists the steps resumed from): each checkpoint is resumed from once, so a run that
    fails again at the same point stays failed, and one that got further is tried again. (2026-12-07: six table1_full
    runs died at step 1,500 of 2,000 on a bug in the checkpoint rotation, each with a finished checkpoint-1500 on disk;
    the launcher reported them failed and the lease's end took the machine.)"""
    done = complete_checkpoints(folder)
    if not done or os.path.exists(os.path.join(folder, "model.safetensors")):
        return None  # nothing to resume from, or the final save was written (a failure after it is not training's)
    at = checkpoint_step(done[-1])
    try:
        with open(os.path.join(folder, ".launch", "train.resumed")) as f:
            tried = {int(line) for line in f if line.strip()}
    except OSError:
        tried = set()
    return None if at in tried else at


OOM_MARKS = ("torch.OutOfMemoryError", "CUDA out of memory")
MAX_OOM_RESTARTS = 3


def _oom_restart_due(folder: str, training: int) -> bool:
    """Whether a run whose training ran out of GPU memory before its first checkpoint should start again from scratch
    now. The first time the launcher sees the failure it notes how many trainings were running (``.launch/train.oom``)
    and starts nothing; it restarts the run once fewer run than that (memory was freed), at most MAX_OOM_RESTARTS
    times. (2026-12-07: seven graph runs started together need ~85 GB on an 80 GB H100; one died at step 3, was
    reported "training failed, no model saved", and was started by hand in the lease's last call.)"""
    if complete_checkpoints(folder) or os.path.exists(os.path.join(folder, "model.safetensors")):
        return False  # a checkpoint to resume from (_resume_point), or a failure after the final save
    d = os.path.join(folder, ".launch")
    try:
        with open(os.path.join(d, "train.log"), errors="replace") as f:
            f.seek(max(0, os.path.getsize(f.name) - 65536))
            if not any(m in f.read() for m in OOM_MARKS):
                return False
    except OSError:
        return False
    seen = _oom_marks(folder)
    if not seen or seen[-1][0] != "failed":  # a failure not yet noted: note the crowd it failed in, wait for it to thin
        with open(os.path.join(d, "train.oom"), "a") as f:
            f.write(f"failed {training}\n")
        return False
    return training < _oom_crowd(seen)


def _oom_marks(folder: str) -> list[list[str]]:
    """The lines of ``.launch/train.oom``, split: ``failed <trainings running>`` and ``restarted``."""
    try:
        with open(os.path.join(folder, ".launch", "train.oom")) as f:
            return [line.split() for line in f if line.strip()]
    except OSError:
        return []


def _oom_crowd(seen: list[list[str]]) -> int:
    """How many trainings the run ran out of memory beside, while it waits to start again (``_oom_restart_due``); 0
    when it does not wait (no such failure, restarts spent, or it failed alone: fewer cannot run)."""
    if not seen or seen[-1][0] != "failed" or sum(1 for s in seen if s[0] == "restarted") >= MAX_OOM_RESTARTS:
        return 0
    return int(seen[-1][1])


def _retry(folder: str, argv: list[str], env: dict, note: tuple[str, str]) -> None:
    """Start the training again, keeping the failed attempt's console log and status as train-<n>.log / .rc / .cmd
    beside the new one, and appending ``note[1]`` to ``.launch/<note[0]>`` (what was tried, so it is tried once)."""
    d = os.path.join(folder, ".launch")
    n = 1 + max((int(m.group(1)) for f in os.listdir(d) if (m := re.fullmatch(r"train-(\d+)\.(log|rc|cmd)", f))), default=0)
    for ext in ("log", "rc", "cmd"):
        if os.path.exists(os.path.join(d, f"train.{ext}")):
            os.replace(os.path.join(d, f"train.{ext}"), os.path.join(d, f"train-{n}.{ext}"))
    with open(os.path.join(d, note[0]), "a") as f:
        f.write(f"{note[1]}\n")
    _spawn(folder, "train", argv, env)


def _resume(folder: str, at: int, argv: list[str], env: dict) -> None:
    """Start the training again with --resume (from checkpoint ``at``)."""
    _retry(folder, argv, env, ("train.resumed", str(at)))


def _kernels(runs_root: str, env: dict, needed: bool) -> str:
    """'ready', 'building', 'failed' or 'absent'; starts the build (once) when ``needed``."""
    if os.path.exists(os.path.join(KERNELS_DIR, ".ready")):
        return "ready"
    folder = os.path.join(os.path.dirname(os.path.abspath(runs_root)), ".kernels")  # runs/.kernels: one build for every study
    state = _state(folder, "build")
    if state == "running":
        return "building"
    if state in ("failed", "lost") or (state == "done" and not os.path.exists(os.path.join(KERNELS_DIR, ".ready"))):
        return "failed"
    if needed:
        _spawn(folder, "build", ["bash", "scripts/gpu/build_kernels.sh"], dict(env, KERNELS_DIR=KERNELS_DIR))
        return "building"
    return "absent"


# --- one pass over a study --------------------------------------------------------------------------------------------

def _env(study: str, name: str, kernels: bool, job: str) -> dict:
    env = dict(os.environ, TOOLSSM_STUDY=study, TOOLSSM_RUN=name, TOOLSSM_JOB=job, PYTHONUNBUFFERED="1")
    env.pop("TOOLSSM_CALL_START", None)  # this call's clock: a launcher started inside a job (a test) keeps its own
    if kernels:
        env["PYTHONPATH"] = KERNELS_DIR + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _continued(folder: str) -> int | None:
    """The checkpoint step a run carried from an earlier lease continues from (``carry_on``), else None."""
    try:
        with open(os.path.join(folder, ".launch", CONTINUED)) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def _trained(folder: str) -> bool:
    """The final model is saved (train.py writes trainer_state.json with final=true into the run folder last)."""
    p = os.path.join(folder, "trainer_state.json")
    if not os.path.exists(p):
        return False
    with open(p) as f:
        return bool(json.load(f).get("final"))


def _running(runs_root: str) -> list[tuple[str, str, str]]:
    """(study, run, what) of every process the launcher started that still runs, under the runs folder that holds
    ``runs_root`` (any study's)."""
    top = os.path.dirname(os.path.abspath(runs_root))
    out = []
    for study in sorted(os.listdir(top)) if os.path.isdir(top) else []:
        d = os.path.join(top, study)
        for run in sorted(os.listdir(d)) if os.path.isdir(d) and not study.startswith(".") else []:
            launch_dir = os.path.join(d, run, ".launch")
            for f in sorted(os.listdir(launch_dir)) if os.path.isdir(launch_dir) else []:
                if f.endswith(".pid") and _state(os.path.join(d, run), f[:-4]) == "running":
                    out.append((study, run, f[:-4]))
    return out


def trainings_running(runs_root: str) -> list[str]:
    """``study/run`` of every training running under the runs folder that holds ``runs_root`` (any study's)."""
    return [f"{study}/{run}" for study, run, what in _running(runs_root) if what == "train"]


def others_running(runs_root: str) -> list[str]:
    """``study/run (what)`` of every job or evaluation of another study running under the runs folder that holds
    ``runs_root``."""
    mine = os.path.basename(os.path.abspath(runs_root))
    return [f"{study}/{run} ({what})" for study, run, what in _running(runs_root) if what != "train" and study != mine]


def _listed(names: list[str]) -> str:
    return f"{', '.join(names[:3])}{', ...' if len(names) > 3 else ''}"


def step(study, entries: list, runs_root: str, job: str, python: str = sys.executable) -> dict[str, tuple[bool, str]]:
    """Start what can start; return {name: (busy, what it is doing)} for the status table. A study marked ``alone``
    starts nothing while any study's training runs, or another study's job or evaluation (it waits, and says for
    which): launch-bound decoding loops in several processes share the GPU by whole time slices (2026-12-04: five
    evaluations of two studies at once finished nothing in 540 s)."""
    busy_gpu = trainings_running(runs_root) if study.alone else []
    busy_other = others_running(runs_root) if study.alone and not busy_gpu else []
    hold = (f"waiting for the GPU: {len(busy_gpu)} training(s) running ({_listed(busy_gpu)})" if busy_gpu else
            f"waiting for the GPU: {len(busy_other)} process(es) of other studies running ({_listed(busy_other)})" if busy_other else "")
    kernel_state = _kernels(runs_root, dict(os.environ), any(e.kernels for e in entries))
    training = sum(_state(os.path.join(runs_root, e.name), "train") == "running" for e in entries if isinstance(e, Run))
    evaluating = sum(_state(os.path.join(runs_root, e.name), f"eval-{ev.tag}") == "running"
                     for e in entries if isinstance(e, Run) for ev in e.evals)
    jobs_running = sum(_state(os.path.join(runs_root, e.name), "job") == "running" for e in entries if isinstance(e, Job))
    by_name = {e.name: e for e in study.runs}
    states = {}
    for e in entries:
        folder = os.path.join(runs_root, e.name)
        env = _env(study.name, e.name, e.kernels, job)
        if e.kernels and kernel_state == "failed":
            states[e.name] = (False, "blocked: the kernel build failed (see the kernel-build.log packed with the logs)")
            continue
        before = {a: _state(os.path.join(runs_root, a), "job" if isinstance(by_name[a], Job) else "train") for a in e.after}
        failed = [a for a, s in before.items() if s in ("failed", "lost")]
        if failed:
            states[e.name] = (False, f"blocked: {', '.join(failed)} ended badly")
            continue
        if any(s != "done" for s in before.values()):  # also when the entry it waits for was not selected
            states[e.name] = (any(s == "running" for s in before.values()), f"waiting for {', '.join(a for a, s in before.items() if s != 'done')}")
            continue
        waiting = e.kernels and kernel_state != "ready"
        if isinstance(e, Job):
            s = _state(folder, "job")
            if s == "todo" and not waiting and not hold and jobs_running < study.parallel_jobs:  # in table order; by default one at a time
                os.makedirs(folder, exist_ok=True)
                job_env = dict(env, RUN_DIR=os.path.abspath(folder))
                _spawn(folder, "job", e.command, job_env, e.timeout_s)
                _job_record(folder, e, job_env)
                jobs_running, s = jobs_running + 1, "running"
            if s in ("done", "failed"):
                _finish_job_record(folder)
            if s == "todo":
                states[e.name] = (True, "waiting for the kernels" if waiting else hold or "queued")
            else:
                states[e.name] = (s == "running", f"job {s}")
            continue
        s = _state(folder, "train")
        if s == "todo" and _trained(folder):
            s = "done"  # trained by an earlier launcher or by hand
        if s in ("failed", "lost") and not waiting and not hold and training < study.parallel and (at := _resume_point(folder)):
            _resume(folder, at, [python, *e.train_argv(folder), "--resume"], env)
            training += 1
            states[e.name] = (True, f"training (resumed from step {at} after the run ended badly)")
            continue
        if s in ("failed", "lost") and _oom_restart_due(folder, training) and not waiting and not hold and training < study.parallel:
            _retry(folder, [python, *e.train_argv(folder), "--overwrite-output-dir"], env, ("train.oom", "restarted"))
            training += 1
            states[e.name] = (True, "training (started again: it ran out of GPU memory beside other runs)")
            continue
        if s == "todo":
            if waiting:
                states[e.name] = (True, "waiting for the kernels")
            elif hold or training >= study.parallel:
                states[e.name] = (True, hold or "queued")
            else:
                carried = _continued(folder)
                _spawn(folder, "train", [python, *e.train_argv(folder), *(["--resume"] if carried is not None else [])], env)
                training += 1
                states[e.name] = (True, "training" + (f" (continued from step {carried}, carried from an earlier lease)"
                                                      if carried is not None else ""))
            continue
        if s == "running":
            states[e.name] = (True, "training")
            continue
        trained = "trained" if s == "done" else f"training {s}"
        if not os.path.exists(os.path.join(folder, "model.safetensors")):
            crowd = _oom_crowd(_oom_marks(folder))
            states[e.name] = ((True, f"{trained}: out of GPU memory beside {crowd} training(s), starts again when fewer run")
                              if crowd else (False, f"{trained}, no model saved"))
            continue
        busy, parts = False, []
        for ev in e.evals:
            es = _state(folder, f"eval-{ev.tag}")
            if es == "todo":
                if not hold and evaluating < study.parallel_evals:
                    _spawn(folder, f"eval-{ev.tag}", [python, *ev.argv(folder, os.path.join(folder, "eval", ev.tag))], env, ev.timeout_s)
                    evaluating += 1
                    es = "running"
                else:
                    es = "queued"
            busy |= es in ("running", "queued")
            parts.append(f"{ev.tag} {es}")
        states[e.name] = (busy, f"{trained}; " + (", ".join(parts) or "no evaluations"))
    return states


def progress(folder: str) -> str:
    """'step S/M, loss L, T tok/s' from a run's metrics.jsonl and arguments."""
    try:
        with open(os.path.join(folder, "metrics.jsonl")) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        last = [r for r in rows if "loss" in r][-1]
    except (OSError, ValueError, IndexError):
        return ""
    return f"step {last['step']}, loss {last['loss']:.3g}, {last['trained_tokens_per_s']:.0f} tok/s"


def _job_record(folder: str, job: Job, env: dict) -> None:
    """The job's run.json (toolssm.provenance: commit, host, GPU, versions, start; argv is ``bash -c COMMAND``), so a
    job's folder under results/ says what produced it like a training run's does; :func:`_finish_job_record` adds the
    end and the exit status once the job has ended."""
    from toolssm import provenance

    record = provenance.describe("scripts/launch.py job")
    record.update(argv=["bash", "-c", job.command], study=env["TOOLSSM_STUDY"], run=env["TOOLSSM_RUN"], job=env.get("TOOLSSM_JOB"),
                  timeout_s=job.timeout_s)
    provenance.write(folder, record)


def _finish_job_record(folder: str) -> None:
    """Add the end (the exit-status file's time) and the exit status to an ended job's newest run.json record."""
    from toolssm import provenance

    rc_file, path = os.path.join(folder, ".launch", "job.rc"), os.path.join(folder, "run.json")
    if not (os.path.exists(rc_file) and os.path.exists(path)):
        return
    with open(path) as f:
        runs = json.load(f).get("runs", [])
    if not runs or runs[-1].get("end"):
        return
    with open(rc_file) as f:
        rc = f.read().strip()
    record = runs[-1]
    record.update(end=time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(os.path.getmtime(rc_file))),
                  exit_status=int(rc) if rc.lstrip("-").isdigit() else rc)
    provenance.write(folder, record)  # replaces the record of the same start and argv


# --- packing and filing -----------------------------------------------------------------------------------------------

def filed_files(folder: str, entry) -> list[str]:
    """The paths under ``folder`` (relative) that go into results/<study>/<run>/."""
    if isinstance(entry, Job):
        out = []
        for base, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for f in files:
                p = os.path.join(base, f)
                if os.path.getsize(p) <= MAX_FILED_BYTES:
                    out.append(os.path.relpath(p, folder))
        return sorted(out)
    out = [f for f in FILED if os.path.exists(os.path.join(folder, f))]
    eval_dir = os.path.join(folder, "eval")
    for tag in sorted(os.listdir(eval_dir)) if os.path.isdir(eval_dir) else []:
        if os.path.exists(os.path.join(eval_dir, tag, "results.json")):
            out.append(os.path.join("eval", tag, "results.json"))
    return out


def weight_groups(runs: list[list[tuple[str, str]]], limit: int = MAX_ARCHIVE_BYTES) -> list[list[tuple[str, str]]]:
    """Whole runs' weight files (lists of (source, name in archive)) grouped, in order, into archives of at most
    ``limit`` bytes; a run larger than ``limit`` alone gets its own archive (and a warning: it will not come back)."""
    groups, size = [], 0
    for files in runs:
        run_bytes = sum(os.path.getsize(src) for src, _ in files)
        if run_bytes > limit:
            print(f"warning: {files[0][1].rsplit('/', 1)[0]}: weights of {run_bytes / 2**20:.1f} MiB exceed one archive's "
                  f"{limit / 2**20:.0f} MiB: packed alone, and too large to come back from the device", file=sys.stderr)
        if not groups or size + run_bytes > limit:
            groups.append([])
            size = 0
        groups[-1] += files
        size += run_bytes
    return groups


def rescued(runs: list[list[tuple[str, str]]], limit: int = MAX_ARCHIVE_BYTES) -> list[list[tuple[str, str]]]:
    """The weight files of whole runs, in order, grouped into archives of at most ``limit`` bytes (``weight_groups``),
    leaving out (with a warning) a run too large for any archive to come back: runs whose weights are not kept but
    whose evaluations had not all finished when the call packed (``-rescue``), or runs still training at a lease's last
    call (``-cut``). A lease can end with runs trained and unevaluated (on 2026-12-06 the lease ran out with seven
    trained runs of table1_full not or not fully evaluated, and their weights stayed on the machine); with these,
    ``eval.py`` finishes them here. Until 2026-12-07 this was one archive (the device returns 8 files a call), which
    held two small Mambas of six cut runs; ``trim`` now keeps the study's results first and these next."""
    fit = []
    for files in runs:
        run_bytes = sum(os.path.getsize(src) for src, _ in files)
        if run_bytes > limit:
            print(f"warning: {files[0][1].rsplit('/', 1)[0]}: weights of {run_bytes / 2**20:.1f} MiB exceed one archive's "
                  f"{limit / 2**20:.0f} MiB: not packed (too large to come back from the device)", file=sys.stderr)
        else:
            fit.append(files)
    return weight_groups(fit, limit) if fit else []


CUT_FILES = WEIGHT_FILES + ("training_args.json", "trainer_state.json")


def cut_checkpoint(folder: str) -> tuple[str, list[str]] | None:
    """For a run still training: its newest checkpoint whose save finished (``complete_checkpoints``) and the files of
    it that make a model (no optimizer state); None without one."""
    for c in reversed(complete_checkpoints(folder)):
        if os.path.exists(os.path.join(c, "model.safetensors")):
            return os.path.basename(c), [f for f in CUT_FILES if os.path.exists(os.path.join(c, f))]
    return None


def state_files(folder: str) -> tuple[str, list[str]] | None:
    """For a run still training: its newest checkpoint whose save finished and whose checksums file is there, and every
    file of it (relative paths, the model's files first, then the optimizer, scheduler and RNG states under
    accelerate_state/, the checksums last): what a later lease needs to continue the run (``seed_from_results``)."""
    from toolssm.training import CHECKSUMS

    for c in reversed(complete_checkpoints(folder)):
        if not os.path.exists(os.path.join(c, CHECKSUMS)):
            continue
        rel = sorted(os.path.relpath(os.path.join(d, f), c) for d, _, fs in os.walk(c) for f in fs)
        if DUPLICATE in rel and filecmp.cmp(os.path.join(c, DUPLICATE), os.path.join(c, "model.safetensors"), shallow=False):
            rel.remove(DUPLICATE)  # accelerate's copy of the weights, byte for byte the model's: restored on arrival
        first = [f for f in CUT_FILES if f in rel]
        return os.path.basename(c), first + [f for f in rel if f not in first and f != CHECKSUMS] + [CHECKSUMS]
    return None


#: accelerate's save_state writes the model's weights again beside the optimizer: for a small Mamba 7 of a
#: checkpoint's 28 MB, and the device returns 64 MiB a call, so three such runs' states fit only without it
DUPLICATE = os.path.join("accelerate_state", "model.safetensors")


def _restore_duplicate(ckpt: str, listed: dict) -> None:
    """Put back the copy of the weights ``state_files`` left out (where the checksums say it equals the model file)."""
    dup, model = os.path.join(ckpt, DUPLICATE), os.path.join(ckpt, "model.safetensors")
    if not os.path.exists(dup) and listed.get(DUPLICATE) and listed.get(DUPLICATE) == listed.get("model.safetensors") and os.path.exists(model):
        shutil.copyfile(model, dup)


def run_chunks(runs: list[list[tuple[str, str]]], limit: int = MAX_ARCHIVE_BYTES) -> list[list[tuple[str, str]]]:
    """Each run's files (in order) cut into archives of at most ``limit`` bytes, one run per archive, so that an archive
    the device leaves behind costs whole runs' states, never two halves; a run with a single file larger than
    ``limit`` is left out with a warning (it cannot come back: the device returns files of at most 16 MiB)."""
    out = []
    for files in runs:
        big = [arc for src, arc in files if os.path.getsize(src) > limit]
        if big:
            print(f"warning: {big[0]}: {os.path.getsize(dict((a, s) for s, a in files)[big[0]]) / 2**20:.1f} MiB, larger than "
                  f"one archive's {limit / 2**20:.0f} MiB: this run's training state is not packed", file=sys.stderr)
            continue
        chunk, size = [], 0
        for src, arc in files:
            n = os.path.getsize(src)
            if chunk and size + n > limit:
                out.append(chunk)
                chunk, size = [], 0
            chunk.append((src, arc))
            size += n
        out.append(chunk)
    return out


def pack(study, entries: list, runs_root: str, out_dir: str, last_call: bool = False, carry_state: bool = False) -> list[str]:
    """``<study>.tgz`` (the filed files and the console logs) and, where runs keep weights, ``<study>-weights.tgz``
    (then ``-weights-2.tgz``, ...: archives of whole runs of at most MAX_ARCHIVE_BYTES each) and ``<study>-rescue.tgz``
    (weights of trained runs whose evaluations have not all finished, then ``-rescue-2.tgz``, ...; see ``rescued``)
    into ``out_dir``; returns the paths written. (Until 2026-12-06 the logs had an archive of their own: one of the
    device's 8 files a study.) ``last_call`` (the lease's last call: ``--last-call``): also ``<study>-cut.tgz``, the
    newest saved checkpoint of each run still training or whose training failed (``cut_checkpoint``, as
    ``<run>/checkpoint-<step>/``; whole runs in table order, archives of up to MAX_ARCHIVE_BYTES: ``-cut-2.tgz``, ...),
    so that a run the lease's end cuts can still be evaluated here, as the checkpoint it is (2026-12-07: six runs cut
    at 1,090-1,800 of 2,000 steps came back with nothing but their logs); and ``<study>-trained.tgz`` (``-trained-2``,
    ...), the weights of runs trained and fully evaluated that do not keep weights, so that a failure can still be
    looked into here (2026-12-07: a run whose evaluations all finished in the lease came back without its weights, and
    ``scripts/divergence.py`` needs them); trim sends these after everything else that is new. ``carry_state`` (with
    ``last_call``; ``--carry-state``): the cut archives hold each cut run's whole newest checkpoint (``state_files``:
    its model, optimizer, scheduler and RNG states, checksums), one run per archive, so that a later lease continues
    the run where this one left it (``seed_from_results``) instead of it being evaluated as the checkpoint it is."""
    os.makedirs(out_dir, exist_ok=True)
    written = []
    paths = {"": []}
    logs = set()  # arcnames of console logs (their progress bars are flattened)
    weights = []  # per run: its weight files
    rescue = []  # runs that do not keep weights, trained but not yet fully evaluated
    cut = []  # runs still training at the lease's last call: their newest checkpoint
    trained = []  # the lease's last call: weights of runs trained and fully evaluated that do not keep them

    def add_log(src: str, arc: str) -> None:
        paths[""].append((src, arc))
        logs.add(arc)

    for e in entries:
        folder = os.path.join(runs_root, e.name)
        if not os.path.isdir(folder):
            continue
        paths[""] += [(os.path.join(folder, p), os.path.join(study.name, e.name, p)) for p in filed_files(folder, e)]
        d = os.path.join(folder, ".launch")
        for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            if f.endswith((".log", ".cmd", ".rc")):
                add_log(os.path.join(d, f), os.path.join(study.name, e.name, f))
        if not isinstance(e, Run):
            continue
        train_done = _state(folder, "train") == "done"
        if os.path.exists(os.path.join(folder, "model.safetensors")):
            files = [(os.path.join(folder, f), os.path.join(study.name, e.name, f)) for f in WEIGHT_FILES
                     if os.path.exists(os.path.join(folder, f))]
            if e.keep_weights:
                weights.append(files)
            elif train_done and any(_state(folder, f"eval-{ev.tag}") != "done" for ev in e.evals):
                rescue.append(files)
            elif train_done and last_call:
                trained.append(files)
        found = state_files(folder) if last_call and not train_done and carry_state else None
        if found and (big := [f for f in found[1] if os.path.getsize(os.path.join(folder, found[0], f)) > MAX_ARCHIVE_BYTES]):
            print(f"warning: {study.name}/{e.name}: {big[0]} of {found[0]} is larger than one archive's "
                  f"{MAX_ARCHIVE_BYTES / 2**20:.0f} MiB: its training state cannot come back, its model is packed alone", file=sys.stderr)
            found = None
        if last_call and not train_done and (found := found or cut_checkpoint(folder)):
            tag, names = found
            cut.append([(os.path.join(folder, tag, f), os.path.join(study.name, e.name, tag, f)) for f in names])
    build_log = os.path.join(os.path.dirname(os.path.abspath(runs_root)), ".kernels", ".launch", "build.log")
    if os.path.exists(build_log):
        add_log(build_log, os.path.join(study.name, STUDY_LOG))
    for i, group in enumerate(weight_groups(weights)):
        paths["-weights" + (f"-{i + 1}" if i else "")] = group
    for kind, runs in (("-rescue", rescue), ("-cut", cut), ("-trained", trained)):  # as many archives as needed; trim ranks them
        groups = run_chunks(runs, MAX_ARCHIVE_BYTES) if kind == "-cut" and carry_state else rescued(runs, MAX_ARCHIVE_BYTES)
        for i, group in enumerate(groups):
            numbered = carry_state and kind == "-cut"  # -cut-01, -cut-02, ...: name order is run order (trim keeps a prefix)
            paths[kind + (f"-{i + 1:02d}" if numbered else f"-{i + 1}" if i else "")] = group
    for suffix, items in paths.items():
        if not items:
            continue
        target = os.path.join(out_dir, f"{study.name}{suffix}.tgz")
        with tarfile.open(target, "w:gz") as tar:
            for arc, src in {arc: src for src, arc in items}.items():  # a file both filed and logged: once
                if arc in logs:  # progress bars redraw with carriage returns: keep the last frame of each line
                    with open(src, "rb") as f:
                        text = b"\n".join(line.rsplit(b"\r", 1)[-1] for line in f.read().split(b"\n"))
                    info = tarfile.TarInfo(arc)
                    info.size, info.mtime = len(text), int(time.time())
                    tar.addfile(info, io.BytesIO(text))
                else:
                    tar.add(src, arcname=arc)
        written.append(target)
    return written


def _archive_digest(path: str) -> str:
    """The digest of an archive's tar stream (gzip's header holds the packing time; the stream holds the files)."""
    h = hashlib.sha1()
    with gzip.open(path) as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def trim(out_dir: str, record: str, call: str, limit: int = MAX_RETURNED_FILES,
         max_bytes: int = MAX_RETURNED_BYTES) -> tuple[list[str], list[str]]:
    """Keep at most ``limit`` files and ``max_bytes`` in all in ``out_dir`` (the device returns 8 files and 64 MiB a
    call), removing the rest; returns (kept, removed). Kept first: every study's results (``<study>.tgz``), then rescued
    weights, then weight archives that no earlier call returned, then the last call's ``-trained`` weights, then the
    rest, by name within each rank; what is kept is a prefix of that order (a file that does not fit ends it, so a run's
    training state split over ``-cut-01``, ``-cut-02`` is not kept in part behind a later run's).
    ``record`` (a JSON file on the machine, outside ``out_dir``) holds per call (``call``: its start) the digests of
    the archives it kept, so that weights already returned by an earlier call go last; the last trim of a call writes
    that call's entry."""
    try:
        with open(record) as f:
            sent = json.load(f)
    except (OSError, ValueError):
        sent = {}
    before = {d for c, ds in sent.items() if c != call for d in ds}
    files = sorted(f for f in os.listdir(out_dir) if os.path.isfile(os.path.join(out_dir, f)))
    digests = {f: _archive_digest(os.path.join(out_dir, f)) if f.endswith(".tgz") else "" for f in files}

    def rank(f: str) -> tuple:
        if not any(k in f for k in ("-weights", "-rescue", "-cut", "-trained")):
            r = 0
        elif "-rescue" in f or "-cut" in f:
            r = 1
        else:  # release weights, then the last call's weights of evaluated runs; what an earlier call sent, last
            r = (2 if "-weights" in f else 3) if digests[f] not in before else 4
        return r, f

    ordered = sorted(files, key=rank)
    kept, total = [], 0
    for f in ordered:
        size = os.path.getsize(os.path.join(out_dir, f))
        if len(kept) >= limit or total + size > max_bytes:
            break
        kept.append(f)
        total += size
    removed = ordered[len(kept):]
    for f in removed:
        os.remove(os.path.join(out_dir, f))
    sent[call] = [digests[f] for f in kept if digests[f]]
    with open(record, "w") as f:
        json.dump(sent, f)
    return kept, removed


def _merge_run_records(target: str, data: bytes) -> bytes:
    """A run folder filed again (a job run a second time, a run continued in a later lease): its run.json keeps the
    records already filed and adds the new ones (2026-12-05: a second push_length job replaced the first one's record).
    A record equal to one already there is not added twice; a file that is not a {"runs": [...]} record is replaced."""
    try:
        with open(target) as f:
            old = json.load(f)
        new = json.loads(data)
        if not (isinstance(old, dict) and isinstance(new, dict) and isinstance(old.get("runs"), list) and isinstance(new.get("runs"), list)):
            return data
    except (OSError, ValueError):
        return data
    def key(rec: dict) -> tuple:
        return rec.get("job"), rec.get("start"), rec.get("program")

    runs = list(old["runs"])
    for rec in new["runs"]:
        same = next((i for i, r in enumerate(runs) if key(r) == key(rec)), None)
        if same is None:
            runs.append(rec)
        else:
            runs[same] = rec  # the same record, later (an end time, an exit status): the newer copy
    return json.dumps(dict(new, runs=runs), indent=1).encode()


def unpack(path: str, results: str) -> list[str]:
    """Extract a packed study into ``results`` (``<study>/<run>/...``); only plain files with relative paths inside
    it are accepted; then each training run's card (README.md) is written from its filed files
    (toolssm.cards.write_run_card). Returns the files written."""
    from toolssm.cards import write_run_card

    written = []
    with tarfile.open(path) as tar:
        members = tar.getmembers()
        for m in members:
            parts = m.name.split("/")
            study_log = len(parts) == 2 and parts[1] == STUDY_LOG  # the one study-level file pack() writes
            if not m.isfile() or m.name.startswith("/") or ".." in parts or "" in parts or (len(parts) < 3 and not study_log):
                raise ValueError(f"{path}: refusing member {m.name!r} (only <study>/<run>/<file> paths and "
                                 f"<study>/{STUDY_LOG} are filed)")
        for m in members:
            target = os.path.join(results, m.name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with tar.extractfile(m) as src:
                data = src.read()
            if os.path.basename(target) == "run.json" and os.path.exists(target):
                data = _merge_run_records(target, data)
            with open(target, "wb") as dst:
                dst.write(data)
            written.append(target)
    for run_dir in sorted({os.path.join(results, *m.name.split("/")[:2]) for m in members if m.name.count("/") >= 2}):
        if os.path.exists(os.path.join(run_dir, "training_args.json")):
            write_run_card(run_dir)
            written.append(os.path.join(run_dir, "README.md"))
    return written


def _filed_sizes(folder: str) -> dict[str, set]:
    """{split: sizes with a row in any of the folder's evaluations} (eval/*/results.json; every row is a whole size)."""
    done: dict[str, set] = {}
    d = os.path.join(folder, "eval")
    for tag in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        try:
            with open(os.path.join(d, tag, "results.json")) as f:
                res = json.load(f)
        except (OSError, ValueError):
            continue
        done.setdefault(res.get("split") or "test", set()).update(L["n"] for L in res.get("lengths", []))
    return done


def _finish_tag(folder: str, ev: Eval) -> str:
    tag, i = f"{ev.tag}-finish", 2
    while os.path.exists(os.path.join(folder, "eval", tag)):  # never over an earlier finish's (partial) results
        tag, i = f"{ev.tag}-finish-{i}", i + 1
    return tag


def missing_evals(run: Run, folder: str) -> list[Eval]:
    """The part of each of ``run``'s evaluations that its filed folder lacks: sizes of its split with no row in any of
    the folder's evaluations (eval/*/results.json: the study's tags may have changed since, and an earlier ``finish``
    writes eval/<tag>-finish/), each into a folder of its own (eval/<tag>-finish-2/ where that one exists)."""
    done = _filed_sizes(folder)
    out = []
    for ev in run.evals:
        rest = tuple(n for n in ev.lengths if n not in done.get(ev.split, set()))
        if rest:
            out.append(Eval(_finish_tag(folder, ev), rest, ev.split, ev.num_samples, ev.args, ev.timeout_s))
    return out


def resumed_evals(run: Run, folder: str) -> tuple[list[Eval], list[str]]:
    """What a run started from its filed folder still evaluates: ``(evals, tags filed whole)``. An evaluation every size
    of which is filed (in its own folder or any other of its split) is kept and counted done; one with nothing filed
    runs as the study has it; one filed in part runs only the sizes it lacks, into eval/<tag>-finish/ (as ``finish``).
    (2026-12-06: a code-fixing evaluation filed to 24 of 40 functions ran again from 4 on the GPU and timed out
    before 32.) Decided from the filed folder alone, so every call of a lease gets the same answer."""
    done, evals, whole = _filed_sizes(folder), [], []
    for ev in run.evals:
        rest = tuple(n for n in ev.lengths if n not in done.get(ev.split, set()))
        if not rest:
            evals.append(ev)
            whole.append(ev.tag)
        elif rest == ev.lengths and not os.path.exists(os.path.join(folder, "eval", ev.tag)):
            evals.append(ev)
        else:
            evals.append(Eval(_finish_tag(folder, ev), rest, ev.split, ev.num_samples, ev.args, ev.timeout_s))
    return evals, whole


def finish(study, entries: list, results: str, extra: list[str], dry_run: bool = False) -> int:
    """Run here, one at a time, the evaluations of filed runs (results/<study>/<run>/ with its weights: kept, or
    rescued from a lease that ended first) that the lease did not finish, into eval/<tag>-finish/ (summarize merges
    them with the rest by size). Returns how many failed."""
    failed = 0
    for e in entries:
        if not isinstance(e, Run):
            continue
        folder = os.path.join(results, study.name, e.name)
        todo = missing_evals(e, folder)
        if not todo:
            continue
        if not os.path.exists(os.path.join(folder, "model.safetensors")):
            print(f"{e.name}: {', '.join(f'{ev.split} {list(ev.lengths)}' for ev in todo)} not evaluated, and no weights here")
            continue
        for ev in todo:
            argv = [sys.executable, *ev.argv(folder, os.path.join(folder, "eval", ev.tag)), *extra]
            print(f"{e.name}: {shlex.join(argv[1:])}", flush=True)
            if not dry_run and subprocess.run(argv, cwd=ROOT).returncode != 0:
                failed += 1
                print(f"{e.name}: {ev.tag} failed", file=sys.stderr)
    return failed


#: what ``rehearse`` changes in a run's training: a few steps on a tiny batch, a save at every step (so the checkpoint
#: rotation runs) and a validation midway; every other setting (preset, task, config, schedule, precision) is the run's
REHEARSAL = ("--max-steps", "4", "--save-every", "1", "--eval-every", "2", "--eval-samples", "1", "--batch-size", "2",
             "--num-workers", "0", "--log-every", "1", "--warmup-steps", "1")


REHEARSAL_MARK = ".rehearsal"  # in each folder rehearse makes: the only folders it replaces


def rehearse(study, entries: list, root: str, python: str = sys.executable, timeout_s: int = 600) -> list[str]:
    """Run every code path the selected runs will take on the GPU, on this machine's CPU and in seconds, before a lease
    pays for them: each run's own train.py command with ``REHEARSAL`` appended (argparse keeps an option's last value),
    killed after step 3 (``--stop-after``) and resumed (``--resume``) as the launcher resumes a run that ended badly,
    then each of its evaluations at its smallest size on one problem, into ``root/<study>/<run>`` (a folder there that
    an earlier rehearsal did not make is left alone and named as a failure). Jobs are listed, not run; a run on a GPU-only
    Mamba path (mamba-ssm kernels, the Triton scan) is rehearsed on the CPU's path. The CPU's Mamba path holds a whole
    sequence's states, so a Mamba on the longest trajectories (recursive Hanoi at 7 disks) can run out of this
    machine's memory where the GPU's scan does not (exit -9). Returns the failures, '<run>: <what> (exit N)'.
    (2026-12-07: six table1_full runs died at step 1,500 of a lease on a checkpoint-rotation bug that a save_every set
    the day before reached for the first time; four CPU steps saving at each reach it.)"""
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TOKENIZERS_PARALLELISM="false")
    failures = []

    def attempt(name: str, what: str, argv: list[str], want: int = 0) -> bool:
        t = time.time()
        try:
            r = subprocess.run([python, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
            rc, tail = r.returncode, (r.stdout + r.stderr).strip().splitlines()[-12:]
        except subprocess.TimeoutExpired:
            rc, tail = "timeout", [f"no exit in {timeout_s} s"]
        ok = rc == want
        print(f"{name}: {what} {'ok' if ok else 'FAILED'} ({time.time() - t:.0f} s)", flush=True)
        if not ok:
            why = " (killed: out of memory on this machine?)" if rc == -9 else ""  # the CPU's, not the GPU's (see docstring)
            failures.append(f"{name}: {what} (exit {rc}){why}")
            print("    " + "\n    ".join(tail), flush=True)
        return ok

    for e in entries:
        if isinstance(e, Job):
            print(f"{e.name}: a job, not rehearsed: {e.command}")
            continue
        folder = os.path.join(root, study.name, e.name)
        if os.path.isdir(folder):  # replaced only if an earlier rehearsal made it: --runs runs must not erase real runs
            if not os.path.exists(os.path.join(folder, REHEARSAL_MARK)):
                print(f"{e.name}: {folder} holds something that is not a rehearsal: left as it is, not rehearsed "
                      "(choose another --runs)", flush=True)
                failures.append(f"{e.name}: {folder} is not a rehearsal's folder")
                continue
            shutil.rmtree(folder)
        os.makedirs(folder)
        open(os.path.join(folder, REHEARSAL_MARK), "w").close()
        train = [*e.train_argv(folder), *REHEARSAL]
        gpu_path = e.train.get("mamba_path") in ("kernels", "triton") or e.train.get("triton_scan")
        if gpu_path:  # a GPU-only Mamba path: the rest of the run is rehearsed on the CPU's path
            train += ["--mamba-path", "auto", "--triton-scan", "false"] if e.train.get("triton_scan") else ["--mamba-path", "auto"]
            print(f"{e.name}: Mamba path {e.train.get('mamba_path') or 'triton'} needs a GPU: rehearsed with --mamba-path auto")
        if not (attempt(e.name, "train to step 3, killed", [*train, "--stop-after", "3"], want=3)
                and attempt(e.name, "resume, train to step 4", [*train, "--resume"])):
            continue
        for ev in e.evals:
            argv = [*ev.argv(folder, os.path.join(folder, "eval", ev.tag)), "--lengths", str(min(ev.lengths)),
                    "--num-samples", "1", "--batch-size", "1"]
            attempt(e.name, f"evaluate {ev.tag} ({ev.split} at {min(ev.lengths)})", argv)
    return failures


SEEDED = "seeded"  # .launch/seeded: the run was started from its filed folder (its path inside)


def seed_from_results(study, entries: list, results: str, runs_root: str) -> list[str]:
    """Start the selected runs from their filed folders (results/<study>/<run>/, carried with their weights) instead
    of training them again: each run with no folder under ``runs_root`` yet and with ``model.safetensors`` filed is
    copied there, marked trained, and each of its evaluations filed whole is marked done (``resumed_evals``); ``run``
    then runs the rest on this machine (``from_results_entries``). A run with no final weights filed but the whole
    training state of a checkpoint (a lease's last call with ``--carry-state``; ``continue_from``) is set up to
    continue training from it (``carry_on``). Returns the runs seeded. (2026-12-06: the n x n runs
    fine-tune trained in one lease and its evaluations at 100 x 100 can only run on a GPU: this is how the next lease
    does them without retraining.)"""
    import shutil

    seeded = []
    for e in entries:
        src, dst = os.path.join(results, study.name, e.name), os.path.join(runs_root, e.name)
        if not isinstance(e, Run) or os.path.exists(dst):
            continue
        if not os.path.exists(os.path.join(src, "model.safetensors")):
            if (at := continue_from(src)) is not None:
                carry_on(src, dst, at)
                seeded.append(e.name)
            elif filed := complete_checkpoints(src):
                print(f"{e.name}: {os.path.basename(filed[-1])} is filed without a whole training state (a model-only cut, "
                      "or one not carried whole): this run trains from step 0 here", file=sys.stderr)
            continue
        shutil.copytree(src, dst)
        os.makedirs(os.path.join(dst, ".launch"), exist_ok=True)
        for what in ["train", *(f"eval-{tag}" for tag in resumed_evals(e, src)[1])]:
            with open(os.path.join(dst, ".launch", f"{what}.rc"), "w") as f:
                f.write("0\n")
        with open(os.path.join(dst, ".launch", SEEDED), "w") as f:
            f.write(os.path.abspath(src) + "\n")
        seeded.append(e.name)
    return seeded


def continue_from(src: str) -> int | None:
    """The step of the newest checkpoint under a filed run folder ``src`` that holds a whole training state (its
    checksums file lists an ``accelerate_state/`` and every listed file is there as saved), else None. A checkpoint
    with the state in part (an archive the device did not return) is named on stderr and passed over; one filed as a
    model alone (the default ``-cut``) is not a training state."""
    from toolssm.training import CHECKSUMS, checkpoint_problem

    for c in reversed(complete_checkpoints(src)):
        try:
            with open(os.path.join(c, CHECKSUMS)) as f:
                listed = json.load(f)
        except (OSError, ValueError):
            continue
        if not any(rel.startswith("accelerate_state" + os.sep) for rel in listed):
            continue
        _restore_duplicate(c, listed)
        problem = checkpoint_problem(c)
        if problem:
            print(f"{c}: not continued ({problem}; carry the checkpoint whole)", file=sys.stderr)
            continue
        return checkpoint_step(c)
    return None


def carry_on(src: str, dst: str, at: int) -> None:
    """Set up ``dst`` to continue the run filed in ``src`` from its checkpoint ``at``: that checkpoint, metrics.jsonl
    and run.json are copied, and ``.launch/continued`` makes ``step`` start the training with ``--resume`` (train.py
    checks the checkpoint's checksums and the run's arguments, and drops metrics rows past ``at``)."""
    tag = f"checkpoint-{at}"
    shutil.copytree(os.path.join(src, tag), os.path.join(dst, tag))
    for f in ("metrics.jsonl", "run.json"):
        if os.path.exists(os.path.join(src, f)):
            shutil.copy2(os.path.join(src, f), os.path.join(dst, f))
    os.makedirs(os.path.join(dst, ".launch"), exist_ok=True)
    with open(os.path.join(dst, ".launch", CONTINUED), "w") as f:
        f.write(f"{at}\n")


def from_results_entries(entries: list, runs_root: str) -> list:
    """The entries with each run that was started from its filed folder (``seed_from_results``, this call or an
    earlier one) evaluating only what that folder lacks (``resumed_evals``)."""
    out = []
    for e in entries:
        marker = os.path.join(runs_root, e.name, ".launch", SEEDED)
        if isinstance(e, Run) and os.path.exists(marker):
            with open(marker) as f:
                e = dataclasses.replace(e, evals=tuple(resumed_evals(e, f.read().strip())[0]))
        out.append(e)
    return out


def packed_entries(study, entries: list, runs_root: str) -> list:
    """What a call packs into ``<study>.tgz``: the selected entries, then every other run of the study that has a
    folder on this machine (narrowed as ``from_results_entries`` narrows it). Two launchers of one study in one call
    (two selections, one ``$OUT``) write one archive name; each packs the union, so whichever packs last holds both
    (2026-12-06: the second launcher's archive replaced the first's; a later call packed both again)."""
    chosen = {e.name for e in entries}
    others = [e for e in study.runs if e.name not in chosen and os.path.isdir(os.path.join(runs_root, e.name))]
    return list(entries) + from_results_entries(others, runs_root)


# --- command line -----------------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    lp = sub.add_parser("list", help="the runs of a study and their commands")
    rp = sub.add_parser("run", help="start / evaluate / pack (idempotent: call again to continue)")
    for q in (lp, rp):
        q.add_argument("study", help="experiments/<study>.py (or a path to a study file)")
        q.add_argument("pattern", nargs="?", help="run names to select: shell globs, comma-separated")
        q.add_argument("--runs", default="runs", help="where runs train (runs/<study>/<run>/)")
    rp.add_argument("--deadline", type=float, default=float(os.environ.get("DEADLINE", 540)),
                    help="seconds before this call packs and returns (running processes go on), counted from TOOLSSM_CALL_START "
                         "(epoch seconds; scripts/gpu/run.sh sets it before its setup) or else from now; env DEADLINE")
    rp.add_argument("--out", default=os.environ.get("OUT", "out"), help="where the packed .tgz files go (env OUT)")
    rp.add_argument("--last-call", action="store_true", default=os.environ.get("LAST_CALL") == "1",
                    help="the lease's last call: also pack the newest checkpoint of every run still training (<study>-cut.tgz; "
                         "runs save one every --save-every steps) so that a run cut by the lease's end can be evaluated as "
                         "that checkpoint; env LAST_CALL=1")
    rp.add_argument("--carry-state", action="store_true", default=os.environ.get("CARRY_STATE") == "1",
                    help="with --last-call: pack each cut run's whole newest checkpoint (model, optimizer, scheduler and "
                         "RNG states; one run per archive, <study>-cut-01.tgz, ...) so that a later lease continues it "
                         "(run --from-results, the checkpoint carried); env CARRY_STATE=1")
    rp.add_argument("--max-files", type=int, default=MAX_RETURNED_FILES if os.environ.get("OUT") else 0,
                    help="keep at most this many files in --out, results first (see trim; 0: all); default: the device's 8 "
                         "where $OUT is set (a device call), else 0")
    rp.add_argument("--from-results", nargs="?", const=os.path.join(ROOT, "results"), default=None, metavar="RESULTS",
                    help="start runs that have no folder here from their filed folders under RESULTS (default results/), "
                         "carried with their weights: marked trained, their filed evaluations done; a run filed with the "
                         "whole training state of a checkpoint (--carry-state) continues training from it (seed_from_results)")
    rp.add_argument("--poll", type=float, default=10.0, help="seconds between passes")
    rp.add_argument("--job", default=os.environ.get("TOOLSSM_JOB"), help="the GPU job, recorded in every run.json (env TOOLSSM_JOB)")
    fp = sub.add_parser("finish", help="evaluate here what a lease left unevaluated (filed runs with their weights)",
                        description="Run the sizes each selected run's evaluations lack, from its filed folder under results/, "
                                    "into eval/<tag>-finish/; arguments after -- go to eval.py (e.g. -- --device cpu).")
    fp.add_argument("study", help="experiments/<study>.py (or a path to a study file)")
    fp.add_argument("pattern", nargs="?", help="run names to select: shell globs, comma-separated")
    fp.add_argument("--results", default=os.path.join(ROOT, "results"))
    fp.add_argument("--dry-run", action="store_true", help="print the commands only")
    hp = sub.add_parser("rehearse", help="before a lease: each selected run's training (4 steps, killed and resumed) and "
                                        "evaluations (one problem at the smallest size) on this machine's CPU",
                        description="Runs every code path the selected runs take (their own settings, a save at each "
                                    "step, a resume, every evaluation) in seconds on the CPU, into --runs (default "
                                    "a temporary folder); exit status 1 if any failed.")
    hp.add_argument("study", help="experiments/<study>.py (or a path to a study file)")
    hp.add_argument("pattern", nargs="?", help="run names to select: shell globs, comma-separated")
    hp.add_argument("--runs", default=None, help="where the rehearsals train (default: a new temporary folder)")
    up = sub.add_parser("unpack", help="file packed results under results/")
    up.add_argument("files", nargs="+")
    up.add_argument("--results", default=os.path.join(ROOT, "results"))
    argv = list(sys.argv[1:] if argv is None else argv)
    cut = argv.index("--") if "--" in argv else len(argv)  # finish: what follows -- goes to eval.py
    args = p.parse_args(argv[:cut])
    args.eval_args = argv[cut + 1:]

    if args.cmd == "unpack":
        for f in args.files:
            written = unpack(f, args.results)
            print(f"{f}: {len(written)} files under {args.results}")
        return 0
    try:
        study = load_study(args.study)
        entries = study.select(args.pattern)
    except ValueError as e:
        p.error(str(e))
    if args.cmd == "finish":
        return 1 if finish(study, entries, args.results, args.eval_args, args.dry_run) else 0
    if args.cmd == "rehearse":
        import tempfile

        failures = rehearse(study, entries, args.runs or tempfile.mkdtemp(prefix="toolssm-rehearse-"))
        print(f"{len(failures)} failed" + "".join(f"\n  {f}" for f in failures) if failures else "every path ran")
        return 1 if failures else 0
    runs_root = os.path.join(args.runs, study.name)
    if args.cmd == "list":
        print(f"# {study.name}: {study.claim}")
        for e in entries:
            folder = os.path.join(runs_root, e.name)
            if isinstance(e, Job):
                print(f"{e.name}{' [kernels]' if e.kernels else ''}: {e.command}")
                continue
            print(f"{e.name}{' [kernels]' if e.kernels else ''}: python {shlex.join(e.train_argv(folder))}")
            for ev in e.evals:
                print(f"    python {shlex.join(ev.argv(folder, os.path.join(folder, 'eval', ev.tag)))}")
        return 0

    job = args.job or f"{study.name}@{socket.gethostname()}:{time.strftime('%Y-%m-%dT%H:%M')}"
    os.makedirs(runs_root, exist_ok=True)
    if args.from_results:
        for name in seed_from_results(study, entries, args.from_results, runs_root):
            at = _continued(os.path.join(runs_root, name))
            print(f"{name}: started from {os.path.join(args.from_results, study.name, name)} "
                  + (f"(continues training from step {at})" if at is not None else "(trained there)"))
    entries = from_results_entries(entries, runs_root)  # also in a later call that forgot --from-results
    t0 = float(os.environ.get("TOOLSSM_CALL_START") or time.time())
    while True:
        states = step(study, entries, runs_root, job)
        if not any(busy for busy, _ in states.values()) or time.time() - t0 > args.deadline:
            break
        time.sleep(min(args.poll, max(0.1, args.deadline - (time.time() - t0))))
    width = max(len(n) for n in states)
    print(f"{study.name} after {time.time() - t0:.0f} s (kernels: {_kernels(runs_root, dict(os.environ), False)}):")
    for name, (_, s) in states.items():
        print(f"  {name:<{width}}  {s}  {progress(os.path.join(runs_root, name))}")
    # several launchers can share one call (and its $OUT): pack and trim one at a time, so the last sees every file
    with open(os.path.join(args.runs, ".pack.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for path in pack(study, packed_entries(study, entries, runs_root), runs_root, args.out, last_call=args.last_call,
                         carry_state=args.carry_state):
            print(f"packed {path} ({os.path.getsize(path) / 1e6:.1f} MB)")
        removed = trim(args.out, os.path.join(args.runs, ".returned.json"), str(int(t0)), args.max_files)[1] if args.max_files else []
    for f in removed:
        print(f"left on the machine (the device returns {MAX_RETURNED_FILES} files a call; the next call packs it again): {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
