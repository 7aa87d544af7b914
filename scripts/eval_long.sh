#!/usr/bin/env bash
# CPU evaluation of the GPU-trained addition checkpoints at every test length up to 1,000 digits (the GPU lease ran
# out before these lengths could be evaluated there). Usage: bash scripts/eval_long.sh RUNS_DIR RESULTS_DIR
#   RUNS_DIR holds <group>/<run>/ checkpoint folders (unpacked ckpt-*.tgz); results go to RESULTS_DIR/<group>/<run>/eval_cpu.
set -uo pipefail
RUNS=$1; RES=$2; N=${N:-32}
. .venv/bin/activate
for ckpt in "$RUNS"/*/*/; do
  grp=$(basename "$(dirname "$ckpt")"); run=$(basename "$ckpt")
  [ -f "$ckpt/model.safetensors" ] || continue
  out=$RES/$grp/$run/eval_cpu; mkdir -p "$out"
  extra="--no-token-accuracy"; case $run in lstm*) extra="";; esac
  cmd="python eval.py --model $ckpt --task addition --lengths 5,10,20,50,100,200,500,1000 --num-samples $N --batch-size $N --stop-at-divergence $extra --no-card --out $out"
  echo "+ $cmd" | tee -a "$RES/eval_cpu_commands.txt"
  $cmd 2>&1 | grep -v "Loading\|falling back" | tee "$out/log.txt"
done
