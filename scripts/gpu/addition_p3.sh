#!/usr/bin/env bash
# Issue 6, phase D (the last ~4 device minutes): the 3-pointer addition variant (tool_p3), LSTM-small and Mamba-small,
# 2 minutes of training each, evaluated at 50..200 digits. Tests the hypothesis from phase C's failures (docs/FORMATS.md).
set -uo pipefail
source scripts/gpu/setup.sh || exit 1
R=runs/p3; mkdir -p $R
BASE="--task addition --config tool_p3 --warmup_steps 100 --weight_decay 0.01 --eval_every 0 --eval_samples 4 --eval_lengths 20 --save_every 1000000 --num_workers 2 --report_to none --max_time_minutes ${MINUTES:-2}"
python3 train.py --preset lstm-small --batch_size 128 --learning_rate 2e-3 --max_steps 2000 --seed 0 $BASE --output_dir $R/lstm-small-p3 > $R/lstm.log 2>&1 &
python3 train.py --preset mamba-small --batch_size 64 --learning_rate 2e-3 --max_steps 2500 --seed 0 $BASE --output_dir $R/mamba-small-p3 > $R/mamba.log 2>&1 &
wait
for n in lstm-small-p3 mamba-small-p3; do tail -c 300 $R/$n/metrics.jsonl; (timeout 50 python3 eval.py --model $R/$n --lengths 50,100,200 --num-samples 8 --batch-size 8 --stop-at-divergence --no-token-accuracy --out $R/$n/eval 2>&1 | grep exact) & done
wait
tar czf $OUT/p3.tgz --exclude='*.log' runs/p3
