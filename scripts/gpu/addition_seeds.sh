#!/usr/bin/env bash
# Issue 6, phase C (one H200, < 10 min): the configurations that generalized best in the sweep, on more seeds:
# Mamba-small (batch 64, lr 2e-3, 3500 steps) seeds 0-2 and LSTM-small (batch 128, lr 2e-3, 4000 steps) seeds 1-2,
# concurrently; then each is evaluated at 50..200 digits on the GPU. Longer lengths (500, 1000) are evaluated on CPU
# from the returned checkpoints (scripts/eval_long.sh). Brings back results-seeds.tgz and one ckpt-<name>.tgz per run.
#   bash scripts/gpu/addition_seeds.sh
set -uo pipefail
source scripts/gpu/setup.sh || exit 1
MINUTES=${MINUTES:-6.5}; EVAL_N=${EVAL_N:-16}; LENGTHS=${LENGTHS:-50,100,200}
R=runs/seeds; mkdir -p $R
BASE="--task addition --warmup_steps 100 --weight_decay 0.01 --eval_every 1000 --eval_samples 8 --eval_lengths 20,50 --save_every 1000000 --num_workers 2 --report_to none --max_time_minutes $MINUTES"
launch() { name=$1; shift; echo "+ python train.py $* $BASE --output_dir $R/$name" >> $R/commands.txt; python3 train.py "$@" $BASE --output_dir $R/$name > $R/$name.log 2>&1 & }
for s in 0 1 2; do launch mamba-small-s$s --preset mamba-small --batch_size 64 --learning_rate 2e-3 --max_steps 3500 --seed $s --data_seed $s; done
for s in 1 2; do launch lstm-small-s$s --preset lstm-small --batch_size 128 --learning_rate 2e-3 --max_steps 4000 --seed $s --data_seed $s; done
wait
for d in $R/*/; do
  n=$(basename $d)
  echo "+ python eval.py --model $R/$n --lengths $LENGTHS --num-samples $EVAL_N --batch-size $EVAL_N --stop-at-divergence --no-token-accuracy --out $R/$n/eval" >> $R/commands.txt
  timeout 100 python3 eval.py --model $R/$n --lengths $LENGTHS --num-samples $EVAL_N --batch-size $EVAL_N --stop-at-divergence --no-token-accuracy --out $R/$n/eval > $R/$n.eval.log 2>&1 &
done
wait
for d in $R/*/; do n=$(basename $d); echo "== $n"; tail -n 1 $d/metrics.jsonl; grep -a -o "time budget[^\r]*\|OutOfMemoryError" $R/$n.log | tail -1; grep -h "exact" $R/$n.eval.log; done
for f in $R/*.log; do tr '\r' '\n' < $f | grep -v "it/s\]\|step/s\]\|s/step\]" > $f.tmp; mv $f.tmp $f; done  # drop progress-bar frames
tar czf $OUT/results-seeds.tgz --exclude='*.safetensors' runs/seeds
for d in $R/*/; do n=$(basename $d); tar czf $OUT/ckpt-$n.tgz --exclude=eval --exclude=tensorboard $d; done
ls -la $OUT
