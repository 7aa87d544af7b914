#!/usr/bin/env bash
# Create .venv with the CPU build of torch and toolssm (editable, with test extras). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
log=.venv/setup.log
quiet() { "$@" >>"$log" 2>&1 || { cat "$log"; echo "setup failed: $*" >&2; exit 1; }; }
quiet python -m pip install -q --upgrade pip
# The CPU build first, so that the torch requirement below is already satisfied (no multi-GB CUDA build).
python -c "import torch" 2>/dev/null || quiet python -m pip install -q "torch==2.13.0"
# constraints.txt: the tested versions (a new release of a dependency must not change what CI tests)
quiet python -m pip install -q -c constraints.txt -e ".[test]"
