#!/usr/bin/env bash
# Issues 4 + 8 on one H200 (one device call, ~8 min): the GPU exactness tests of the static/CUDA-graph decoding step
# and the Triton scan, then the benchmarks (tool loop vs previous loop vs naive vs HF generate, with the physical
# floor; Mamba training step by scan path; end-to-end evaluation and Hanoi wall times). Results land in $OUT.
set -uo pipefail
source scripts/gpu/setup.sh || exit 1
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,clocks.mem,power.draw --format=csv > $OUT/gpu.txt 2>&1
step() { local name=$1 secs=$2; shift 2; echo "=== $name"; timeout $secs "$@" 2>&1 | grep -v "^\[transformers\]" | tee $OUT/$name.log | tail -${TAIL:-25}; }
step gpu_tests 150 python3 -m pytest -q -m "" -p no:cacheprovider tests/test_fast.py tests/test_kernels.py
step bench_tool_loop 280 python3 benchmarks/bench_tool_loop.py --presets mamba-130m,mamba-small --device cuda --lengths 100,1000 \
  --batch-sizes 1,64 --max-tokens 4000 --slow-tokens 300 --naive-tokens ${NAIVE:-30} --out $OUT/tool_loop_h200.json
step bench_mamba_train 90 python3 benchmarks/bench_mamba_train.py --presets mamba-small,mamba-130m --batch 64 --length 128 \
  --paths triton,mambapy --out $OUT/mamba_train_h200.json
step bench_end_to_end 200 python3 benchmarks/bench_end_to_end.py --device cuda --out $OUT/end_to_end_h200.json
ls -la $OUT
