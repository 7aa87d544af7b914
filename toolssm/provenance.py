"""``run.json``: what produced a folder of results, written by the programs themselves (not by the job scripts).

One object per program run: the git commit (and whether the tree had uncommitted changes), the exact command line,
the host, device and GPU, library versions, start and end time, the seed, and the study, run and job it belongs to
(``TOOLSSM_STUDY``, ``TOOLSSM_RUN``, ``TOOLSSM_JOB``: set by scripts/launch.py; the job is the GPU lease). Where the
working tree is a copy (the GPU machine), ``TOOLSSM_GIT_COMMIT`` names the commit it was copied from.
A resumed run appends to ``runs`` instead of replacing the file.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _git(*args: str) -> str | None:
    try:
        r = subprocess.run(["git", *args], cwd=_ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def describe(program: str, seed: int | None = None, device: str | None = None) -> dict:
    """The record of this process (call at start; :func:`finish` adds the end)."""
    import torch

    versions = {"python": platform.python_version(), "torch": torch.__version__}
    for name in ("transformers", "datasets", "accelerate", "peft", "triton", "mamba_ssm", "causal_conv1d"):
        mod = sys.modules.get(name)
        if mod is None:
            try:
                mod = __import__(name)
            except Exception:  # noqa: BLE001 - absent or unusable: recorded as missing
                mod = None
        versions[name] = getattr(mod, "__version__", None) if mod else None
    from . import __version__

    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "program": program, "argv": sys.argv, "cwd": os.getcwd(), "toolssm": __version__,
        # the GPU machine's copy carries a .git of the session's first commit, not the one copied: the caller's word wins
        "git_commit": os.environ.get("TOOLSSM_GIT_COMMIT") or _git("rev-parse", "HEAD"),
        "git_dirty": None if os.environ.get("TOOLSSM_GIT_COMMIT") else bool(status) if status is not None else None,
        "host": platform.node(), "device": device, "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "versions": versions, "seed": seed, "study": os.environ.get("TOOLSSM_STUDY"), "run": os.environ.get("TOOLSSM_RUN"),
        "job": os.environ.get("TOOLSSM_JOB"),
        "start": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "end": None,
    }


def write(folder: str, record: dict) -> None:
    """Add ``record`` to ``folder/run.json`` (``{"runs": [...]}``, newest last), replacing an entry with the same start."""
    path = os.path.join(folder, "run.json")
    runs = []
    if os.path.exists(path):
        try:
            with open(path) as f:
                runs = json.load(f).get("runs", [])
        except (OSError, ValueError, AttributeError):
            runs = []
    runs = [r for r in runs if r.get("start") != record["start"] or r.get("argv") != record["argv"]] + [record]
    os.makedirs(folder, exist_ok=True)
    with open(path, "w") as f:
        json.dump({"runs": runs}, f, indent=1)


def finish(folder: str, record: dict, **extra) -> None:
    record.update(extra, end=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    write(folder, record)
