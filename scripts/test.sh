#!/usr/bin/env bash
# The one test command: README and CI both run this. Extra arguments go to pytest. The suite runs on
# TOOLSSM_TEST_WORKERS pytest-xdist workers (default 2, CI's cores; 0 runs it in one process), each computing on one
# thread (tests/conftest.py): 941 s in one process on 2 cores, 554 s on two workers (2026-12-07).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
python -m pytest -q -n "${TOOLSSM_TEST_WORKERS:-2}" --durations=25 "$@"
