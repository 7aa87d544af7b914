#!/usr/bin/env bash
# Issue 9, the ICLR version's extra baseline: the hybrid Mamba-attention model (preset hybrid-small, transformers'
# Jamba; docs/TRAINING.md) on addition, trained on 1-5 digits like Mamba-small in results/addition, on the paper's
# trace and on tool_p3, seeds 0-2, concurrently, capped at $MINUTES each; then evaluated to 1,000 digits through the
# tool loop (the cache path: the attention layers' KV cache grows with the trajectory). One device call (< 10 min).
# NOT RUN YET (written in session 4 after the device time was spent; session 5 trained seed 0 of both traces in
# scripts/gpu/session5_a.sh).
set -uo pipefail
source scripts/gpu/setup.sh || exit 1
MINUTES=${MINUTES:-4.5}; EVAL_S=${EVAL_S:-150}
R=runs/hybrid; mkdir -p $R
BASE="--warmup_steps 100 --weight_decay 0.01 --eval_every 1000000 --eval_samples 8 --save_every 1000000 --report_to none --max_time_minutes $MINUTES --num_workers 2"
for s in 0 1 2; do for c in tool tool_p3; do
  launch hybrid-small-$c-s$s --preset hybrid-small --task addition --config $c --eval_lengths 20 --batch_size 128 --learning_rate 2e-3 --max_steps 2000 --seed $s --data_seed $s
done; done
wait
for d in $R/*/; do d=${d%/}; n=$(basename $d)
  echo "+ python eval.py --model $d --stop-at-divergence --lengths 5,10,20,50,100,200,500,1000 --num-samples 16 --batch-size 16 --out $d/eval" >> $R/commands.txt
  timeout $EVAL_S python3 eval.py --model $d --stop-at-divergence --no-card --lengths 5,10,20,50,100,200,500,1000 --num-samples 16 --batch-size 16 --out $d/eval > $R/$n.eval.log 2>&1 &
done
wait
for d in $R/*/; do n=$(basename $d); echo "== $n $(grep -h steps_completed $d/training_args.json | tr -d ' ,')"; grep -h "exact" $R/$n.eval.log; done
tidy_logs $R
tar czf $OUT/hybrid.tgz --exclude='checkpoint-*' --exclude=tensorboard --exclude='*.safetensors' $R   # < 16 MB: no weights
ls -la $OUT
