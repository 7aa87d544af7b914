#!/usr/bin/env bash
# Session 5, device call 1 (< 10 min, one H200). Training, all concurrently, capped at $MINUTES each, with schedules
# sized so the cosine (nearly) finishes inside the cap (session 4's n x 2 run stopped at a third of its schedule):
#   issue 6: Mamba-small n x 2 multiplication, aligned trace, seeds 1, 2, 3 (900-step schedule, batch 64)
#   issue 9: Mamba-small n x 1 aligned, seed 1; the hybrid Mamba-attention baseline (hybrid-small) on addition,
#            tool_p3 and the paper's trace; the D.7 addition ablations with Mamba-small (direct, reversed, no_tool,
#            calculator), trained on 1-5 digits like the tool runs
# The GPU tests (compiled Triton scan incl. Jamba's layers, fused step, CUDA graphs, pipelined loop) run beside the
# training, not before it (they passed in session 4; the Jamba patch is new since), and their log comes back.
# Then a first GPU evaluation (16 problems per size, --stop-at-divergence) up to what fits in $EVAL_S, and the
# weights (the long multiplication evaluations are the next call).
set -uo pipefail
source scripts/gpu/setup.sh || exit 1
MINUTES=${MINUTES:-5.7}; EVAL_S=${EVAL_S:-110}
R=runs/s5a; mkdir -p $R
(timeout 240 python3 -m pytest -q -m "" -p no:cacheprovider tests/test_kernels.py tests/test_fast.py > $R/gpu_tests.log 2>&1 &)
BASE="--warmup_steps 100 --weight_decay 0.01 --eval_every 1000000 --eval_samples 8 --save_every 1000000 --report_to none --max_time_minutes $MINUTES --num_workers 2"
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
for s in 1 2 3; do
  launch mul2a-mamba-s$s --preset mamba-small --task multiplication --config n_x_2_aligned --train_max_n 10 --eval_lengths 10,20 --batch_size 64 --learning_rate 2e-3 --max_steps 900 --seed $s --data_seed $s
done
launch mul1a-mamba-s1 --preset mamba-small --task multiplication --config n_x_1_aligned --train_max_n 10 --eval_lengths 10,20 --batch_size 64 --learning_rate 2e-3 --max_steps 900 --seed 1 --data_seed 1
for c in tool tool_p3; do
  launch hybrid-small-$c --preset hybrid-small --task addition --config $c --eval_lengths 20 --batch_size 128 --learning_rate 2e-3 --max_steps 1100 --seed 0
done
for c in direct reversed no_tool calculator; do
  launch abl-$c-mamba --preset mamba-small --task addition --config $c --eval_lengths 5,10 --batch_size 128 --learning_rate 2e-3 --max_steps 1400 --seed 0
done
wait
nvidia-smi --query-gpu=memory.used --format=csv >> $R/gpu_tests.log 2>&1
for d in $R/*/; do d=${d%/}; n=$(basename $d)
  case $n in mul*) L=10,20,50,100,200;; abl*) L=5,10,20,50,100;; *) L=5,10,20,50,100,200,500,1000;; esac
  echo "+ python eval.py --model $d --stop-at-divergence --lengths $L --num-samples 16 --batch-size 16 --out $d/eval" >> $R/commands.txt
  timeout $EVAL_S python3 eval.py --model $d --stop-at-divergence --no-card --lengths $L --num-samples 16 --batch-size 16 --out $d/eval > $R/$n.eval.log 2>&1 &
done
wait
tail -3 $R/gpu_tests.log
report_runs $R
tidy_logs $R
tar czf $OUT/results.tgz --exclude='checkpoint-*' --exclude=tensorboard --exclude='*.safetensors' $R
pack_weights mul-a mul2a-mamba-s1 mul2a-mamba-s2; pack_weights mul-b mul2a-mamba-s3 mul1a-mamba-s1
pack_weights hyb-tool hybrid-small-tool; pack_weights hyb-p3 hybrid-small-tool_p3
pack_weights abl-a abl-direct-mamba abl-reversed-mamba; pack_weights abl-b abl-no_tool-mamba abl-calculator-mamba
ls -la $OUT
