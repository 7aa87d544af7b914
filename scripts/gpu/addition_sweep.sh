#!/usr/bin/env bash
# Issue 6, phase B (one H200, < 10 min): a small hyper-parameter sweep for 1-5 digit addition, all runs concurrently
# on one GPU (each is launch-bound, so they share it well), each capped at $MINUTES of training; then every run is
# evaluated at 20..200 digits. Brings back results-sweep.tgz (logs, metrics, eval JSON/CSV/plots; no weights) and the
# weights of the best runs as ckpt-<name>.tgz.
#   bash scripts/gpu/addition_sweep.sh
set -uo pipefail
source scripts/gpu/setup.sh || exit 1
MINUTES=${MINUTES:-5}; EVAL_N=${EVAL_N:-16}; LENGTHS=${LENGTHS:-20,50,100,200}
R=runs/sweep; mkdir -p $R
BASE="--task addition --warmup_steps 100 --weight_decay 0.01 --eval_every 1000 --eval_samples 8 --eval_lengths 20,50 --save_every 1000000 --num_workers 2 --report_to none --max_time_minutes $MINUTES"
launch() { name=$1; shift; echo "+ python train.py $* $BASE --output_dir $R/$name" >> $R/commands.txt; python3 train.py "$@" $BASE --output_dir $R/$name > $R/$name.log 2>&1 & }
launch mamba-small-b64-lr2e-3-6k  --preset mamba-small  --batch_size 64  --learning_rate 2e-3 --max_steps 6000 --seed 0
launch mamba-small-b256-lr2e-3    --preset mamba-small  --batch_size 256 --learning_rate 2e-3 --max_steps 2000 --seed 0
launch mamba-small-b128-lr1e-3-4k --preset mamba-small  --batch_size 128 --learning_rate 1e-3 --max_steps 4000 --seed 0
launch mamba-medium-b128-lr1e-3   --preset mamba-medium --batch_size 128 --learning_rate 1e-3 --max_steps 3000 --seed 0
launch mamba-deep-b128-lr1e-3     --preset mamba-deep   --batch_size 128 --learning_rate 1e-3 --max_steps 3000 --seed 0
launch mamba-130m-b64-lr5e-4      --preset mamba-130m   --batch_size 64  --learning_rate 5e-4 --max_steps 2000 --seed 0
launch lstm-small-b128-lr2e-3-4k  --preset lstm-small   --batch_size 128 --learning_rate 2e-3 --max_steps 4000 --seed 0
launch gru-small-b128-lr2e-3-4k   --preset gru-small    --batch_size 128 --learning_rate 2e-3 --max_steps 4000 --seed 0
wait
for d in $R/*/; do n=$(basename $d); echo "== $n"; grep -E "time budget|val_exact" $R/$n.log | tail -2; done
for d in $R/*/; do
  n=$(basename $d)
  echo "+ python eval.py --model $R/$n --lengths $LENGTHS --num-samples $EVAL_N --batch-size $EVAL_N --stop-at-divergence --no-token-accuracy --out $R/$n/eval" >> $R/commands.txt
  timeout 150 python3 eval.py --model $R/$n --lengths $LENGTHS --num-samples $EVAL_N --batch-size $EVAL_N --stop-at-divergence --no-token-accuracy --out $R/$n/eval > $R/$n.eval.log 2>&1 &
done
wait
grep -h "exact" $R/*.eval.log
tar czf $OUT/results-sweep.tgz --exclude='*.safetensors' --exclude='checkpoint-*' runs/sweep
# weights of the runs with the highest exact match at the largest length reached, while they fit (16 MB a file)
python3 - <<'PY'
import json, glob, os, subprocess
scores = []
for f in glob.glob("runs/sweep/*/eval/results.json"):
    r = json.load(open(f)); L = sorted(r["lengths"], key=lambda x: x["n"])
    scores.append((sum(x["exact_match"] for x in L), os.path.dirname(os.path.dirname(f))))
for _, d in sorted(scores, reverse=True)[:6]:
    out = os.path.join(os.environ["OUT"], f"ckpt-{os.path.basename(d)}.tgz")
    subprocess.run(["tar", "czf", out, "--exclude=checkpoint-*", "--exclude=eval", "--exclude=tensorboard", d])
    if os.path.getsize(out) > 15_500_000:
        os.remove(out)
PY
ls -la $OUT
