#!/usr/bin/env bash
# Session 5, device call 2 (< 10 min, one H200). Carries runs/s4/mul2a-mamba (session 4's n x 2 seed 0, 961 steps)
# and runs/s5a/mul2a-mamba-s2 (call 1's seed 2, 900 steps). Training, all concurrently, capped at $MINUTES each:
#   issue 6: n x 2 aligned, Mamba-small, both carried runs trained on (--init_from: new AdamW state, a new 1,000-step
#            cosine at lr 1e-3 with 50 warmup steps, new data seed); a fresh seed 4 (1,000-step schedule)
#   issue 9: iterative Hanoi, Mamba-small seeds 0 and 2 (1,000-step schedule; session 3 got 184 and 713 steps);
#            recursive Hanoi, Pythia-small seed 0 and Mamba-small seed 1; logical graph LSTM and GRU again at
#            batch 64, lr 1e-3 (session 3: not learned at batch 128, lr 2e-3, 754 steps)
# GPU tests beside the training. Then GPU evaluations under timeouts, results and weights back (< 60 MB in all).
set -uo pipefail
source scripts/gpu/setup.sh || exit 1
MINUTES=${MINUTES:-5.0}; EVAL_S=${EVAL_S:-165}
R=runs/s5b; mkdir -p $R
(timeout 420 python3 -m pytest -q -m "" -p no:cacheprovider tests/test_kernels.py tests/test_fast.py > $R/gpu_tests.log 2>&1 &)
BASE="--weight_decay 0.01 --eval_every 1000000 --eval_samples 8 --save_every 1000000 --report_to none --max_time_minutes $MINUTES --num_workers 2"
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
MUL="--preset mamba-small --task multiplication --config n_x_2_aligned --train_max_n 10 --eval_lengths 10,20 --batch_size 64"
launch mul2a-mamba-s0-cont $MUL --init_from runs/s4/mul2a-mamba --warmup_steps 50 --learning_rate 1e-3 --max_steps 1000 --seed 10 --data_seed 10
launch mul2a-mamba-s2-cont $MUL --init_from runs/s5a/mul2a-mamba-s2 --warmup_steps 50 --learning_rate 1e-3 --max_steps 1000 --seed 12 --data_seed 12
launch mul2a-mamba-s4 $MUL --warmup_steps 100 --learning_rate 2e-3 --max_steps 1000 --seed 4 --data_seed 4
HAN="--task hanoi --batch_size 8 --max_length 16384 --eval_lengths 4 --eval_samples 4 --warmup_steps 100"
for s in 0 2; do launch hanoi-it-mamba-s$s --preset mamba-small $HAN --config iterative --train_max_n 8 --learning_rate 2e-3 --max_steps 1000 --seed $s --data_seed $s; done
launch hanoi-rec-mamba-s1 --preset mamba-small $HAN --config recursive --train_max_n 7 --learning_rate 2e-3 --max_steps 1000 --seed 1 --data_seed 1
launch hanoi-rec-pythia-s0 --preset pythia-small $HAN --config recursive --train_max_n 7 --learning_rate 1e-3 --max_steps 1000 --seed 0
for a in lstm gru; do launch graph-$a-b64 --preset $a-small --task logical_graph --train_max_n 10 --eval_lengths 10,20 --batch_size 64 --warmup_steps 100 --learning_rate 1e-3 --max_steps 1500 --seed 0; done
wait
ev() { d=$R/$1; shift; echo "+ python eval.py --model $d --stop-at-divergence $*" >> $R/commands.txt
  timeout $EVAL_S python3 eval.py --model $d --stop-at-divergence --no-card "$@" >> $R/$(basename $d).eval.log 2>&1; }
for n in mul2a-mamba-s0-cont mul2a-mamba-s2-cont mul2a-mamba-s4; do
  ev $n --lengths 10,20,50,100,200,500 --num-samples 16 --batch-size 16 --out $R/$n/eval &
  ev $n --lengths 1000 --num-samples 16 --batch-size 16 --out $R/$n/eval_1000 &
done
for n in hanoi-it-mamba-s0 hanoi-it-mamba-s2; do ev $n --lengths 6,7,8,9,10 --num-samples 4 --batch-size 4 --out $R/$n/eval & done
ev hanoi-rec-mamba-s1 --lengths 5,6,7,8,9,10 --num-samples 4 --batch-size 4 --out $R/hanoi-rec-mamba-s1/eval &
ev hanoi-rec-pythia-s0 --lengths 6,7,8 --num-samples 1 --batch-size 1 --out $R/hanoi-rec-pythia-s0/eval &
for a in lstm gru; do ev graph-$a-b64 --lengths 10,20,50,100,200,500,1000 --num-samples 16 --batch-size 16 --out $R/graph-$a-b64/eval & done
wait
tail -3 $R/gpu_tests.log
report_runs $R
tidy_logs $R
tar czf $OUT/results.tgz --exclude='checkpoint-*' --exclude=tensorboard --exclude='*.safetensors' $R
pack_weights mul-cont mul2a-mamba-s0-cont mul2a-mamba-s2-cont; pack_weights mul-s4 mul2a-mamba-s4
pack_weights hanoi-it hanoi-it-mamba-s0 hanoi-it-mamba-s2; pack_weights hanoi-rec hanoi-rec-mamba-s1 hanoi-rec-pythia-s0
pack_weights graph graph-lstm-b64 graph-gru-b64
ls -la $OUT; du -sh $OUT
