#!/usr/bin/env bash
# Issue 6, phase A (one H200, < 10 min): train Mamba (3 seeds), LSTM and a Pythia-style Transformer on 1-5 digit
# addition concurrently on one GPU, then evaluate each at 5..100 digits. Results (logs, metrics, eval JSON/CSV/plots,
# final checkpoints) go to $OUT/runs-addition.tgz.
#   bash scripts/gpu/addition_train.sh            (on the GPU machine, from the repo root, with .whl carried)
# Environment knobs (defaults are what the committed results used): STEPS, MINUTES, BATCH, MAMBA, LSTM, PYTHIA, EVAL_N.
set -uo pipefail
source scripts/gpu/setup.sh || exit 1
STEPS=${STEPS:-2000}; MINUTES=${MINUTES:-5.5}; BATCH=${BATCH:-64}; EVAL_N=${EVAL_N:-32}
MAMBA=${MAMBA:-mamba-small}; LSTM=${LSTM:-lstm-small}; PYTHIA=${PYTHIA:-pythia-small}
R=runs/addition; mkdir -p $R
COMMON="--task addition --max_steps $STEPS --batch_size $BATCH --warmup_steps 100 --weight_decay 0.01 --eval_every 500 --eval_samples 16 --eval_lengths 5,20 --save_every 1000000 --num_workers 2 --max_time_minutes $MINUTES"
launch() { name=$1; shift; echo "+ python train.py $* $COMMON --output_dir $R/$name" >> $R/commands.txt; python3 train.py "$@" $COMMON --output_dir $R/$name > $R/$name.log 2>&1 & }
for s in 0 1 2; do launch mamba-s$s --preset $MAMBA --seed $s --data_seed $s --learning_rate 2e-3; done
launch lstm-s0 --preset $LSTM --seed 0 --data_seed 0 --learning_rate 1e-3
launch pythia-s0 --preset $PYTHIA --seed 0 --data_seed 0 --learning_rate 1e-3
wait
for d in $R/*/; do n=$(basename $d); tail -n 3 $R/$n.log; done
for d in $R/*/; do
  n=$(basename $d)
  echo "+ python eval.py --model $R/$n --lengths 5,10,20,50,100 --num-samples $EVAL_N --batch-size $EVAL_N --stop-at-divergence --out $R/$n/eval_short" >> $R/commands.txt
  python3 eval.py --model $R/$n --lengths 5,10,20,50,100 --num-samples $EVAL_N --batch-size $EVAL_N --stop-at-divergence --out $R/$n/eval_short > $R/$n.eval_short.log 2>&1 &
done
wait
cat $R/*.eval_short.log | grep -v Loading
tar czf $OUT/runs-addition.tgz --exclude='checkpoint-*' runs/addition
ls -la $OUT
