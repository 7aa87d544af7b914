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
