#!/usr/bin/env bash
# CPU evaluation of the GPU-trained addition checkpoints (the GPU lease ran out before long lengths could be
# evaluated there). Usage: bash scripts/eval_long.sh RUNS_DIR RESULTS_DIR [RUN_GLOB...]
#   RUNS_DIR holds <group>/<run>/ checkpoint folders (unpacked ckpt-*.tgz); results go to RESULTS_DIR/<group>/<run>/eval_cpu.
#   LSTM runs are evaluated to 1,000 digits with token accuracy; Mamba runs (which the GPU evaluation already showed
#   at 0% from 100 digits on, and whose CPU decode is slow) to 200 digits without it.
set -uo pipefail
RUNS=$1; RES=$2; shift 2; N=${N:-32}
. .venv/bin/activate
for pat in "${@:-*/*}"; do for ckpt in "$RUNS"/$pat/; do
  grp=$(basename "$(dirname "$ckpt")"); run=$(basename "$ckpt")
  [ -f "$ckpt/model.safetensors" ] || continue
  out=$RES/$grp/$run/eval_cpu; mkdir -p "$out"
  case $run in
    lstm*|gru*) extra="--lengths 5,10,20,50,100,200,500,1000";;
    *) extra="--lengths 5,10,20,50,100,200 --no-token-accuracy";;
  esac
  cmd="python eval.py --model $ckpt --task addition --num-samples $N --batch-size $N --stop-at-divergence $extra --no-card --out $out"
  echo "+ $cmd" | tee -a "$RES/eval_cpu_commands.txt"
  PYTHONUNBUFFERED=1 $cmd 2>&1 | grep -v "Loading\|falling back" | tee "$out/log.txt"
done; done
