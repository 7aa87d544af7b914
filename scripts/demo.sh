#!/usr/bin/env bash
# The README's main command: set up (CPU, no network beyond PyPI) and run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
python demo.py "$@" 2>&1 | grep -v "falling back to its reference PyTorch\|Loading weights"
