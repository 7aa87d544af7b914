#!/usr/bin/env bash
# Session 4, device call 1 (< 10 min, one H200): first the GPU tests of the restructured Triton scan kernels and the
# fast tool loop; only if they pass, training (all concurrently, capped at $MINUTES each):
#   issue 6: Mamba-small addition on tool_p3, seeds 2, 3, 4, the full 2,000-step cosine schedule (batch 128, lr 2e-3)
#   issue 6/9: n x 1 and n x 2 multiplication on the `aligned` trace (docs/FORMATS.md), trained to 10 digits,
#              Mamba-small and LSTM-small (batch 64, lr 2e-3, 3,000-step schedule)
# then a short in-call evaluation (GPU, 16 problems) and every run's weights + logs in $OUT; the long evaluations
# (to 1,000 digits) run in a later call from the carried weights (scripts/gpu/session4_eval.sh).
set -uo pipefail
source scripts/gpu/setup.sh || exit 1
MINUTES=${MINUTES:-5.2}; EVAL_S=${EVAL_S:-70}
R=runs/s4; mkdir -p $R
gpu_tests_gate $OUT/gpu_tests.log || exit 1
BASE="--warmup_steps 100 --weight_decay 0.01 --eval_every 1000000 --eval_samples 8 --save_every 1000000 --report_to none --max_time_minutes $MINUTES --num_workers 2"
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
for s in 2 3 4; do
  launch add-p3-mamba-s$s --preset mamba-small --task addition --config tool_p3 --eval_lengths 20 --batch_size 128 --learning_rate 2e-3 --max_steps 2000 --seed $s --data_seed $s
done
for a in mamba lstm; do for k in 1 2; do
  launch mul${k}a-$a --preset $a-small --task multiplication --config n_x_${k}_aligned --train_max_n 10 --eval_lengths 10,20 --batch_size 64 --learning_rate 2e-3 --max_steps 3000 --seed 0 --data_seed 0
done; done
wait
nvidia-smi --query-gpu=memory.used --format=csv > $OUT/gpu_after_train.txt 2>&1
for d in $R/*/; do d=${d%/}; n=$(basename $d)
  case $n in add*) L=20,100;; *) L=10,20,50;; esac
  echo "+ python eval.py --model $d --stop-at-divergence --lengths $L --num-samples 16 --batch-size 16 --out $d/eval" >> $R/commands.txt
  timeout $EVAL_S python3 eval.py --model $d --stop-at-divergence --no-card --lengths $L --num-samples 16 --batch-size 16 --out $d/eval > $R/$n.eval.log 2>&1 &
done
wait
report_runs $R 4
tidy_logs $R
tar czf $OUT/logs.tgz $R/*.log $R/commands.txt
for d in $R/*/; do n=$(basename $d); tar czf $OUT/run-$n.tgz --exclude='checkpoint-*' --exclude=tensorboard $d; done  # < 16 MB each
ls -la $OUT
