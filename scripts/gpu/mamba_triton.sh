#!/usr/bin/env bash
# Issue 6 (and the multiplication row of issue 9) with the Triton selective scan (toolssm/kernels.py): one H200,
# one device call (< 10 min). Concurrently, capped at $MINUTES of training each:
#   Mamba-small addition, the paper's 2-pointer trace, seeds 0, 1, 2 (batch 128, lr 2e-3, 3000 steps)
#   Mamba-small addition, the 3-pointer trace tool_p3, seed 0 (same settings)
#   Mamba-small n x 2 multiplication trained to 10 digits, seed 0 (batch 64, lr 2e-3, 3000 steps)
# then every run is evaluated through the fast tool loop (CUDA graphs) at every length to 1,000 digits with token
# accuracy. Brings back one ckpt-<name>.tgz per run (weights, metrics, eval) and the logs.
set -uo pipefail
source scripts/gpu/setup.sh || exit 1
MINUTES=${MINUTES:-5.5}; EVAL_N=${EVAL_N:-32}; PRESET=${PRESET:-mamba-small}
R=runs/triton; mkdir -p $R
BASE="--warmup_steps 100 --weight_decay 0.01 --eval_every 1000 --eval_samples 8 --save_every 1000000 --num_workers 2 --report_to none --max_time_minutes $MINUTES"
launch() { name=$1; shift; echo "+ python train.py $* $BASE --output_dir $R/$name" >> $R/commands.txt; python3 train.py "$@" $BASE --output_dir $R/$name > $R/$name.log 2>&1 & }
for s in 0 1 2; do launch $PRESET-s$s --preset $PRESET --task addition --eval_lengths 20,50 --batch_size 128 --learning_rate 2e-3 --max_steps 3000 --seed $s --data_seed $s; done
launch $PRESET-p3 --preset $PRESET --task addition --config tool_p3 --eval_lengths 20,50 --batch_size 128 --learning_rate 2e-3 --max_steps 3000 --seed 0 --data_seed 0
launch $PRESET-mul2 --preset $PRESET --task multiplication --config n_x_2 --eval_lengths 20,50 --batch_size 64 --learning_rate 2e-3 --max_steps 3000 --seed 0 --data_seed 0
wait
for d in $R/*/; do
  n=$(basename $d)
  case $n in *mul2) L=5,10,20,50,100,200,500,1000; N=16;; *) L=5,10,20,50,100,200,500,1000; N=$EVAL_N;; esac
  echo "+ python eval.py --model $R/$n --lengths $L --num-samples $N --batch-size $N --out $R/$n/eval" >> $R/commands.txt
  timeout ${EVAL_S:-150} python3 eval.py --model $R/$n --lengths $L --num-samples $N --batch-size $N --out $R/$n/eval > $R/$n.eval.log 2>&1 &
done
wait
for d in $R/*/; do n=$(basename $d); echo "== $n"; grep -h "trained_tokens" $d/metrics.jsonl | tail -1 | cut -c1-160; grep -a -o "toolssm Triton[^.]*\|time budget[^\r]*\|Error[^\r]*" $R/$n.log | sort -u | tail -3; grep -h "exact" $R/$n.eval.log; done
for f in $R/*.log; do tr '\r' '\n' < $f | grep -v "it/s\]\|step/s\]\|s/step\]" > $f.tmp; mv $f.tmp $f; done
tar czf $OUT/logs.tgz $R/*.log $R/commands.txt
for d in $R/*/; do n=$(basename $d); tar czf $OUT/ckpt-$n.tgz --exclude='checkpoint-*' --exclude=tensorboard $d; done
ls -la $OUT
