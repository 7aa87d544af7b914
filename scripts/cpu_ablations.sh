#!/usr/bin/env bash
# Issue 9, the addition ablations of paper D.7 at CPU scale (no GPU budget was left): a small model trained on 1-5
# digit addition in each ablated format (direct answer, reversed answer, single-turn calculator, no tool = the same
# trajectory with the observations predicted by the model), evaluated in and beyond the training range.
# Results: results/ablations/. The paper's D.7 uses Mamba; on 2 CPU cores a Mamba-small training step (batch 64)
# takes ~3 s (mambapy) against ~0.1 s for LSTM-small, so the default here is LSTM-small (PRESET=mamba-small to change).
# The tool-trace control is the GPU-trained LSTM-small runs in results/addition.
#   bash scripts/cpu_ablations.sh            (about 20 minutes on 2 cores with the defaults)
set -uo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
STEPS=${STEPS:-1500}; MIN=${MINUTES:-5}; N=${EVAL_N:-32}; PRESET=${PRESET:-lstm-small}
R=results/ablations; mkdir -p $R
for cfg in ${CONFIGS:-direct reversed calculator no_tool}; do
  cmd="python train.py --preset $PRESET --task addition --config $cfg --batch_size 64 --learning_rate 2e-3 --max_steps $STEPS --warmup_steps 50 --weight_decay 0.01 --eval_every 0 --eval_samples 8 --eval_lengths 5 --save_every 1000000 --num_workers 1 --report_to none --max_time_minutes $MIN --seed 0 --data_seed 0 --output_dir runs/ablations/$cfg"
  echo "+ $cmd" >> $R/commands.txt
  $cmd > $R/$cfg.train.log 2>&1
  ev="python eval.py --model runs/ablations/$cfg --lengths 3,5,6,8,10,20 --num-samples $N --batch-size $N --no-token-accuracy --stop-at-divergence --no-card --out $R/$cfg/eval"
  echo "+ $ev" >> $R/commands.txt
  $ev 2>&1 | grep -v "falling back\|Loading" | tee $R/$cfg.eval.log
  for f in metrics.jsonl training_args.json config.json; do cp runs/ablations/$cfg/$f $R/$cfg/; done
done
