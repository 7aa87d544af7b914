#!/usr/bin/env bash
# Issue 8, the batch-64 target: does the tool loop reach 50k tokens/s at batch 64 (130M shape) with the host one step
# behind the device (pipeline=True), and once the step's matrix products leave full float32 (TF32 tensor cores, or
# bf16 weights)? Does greedy decoding stay exact? First the GPU exactness tests (pipelined loop included).
# One device call (~6 min); results go to $OUT. Session 4 ran these steps (with per-step timeouts under one 560 s
# deadline): benchmarks/results/h200/session4/README.md.
set -uo pipefail
source scripts/gpu/setup.sh || exit 1
step() { local name=$1 secs=$2; shift 2; echo "=== $name"; timeout $secs "$@" 2>&1 | grep -v "^\[transformers\]" | tee $OUT/$name.log | tail -${TAIL:-12}; }
step gpu_tests 150 python3 -m pytest -q -m "" -p no:cacheprovider tests/test_fast.py tests/test_kernels.py
B="python3 benchmarks/bench_tool_loop.py --pipeline --presets mamba-130m --device cuda --lengths 1000 --batch-sizes 1,64 --max-tokens 4000 --slow-tokens 200 --naive-tokens 0"
step fp32 100 $B --out $OUT/tool_loop_fp32.json
step tf32 100 $B --tf32 --out $OUT/tool_loop_tf32.json
step bf16 100 $B --dtype bfloat16 --out $OUT/tool_loop_bf16.json
# exactness on a trained model: the shipped checkpoint at 1,000 digits, float32 vs bfloat16 weights
for dt in float32 bfloat16; do
  step eval_$dt 120 python3 eval.py --model checkpoints/addition-mamba-small-p3 --lengths 1000 --num-samples 32 --batch-size 32 --dtype $dt --no-card --out $OUT/eval_$dt
done
ls -la $OUT
