#!/usr/bin/env bash
# Session 6, device call 3 (< 9 min, one H200), run on the machine still warm from call 2 (scripts/gpu/session6_b.sh),
# whose runs/s6b/ folders it trains on: iterative Hanoi Mamba-small seeds 0 and 1 continued from their ~300 steps
# (--init_from: new AdamW state, cosine to 1,500 steps at lr 1.5e-3 with 50 warmup steps, new data seed), two runs
# alone on the GPU, capped at 6.2 minutes; then evaluated at 4-9 disks (4 problems each, 75 s timeout). Weights back.
# (Recorded from the one-line command the call ran; the launch/report/tidy/pack helpers are scripts/gpu/setup.sh's.)
set -uo pipefail
source scripts/gpu/setup.sh >/dev/null || exit 1
[ -d runs/s6b/hanoi-it-mamba-s0 ] || { echo "needs call 2's runs/s6b on this machine"; exit 1; }
R=runs/s6c; mkdir -p $R
BASE="--weight_decay 0.01 --eval_every 1000000 --save_every 1000000 --report_to none --max_time_minutes 6.2 --num_workers 3"
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
for s in 0 1; do
  launch hanoi-it-mamba-s$s-cont --preset mamba-small --init_from runs/s6b/hanoi-it-mamba-s$s --task hanoi --config iterative --train_max_n 8 --batch_size 8 --max_length 16384 --eval_lengths 4 --eval_samples 4 --warmup_steps 50 --learning_rate 1.5e-3 --max_steps 1500 --seed 1$s --data_seed 1$s
done
wait
for s in 0 1; do d=$R/hanoi-it-mamba-s$s-cont
  echo "+ python eval.py --model $d --stop-at-divergence --lengths 4,5,6,7,8,9 --num-samples 4 --batch-size 4 --out $d/eval" >> $R/commands.txt
  timeout 75 python3 eval.py --model $d --stop-at-divergence --no-card --lengths 4,5,6,7,8,9 --num-samples 4 --batch-size 4 --out $d/eval > $d.eval.log 2>&1 &
done
wait
report_runs $R; tidy_logs $R
tar czf $OUT/results.tgz --exclude=tensorboard --exclude='*.safetensors' $R
pack_weights h0 hanoi-it-mamba-s0-cont; pack_weights h1 hanoi-it-mamba-s1-cont
ls -la $OUT
