#!/usr/bin/env bash
# Issue 9 (the paper's Table 1 / Table 2 and the D.7 ablations) in one device call (< 10 min) on nvidia-h200-x2
# (or one GPU: everything lands on GPU 0). Every run: small presets (1-3M parameters, not the paper's 130-160M),
# the paper's 2,000 steps as the schedule but capped at $MINUTES of training (training_args.json records the steps
# done), AdamW with 100 warmup steps, weight decay 0.01, bf16 autocast, training data generated on the fly.
#   GPU 0: n x 1 and n x 2 multiplication (train to 10 digits) x {Mamba, LSTM, GRU, Pythia, Mistral}-small;
#          the addition ablations (paper D.7: direct, reversed, no_tool, calculator) with Mamba-small.
#   GPU 1: logical graph (train to 10 nodes) x the five; Tower of Hanoi iterative (train to 8 disks: Mamba seeds 0
#          and 1, Pythia, LSTM) and recursive (train to 7: Mamba, Pythia). Hanoi trajectories run to 44k tokens at
#          8 disks: batch 16 and sequences truncated to 16,384 tokens (the cycle is learned; the end of the largest
#          problems is seen only through the smaller ones).
# Then every run is evaluated through the tool loop (CUDA-graph steppers for Mamba/LSTM/GRU, the cache path for the
# Transformers) with --stop-at-divergence and teacher-forced token accuracy, lengths in rising order under a
# timeout (rows finished before it are in the eval logs). Brings back results.tgz (everything but weights) and a
# few weight archives.
set -uo pipefail
source scripts/gpu/setup.sh || exit 1
MINUTES=${MINUTES:-5.3}; EVAL_S=${EVAL_S:-190}
NGPU=$(python3 -c "import torch; print(torch.cuda.device_count())")
G1=$(( NGPU > 1 ? 1 : 0 ))
R=runs/table1; mkdir -p $R
BASE="--warmup_steps 100 --weight_decay 0.01 --eval_every 100000 --eval_samples 8 --save_every 1000000 --report_to none --max_time_minutes $MINUTES --max_steps 2000"
ONLY=${ONLY:-.}  # a regex: launch only the runs whose names match (the second call re-ran those that ran out of memory)
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
launch() { gpu=$1; name=$2; shift 2; [[ $name =~ $ONLY ]] || return 0; echo "+ CUDA_VISIBLE_DEVICES=$gpu python train.py $BASE $* --output_dir $R/$name" >> $R/commands.txt
  CUDA_VISIBLE_DEVICES=$gpu python3 train.py $BASE "$@" --output_dir $R/$name > $R/$name.log 2>&1 & }
lr() { case $1 in pythia*|mistral*) echo 1e-3;; *) echo 2e-3;; esac; }
for a in mamba lstm gru pythia mistral; do
  p=$a-small
  launch 0 mul1-$a --preset $p --task multiplication --config n_x_1 --train_max_n 10 --eval_lengths 10,20 --batch_size 128 --learning_rate $(lr $p) --seed 0 --num_workers 1
  launch 0 mul2-$a --preset $p --task multiplication --config n_x_2 --train_max_n 10 --eval_lengths 10,20 --batch_size 128 --learning_rate $(lr $p) --seed 0 --num_workers 1
  launch $G1 graph-$a --preset $p --task logical_graph --train_max_n 10 --eval_lengths 10,20 --batch_size ${GRAPH_BATCH:-128} --learning_rate $(lr $p) --seed 0 --num_workers 1
done
# one GPU (16 cores): the ablations and the extra Hanoi runs are left out (EXTRA=1 forces them)
EXTRA=${EXTRA:-$(( NGPU > 1 ? 1 : 0 ))}
[ "$EXTRA" = 1 ] && for c in direct reversed no_tool calculator; do
  launch 0 abl-$c-mamba --preset mamba-small --task addition --config $c --eval_lengths 5,10 --batch_size 128 --learning_rate 2e-3 --seed 0 --num_workers 1
done
HAN="--task hanoi --batch_size ${HANOI_BATCH:-16} --max_length 16384 --num_workers 2"
launch $G1 hanoi-it-mamba-s0 --preset mamba-small $HAN --config iterative --train_max_n 8 --eval_lengths 4 --eval_samples 4 --learning_rate 2e-3 --seed 0 --data_seed 0
[ "$EXTRA" = 1 ] && launch $G1 hanoi-it-mamba-s1 --preset mamba-small $HAN --config iterative --train_max_n 8 --eval_lengths 4 --eval_samples 4 --learning_rate 2e-3 --seed 1 --data_seed 1
launch $G1 hanoi-it-pythia --preset pythia-small $HAN --config iterative --train_max_n 8 --eval_lengths 4 --eval_samples 4 --learning_rate 1e-3 --seed 0
[ "$EXTRA" = 1 ] && launch $G1 hanoi-it-lstm --preset lstm-small $HAN --config iterative --train_max_n 8 --eval_lengths 4 --eval_samples 4 --learning_rate 2e-3 --seed 0
launch $G1 hanoi-rec-mamba --preset mamba-small $HAN --config recursive --train_max_n 7 --eval_lengths 4 --eval_samples 4 --learning_rate 2e-3 --seed 0
[ "$EXTRA" = 1 ] && launch $G1 hanoi-rec-pythia --preset pythia-small $HAN --config recursive --train_max_n 7 --eval_lengths 4 --eval_samples 4 --learning_rate 1e-3 --seed 0
wait
nvidia-smi --query-gpu=index,memory.used --format=csv > $OUT/gpu_after_train.txt 2>&1

ev() { d=$1; shift; n=$(basename $d); gpu=$(grep -q "^+ CUDA_VISIBLE_DEVICES=1 .*output_dir $R/$n\$" $R/commands.txt && echo $G1 || echo 0)
  echo "+ python eval.py --model $d --stop-at-divergence $* --out $d/eval" >> $R/commands.txt
  CUDA_VISIBLE_DEVICES=$gpu timeout $EVAL_S python3 eval.py --model $d --stop-at-divergence --no-card "$@" --out $d/eval >> $R/$n.eval.log 2>&1; }
for d in $R/*/; do d=${d%/}; n=$(basename $d)
  case $n in
    mul*|graph*) ev $d --lengths 10,20,50,100,200,500,1000 --num-samples 16 --batch-size 16 & ;;
    abl*) ev $d --lengths 5,10,20,50,100 --num-samples 16 --batch-size 16 & ;;
    hanoi-*-pythia) ev $d --lengths 6,7,8 --num-samples 1 --batch-size 1 & ;;  # the cache path: ~200 tokens/s
    hanoi-it*) ev $d --lengths 6,7,8,9,10 --num-samples 4 --batch-size 4 & ;;  # one timeout per run: the call has 10 minutes
    hanoi-rec*) ev $d --lengths 5,6,7,8,9,10 --num-samples 4 --batch-size 4 & ;;
  esac
done
wait
for d in $R/*/; do n=$(basename $d); echo "== $n $(grep -h steps_completed $d/training_args.json 2>/dev/null | tr -d ' ,')"
  grep -a -o "Error[^\r]*" $R/$n.log | sort -u | tail -2; grep -h "exact" $R/$n.eval.log | tail -9; done
tidy_logs $R
tar czf $OUT/results.tgz --exclude='checkpoint-*' --exclude=tensorboard --exclude='*.safetensors' --exclude='*.bin' $R
w() { out=$1; shift; tar czf $OUT/$out $(for n in "$@"; do ls $R/$n/*.safetensors $R/$n/config.json 2>/dev/null; done); }
w weights-mamba-mul.tgz mul1-mamba mul2-mamba hanoi-rec-mamba
w weights-mamba-graph-hanoi.tgz graph-mamba hanoi-it-mamba-s0
w weights-lstm.tgz mul1-lstm graph-lstm
w weights-graph.tgz graph-gru graph-pythia
ls -la $OUT
