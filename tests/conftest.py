"""Test-session setup. Without a GPU, Triton kernels (toolssm.kernels) run in Triton's CPU interpreter; the switch is
read when triton is first imported, so it is set here, before any test module imports it."""

import os
import shutil

if shutil.which("nvidia-smi") is None:
    os.environ.setdefault("TRITON_INTERPRET", "1")
