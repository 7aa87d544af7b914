#!/usr/bin/env bash
# The one test command: README and CI both run this. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
python -m pytest -q --durations=25 "$@"
