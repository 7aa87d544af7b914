#!/usr/bin/env bash
# The README's main command: set up (CPU, no network beyond PyPI) and run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "setting up .venv (first time: ~1-2 minutes; later: a few seconds)"
bash scripts/setup.sh
. .venv/bin/activate
PYTHONUNBUFFERED=1 python demo.py "$@"
