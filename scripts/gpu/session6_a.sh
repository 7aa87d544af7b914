#!/usr/bin/env bash
# Session 6, device call 1 (< 10 min, one H200). Issue 9:
#   D.8 task mixture: Mamba-small on n x 2 multiplication (the paper's trace, config n_x_2) with first operands of 1-20
#   digits, plus n+n addition (paper trace, 1-20 digits) at mixing fractions w = 0, 0.33, 0.5, 0.6 (auxiliary weight
#   0, 0.5, 1, 1.5 against the main task's 1), seeds 0 and 1. Budgets 250/500/800 steps are checkpoints 250, 500 and
#   the final model of ONE run per (w, seed) with a constant learning rate after 50 warmup steps: with a constant lr
#   the step-250 checkpoint is exactly a 250-step run (same data order), so 8 runs give the paper's 24 points.
#   Hybrid Mamba-attention (hybrid-small) on addition tool_p3, seeds 1 and 2 (seed 0: session 5, results/table1/call4).
# All 10 trainings concurrently, capped at $MINUTES each. Then every budget is evaluated through the tool loop
# (greedy, --stop-at-divergence, 16 problems per size) under timeouts; results back, no weights.
set -uo pipefail
source scripts/gpu/setup.sh || exit 1
MINUTES=${MINUTES:-4.9}; EVAL_S=${EVAL_S:-150}
R=runs/s6a; mkdir -p $R
BASE="--weight_decay 0.01 --eval_every 1000000 --eval_samples 8 --report_to none --max_time_minutes $MINUTES --num_workers 2"
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
MIX="--preset mamba-small --task multiplication --config n_x_2 --train_max_n 20 --eval_lengths 20 --batch_size 32 --lr_scheduler constant_with_warmup --warmup_steps 50 --learning_rate 2e-3 --max_steps 800 --save_every 250 --save_total_limit 5"
for s in 0 1; do
  launch mix-w0-s$s $MIX --seed $s --data_seed $s
  for wa in 33:0.5 50:1 60:1.5; do launch mix-w${wa%%:*}-s$s $MIX --mixture addition:tool:${wa#*:}:20 --seed $s --data_seed $s; done
done
for s in 1 2; do
  launch hybrid-small-tool_p3-s$s --preset hybrid-small --task addition --config tool_p3 --eval_lengths 20 --batch_size 128 --warmup_steps 100 --learning_rate 2e-3 --max_steps 1100 --save_every 1000000 --seed $s --data_seed $s
done
wait
for d in $R/mix-*/; do d=${d%/}
  for c in checkpoint-250 checkpoint-500; do [ -d $d/$c ] && eval_run $d/$c $d/eval-$c --lengths 20,40,100,200 --num-samples 16 --batch-size 16 & done
  eval_run $d $d/eval-final --lengths 20,40,100,200 --num-samples 16 --batch-size 16 &
done
for s in 1 2; do d=$R/hybrid-small-tool_p3-s$s
  eval_run $d $d/eval --lengths 5,10,20,50,100,200,500 --num-samples 16 --batch-size 16 &
  eval_run $d $d/eval_1000 --lengths 1000 --num-samples 8 --batch-size 8 &
done
wait
report_runs $R
for f in $R/*/eval*.log; do echo "-- $f"; grep -h "exact" $f | tail -4; done
tidy_logs $R
tar czf $OUT/results.tgz --exclude=accelerate_state --exclude=tensorboard --exclude='*.safetensors' $R
ls -la $OUT; du -sh $OUT
