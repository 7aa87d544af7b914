#!/usr/bin/env bash
# The Triton scan's backward-pass memory: every state kept (default) vs a checkpoint every K steps (--scan_chunk K),
# tokens/s and peak GiB at the 130M shape and Mamba-small, loss and gradient norm unchanged. One device call (~3 min).
# Session 4 ran it (paths triton,triton:16,triton:64): benchmarks/results/h200/session4/scan_memory_h200.json.
set -uo pipefail
source scripts/gpu/setup.sh || exit 1
timeout 120 python3 -m pytest -q -m "" -p no:cacheprovider tests/test_kernels.py 2>&1 | tail -3 | tee $OUT/gpu_tests.log
timeout 300 python3 benchmarks/bench_mamba_train.py --presets mamba-small,mamba-130m --batch 64 --length 512 \
  --paths triton,triton:16,triton:32,triton:64 --out $OUT/scan_memory_h200.json 2>&1 | grep -v "^\[transformers\]" | tail -12
