#!/usr/bin/env bash
# The open GPU rows of issues 6 and 9 in one device call (< 10 min, one H200), prepared in session 4 (NOT RUN YET).
# GPU tests first; only if they pass, all runs concurrently, each capped at $MINUTES of training (the Triton scan now
# keeps one state per 64 steps, 2.4x less memory than the every-state path that ran 18 processes out of memory):
#   issue 6: Mamba-small n x 2 multiplication, aligned trace, seeds 1 and 2, full 2,000-step schedule
#   issue 9: the hybrid Mamba-attention baseline (hybrid-small) on addition, tool_p3 and the paper's trace, seed 0;
#            the D.7 addition ablations with Mamba-small (direct, reversed, no_tool, calculator);
#            Mamba-small n x 1 aligned, seed 1
# then every run is evaluated through the tool loop (16 problems per size, --stop-at-divergence), and each run's
# folder comes back without weights except the multiplication ones (one archive each, < 16 MB; at most 8 files).
set -uo pipefail
source scripts/gpu/setup.sh || exit 1
MINUTES=${MINUTES:-5}; EVAL_S=${EVAL_S:-150}
R=runs/next; mkdir -p $R
gpu_tests_gate $R/gpu_tests.log || exit 1
BASE="--warmup_steps 100 --weight_decay 0.01 --eval_every 1000000 --eval_samples 8 --save_every 1000000 --report_to none --max_time_minutes $MINUTES --num_workers 2"
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
for s in 1 2; do
  launch mul2a-mamba-s$s --preset mamba-small --task multiplication --config n_x_2_aligned --train_max_n 10 --eval_lengths 10,20 --batch_size 64 --learning_rate 2e-3 --max_steps 2000 --seed $s --data_seed $s
done
launch mul1a-mamba-s1 --preset mamba-small --task multiplication --config n_x_1_aligned --train_max_n 10 --eval_lengths 10,20 --batch_size 64 --learning_rate 2e-3 --max_steps 2000 --seed 1 --data_seed 1
for c in tool tool_p3; do
  launch hybrid-small-$c --preset hybrid-small --task addition --config $c --eval_lengths 20 --batch_size 128 --learning_rate 2e-3 --max_steps 2000 --seed 0
done
for c in direct reversed no_tool calculator; do
  launch abl-$c-mamba --preset mamba-small --task addition --config $c --eval_lengths 5,10 --batch_size 128 --learning_rate 2e-3 --max_steps 2000 --seed 0
done
wait
for d in $R/*/; do d=${d%/}; n=$(basename $d)
  case $n in mul*) L=10,20,50,100,200,500,1000;; abl*) L=5,10,20,50,100;; *) L=5,10,20,50,100,200,500,1000;; esac
  echo "+ python eval.py --model $d --stop-at-divergence --lengths $L --num-samples 16 --batch-size 16 --out $d/eval" >> $R/commands.txt
  timeout $EVAL_S python3 eval.py --model $d --stop-at-divergence --no-card --lengths $L --num-samples 16 --batch-size 16 --out $d/eval > $R/$n.eval.log 2>&1 &
done
wait
for d in $R/*/; do n=$(basename $d); echo "== $n $(grep -h steps_completed $d/training_args.json 2>/dev/null | tr -d ' ,')"; grep -a -o "Error[^\r]*" $R/$n.log | sort -u | tail -2; grep -h "exact" $R/$n.eval.log | tail -8; done
for f in $R/*.log; do tr '\r' '\n' < $f | grep -v "it/s\]\|step/s\]\|s/step\]\|tok/s\]" > $f.tmp; mv $f.tmp $f; done
tar czf $OUT/results.tgz --exclude='checkpoint-*' --exclude=tensorboard --exclude='*.safetensors' $R
for n in mul2a-mamba-s1 mul2a-mamba-s2 mul1a-mamba-s1; do tar czf $OUT/w-$n.tgz $R/$n/*.safetensors $R/$n/*.json 2>/dev/null; done
ls -la $OUT
