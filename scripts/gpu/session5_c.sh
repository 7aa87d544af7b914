#!/usr/bin/env bash
# Session 5, device call 3 (< 9 min, one H200): evaluations only, of runs whose weights are carried from calls 1-2:
#   runs/s5a/hybrid-small-tool_p3 (the hybrid baseline, addition, 3 pointers) at 500 and 1,000 digits
#   runs/s5b/mul2a-mamba-s0-cont and -s2-cont (n x 2 aligned, Mamba-small, continued) at 500 and 1,000 digits
#   runs/s5b/hanoi-rec-pythia-s0 (recursive Hanoi, Pythia-small) at 8 and 9 disks, one problem each
# every evaluation its own process under one timeout (16 problems unless noted, --stop-at-divergence).
set -uo pipefail
source scripts/gpu/setup.sh || exit 1
EVAL_S=${EVAL_S:-440}
R=runs/s5c; mkdir -p $R
ev() { d=$1; out=$2; shift 2; n=$(basename $d); echo "+ python eval.py --model $d --stop-at-divergence $* --out $d/$out" >> $R/commands.txt
  timeout $EVAL_S python3 eval.py --model $d --stop-at-divergence --no-card "$@" --out $d/$out >> $R/$n.$out.log 2>&1; }
ev runs/s5a/hybrid-small-tool_p3 eval_gpu_500 --lengths 500 --num-samples 16 --batch-size 16 &
ev runs/s5a/hybrid-small-tool_p3 eval_gpu_1000 --lengths 1000 --num-samples 8 --batch-size 8 &
for n in mul2a-mamba-s0-cont mul2a-mamba-s2-cont; do
  ev runs/s5b/$n eval_gpu_500 --lengths 500 --num-samples 16 --batch-size 16 &
  ev runs/s5b/$n eval_gpu_1000 --lengths 1000 --num-samples 16 --batch-size 16 &
done
ev runs/s5b/hanoi-rec-pythia-s0 eval_gpu_long --lengths 8,9 --num-samples 1 --batch-size 1 &
wait
grep -h "exact" $R/*.log
tidy_logs $R
tar czf $OUT/results.tgz $R runs/s5a/hybrid-small-tool_p3/eval_gpu_* runs/s5b/*/eval_gpu_*
ls -la $OUT
