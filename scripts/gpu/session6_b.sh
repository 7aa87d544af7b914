#!/usr/bin/env bash
# Session 6, device call 2 (< 10 min, one H200). Issue 9:
#   iterative Tower of Hanoi, Mamba-small, seeds 0, 1, 2 (sessions 3/5 got 155-713 steps sharing the GPU with up to 9
#   runs: untrained); here 5 runs share it, cosine schedule to 1,400 steps, capped at $MINUTES.
#   logical graph with the paper-size LSTM and GRU (4 x 1536; lstm-small/gru-small did not learn it in sessions 3 and 5).
# Then evaluations through the tool loop under timeouts (greedy, --stop-at-divergence); results back, no weights.
set -uo pipefail
source scripts/gpu/setup.sh || exit 1
MINUTES=${MINUTES:-5.8}; EVAL_S=${EVAL_S:-150}
R=runs/s6b; mkdir -p $R
BASE="--weight_decay 0.01 --eval_every 1000000 --save_every 1000000 --report_to none --max_time_minutes $MINUTES --num_workers 2"
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
for s in 0 1 2; do
  launch hanoi-it-mamba-s$s --preset mamba-small --task hanoi --config iterative --train_max_n 8 --batch_size 8 --max_length 16384 --eval_lengths 4 --eval_samples 4 --warmup_steps 100 --learning_rate 2e-3 --max_steps 1400 --seed $s --data_seed $s
done
for a in lstm gru; do
  launch graph-$a-full --preset $a --task logical_graph --train_max_n 10 --eval_lengths 10,20 --eval_samples 8 --batch_size 64 --warmup_steps 100 --learning_rate 1e-3 --max_steps 1500 --seed 0
done
wait
for s in 0 1 2; do d=$R/hanoi-it-mamba-s$s
  eval_run $d $d/eval --lengths 4,5,6,7,8 --num-samples 4 --batch-size 4 &
  eval_run $d $d/eval_9 --lengths 9 --num-samples 2 --batch-size 2 &
  eval_run $d $d/eval_10 --lengths 10 --num-samples 1 --batch-size 1 &
done
for a in lstm gru; do d=$R/graph-$a-full
  eval_run $d $d/eval --lengths 10,20,50,100,200,500,1000 --num-samples 16 --batch-size 16 &
done
wait
report_runs $R
for f in $R/*/eval*.log; do echo "-- $f"; grep -h "exact" $f | tail -5; done
tidy_logs $R
tar czf $OUT/results.tgz --exclude=accelerate_state --exclude=tensorboard --exclude='*.safetensors' $R
pack_weights hanoi hanoi-it-mamba-s0 hanoi-it-mamba-s1 hanoi-it-mamba-s2
ls -la $OUT; du -sh $OUT
