#!/usr/bin/env bash
# Source this on the GPU machine: installs the carried wheels (.whl/) into /tmp/site and sets the environment.
# The GPU image has torch, accelerate, peft, tokenizers, safetensors, pyarrow, matplotlib and tensorboard, but not the
# pinned transformers/datasets/evaluate (docs/GPU.md). Download the wheels here first:
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
#     transformers==5.24.0 datasets==5.2.0 evaluate==0.4.6 dill==0.4.1 multiprocess==0.70.19 mambapy==1.2.0
if [ -z "${SKIP_WHEELS:-}" ] && [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || return 1
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 PYTHONUNBUFFERED=1
export OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
python3 -c "import torch, transformers, datasets; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'transformers', transformers.__version__, 'datasets', datasets.__version__)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true

# Shared by the run scripts. gpu_tests_gate LOG: the compiled-kernel and tool-loop tests, or no training.
gpu_tests_gate() {
  timeout 150 python3 -m pytest -q -m "" -p no:cacheprovider tests/test_kernels.py tests/test_fast.py 2>&1 | tail -15 | tee "$1"
  tail -1 "$1" | grep -q " passed" && ! tail -1 "$1" | grep -q "failed\|error" || { echo "GPU tests failed: no training"; return 1; }
}
# launch NAME ARGS...: train.py $BASE ARGS in the background into $R/NAME, the command appended to $R/commands.txt
# (scripts from sessions 1-3 define their own launch after sourcing this file).
launch() { local name=$1; shift; echo "+ python train.py $BASE $* --output_dir $R/$name" >> $R/commands.txt
  python3 train.py $BASE "$@" --output_dir $R/$name > $R/$name.log 2>&1 & }
# eval_run DIR OUT ARGS...: eval.py on DIR (greedy, --stop-at-divergence) into OUT under a $EVAL_S timeout, console to
# OUT.log, the command appended to $R/commands.txt (session 5 scripts define their own ev).
eval_run() { local d=$1 out=$2; shift 2; echo "+ python eval.py --model $d --stop-at-divergence $* --out $out" >> $R/commands.txt
  timeout $EVAL_S python3 eval.py --model $d --stop-at-divergence --no-card "$@" --out $out >> $out.log 2>&1; }
# tidy_logs DIR: drop progress-bar frames from DIR/*.log (kept: every line a run printed itself).
tidy_logs() { local f; for f in "$1"/*.log; do tr '\r' '\n' < "$f" | grep -v "it/s\]\|step/s\]\|s/step\]\|tok/s\]" > "$f.tmp"; mv "$f.tmp" "$f"; done; }
# report_runs DIR [K]: per run, the steps done, its last errors and its last K (default 8) evaluation rows.
report_runs() { local d n; for d in "$1"/*/; do n=$(basename "$d"); echo "== $n $(grep -h steps_completed "$d/training_args.json" 2>/dev/null | tr -d ' ,')"
  grep -a -o "Error[^\r]*" "$1/$n.log" | sort -u | tail -2; grep -h "exact" "$1/$n.eval.log" | tail -${2:-8}; done; }
# pack_weights NAME RUN...: $OUT/w-NAME.tgz holding each $R/RUN/model.safetensors (the device returns <= 16 MB a file).
pack_weights() { local name=$1; shift; tar czf "$OUT/w-$name.tgz" $(for n in "$@"; do echo "$R/$n/model.safetensors"; done) 2>/dev/null; }
