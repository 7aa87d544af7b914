"""Test-session setup. Without a GPU, Triton kernels (toolssm.kernels) run in Triton's CPU interpreter; the switch is
read when triton is first imported, so it is set here, before any test module imports it."""

import os
import shutil

if shutil.which("nvidia-smi") is None:
    os.environ.setdefault("TRITON_INTERPRET", "1")

# Under pytest-xdist (scripts/test.sh runs two workers on CI's 2 cores) every worker, and every process a test starts,
# computes on one thread: two processes of two threads each on two cores spin-wait on each other (a 9 s test once took
# 30 minutes beside another torch process). Read by torch when it is first imported, which is after this file. A
# count the caller set stays (the GPU suite, experiments/gpu_tests.py: 6 workers of 2 threads on 16 cores).
if os.environ.get("PYTEST_XDIST_WORKER"):
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def python_path() -> str:
    """PYTHONPATH for the suite's subprocesses: the repo first, then whatever the caller's environment had. On the GPU
    machine the pinned transformers/datasets live on PYTHONPATH (/tmp/site, scripts/gpu/setup.sh) and the kernels too
    (/tmp/kernels): a subprocess given PYTHONPATH=ROOT alone imported the image's own transformers, or no datasets at all
    (13 of the 18 failures in each GPU suite, 2026-12-02, results/gpu_tests/README.md)."""
    rest = os.environ.get("PYTHONPATH", "")
    return ROOT + (os.pathsep + rest if rest else "")


def not_carried(path: str) -> bool:
    """Whether ``path`` (relative to the repo root) was left behind when this copy went to the GPU machine:
    scripts/gpu/slim.sh lists what it drops in .slimmed (the device copy is capped at 64 MiB). The copy may still hold
    the folder itself, empty, so the list is the only reliable sign."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    marker = os.path.join(root, ".slimmed")
    if not os.path.exists(marker):
        return False
    path = path.strip("/")
    with open(marker) as f:
        dropped = [line.strip().strip("/") for line in f if line.strip()]
    return any(path == d or path.startswith(d + "/") for d in dropped)


def _shipped_names() -> set[str]:
    """Every shipped checkpoint's name: the folders under checkpoints/ and the ones .slimmed says were left behind."""
    names = set(os.listdir(os.path.join(ROOT, "checkpoints"))) if os.path.isdir(os.path.join(ROOT, "checkpoints")) else set()
    marker = os.path.join(ROOT, ".slimmed")
    if os.path.exists(marker):
        with open(marker) as f:
            names |= {line.strip().strip("/")[len("checkpoints/"):] for line in f if line.strip().strip("/").startswith("checkpoints/")}
    return names


def checkpoints_used(item, names: set[str] | None = None) -> set[str]:
    """The shipped checkpoints a test reads: those its ``needs_checkpoints`` marker names ('*' for a bare marker: it
    reads them all, as demo.py and the README's tables do), those among its parameters, and those its function's source
    names as a string literal (``"addition-mamba-small-lockstep"``), out of ``names`` (default :func:`_shipped_names`)."""
    import inspect

    names = _shipped_names() if names is None else names
    used = set()
    for m in item.iter_markers("needs_checkpoints"):
        used |= set(m.args) or {"*"}
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        used |= {v for v in callspec.params.values() if isinstance(v, str) and v in names}
    try:
        src = inspect.getsource(item.function)
    except (OSError, TypeError, AttributeError):
        src = ""
    used |= {n for n in names if f'"{n}"' in src or f"'{n}'" in src or f"/{n}\"" in src or f"/{n}'" in src}
    return used


def pytest_runtest_setup(item):
    """On a copy of the repo that went to the GPU machine without some checkpoints (scripts/gpu/slim.sh, listed in
    .slimmed), skip each test that reads one of them, with that reason, instead of failing on a missing folder (2026-12-07:
    17 of the 20 failures of the GPU suite were this). Nothing is skipped where .slimmed does not exist (CI, a clone)."""
    if not os.path.exists(os.path.join(ROOT, ".slimmed")):
        return
    import pytest

    names = _shipped_names()
    used = checkpoints_used(item, names)
    missing = sorted(n for n in (names if "*" in used else used) if not_carried(f"checkpoints/{n}"))
    if missing:
        pytest.skip(f"reads checkpoints/{', '.join(missing)}, not carried to this machine (.slimmed, scripts/gpu/slim.sh)")
