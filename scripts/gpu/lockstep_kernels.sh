#!/usr/bin/env bash
# Study: the lockstep addition trace (every column reads both operands) and the mamba-ssm kernels, on one H200, in
# three device calls that follow each other on one warm machine (background runs are started with setsid and keep
# going between calls). Results under runs/lockstep; what comes back is packed into $OUT.
#   call1: build the kernels in the background; train Mamba-small on addition/lockstep, seeds 0-2 (Triton scan, 7 min
#          cap); GPU tests without the kernels; the shipped tool_p3 checkpoint on the stress split.
#   call2: the kernels on: GPU tests with them; the training benchmark (kernels / Triton / mambapy, small and 130M) alone
#          on the GPU; then 130M addition runs (paper trace and lockstep, kernels) in the background and the small
#          lockstep seeds evaluated on the test and stress splits to 1,000 digits.
#   call3: the 130M runs evaluated; everything packed.
#   tests, tests-kernels: the GPU test suite alone on the machine (the calls above ran it beside training and the
#          kernel build, and it timed out both ways): without the kernels while they build, then with them.
set -uo pipefail
source scripts/gpu/setup.sh >/dev/null || exit 1
R=runs/lockstep; mkdir -p $R
BASE="--weight_decay 0.01 --eval_every 1000000 --save_every 1000000 --report_to none --num_workers 2"
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
train() { local name=$1; shift; echo "+ python train.py $BASE $* --output_dir $R/$name" >> $R/commands.txt
  setsid python3 train.py $BASE "$@" --output_dir $R/$name > $R/$name.log 2>&1 < /dev/null & }
evaluate() { local d=$1 split=$2 lengths=$3 k=$4; shift 4; local out=$d/eval-$split
  echo "+ python eval.py --model $d --split $split --lengths $lengths --num-samples $k --stop-at-divergence --no-token-accuracy $*" >> $R/commands.txt
  timeout ${EVAL_S:-300} python3 eval.py --model $d --split $split --lengths $lengths --num-samples $k --batch-size $k --stop-at-divergence \
    --no-token-accuracy --no-card --out $out "$@" > $out.log 2>&1; }
pack() { tidy_logs $R; tar czf $OUT/results-$1.tgz --exclude=tensorboard --exclude='*.safetensors' --exclude='checkpoint-*' $R; ls -la $OUT; }
case ${1:-} in
call1)
  TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=6 setsid bash scripts/gpu/build_kernels.sh > $R/build_kernels.log 2>&1 < /dev/null &
  for s in 0 1 2; do
    train add-lockstep-mamba-small-s$s --preset mamba-small --task addition --config lockstep --batch_size 128 --learning_rate 2e-3 \
      --warmup_steps 100 --max_steps 3000 --max_time_minutes 7 --seed $s --data_seed $s
  done
  timeout 420 python3 -m pytest -q -m "gpu or not slow" -p no:cacheprovider tests 2>&1 | tail -25 > $OUT/gpu_tests_without_kernels.log &
  evaluate checkpoints/addition-mamba-small-p3 stress 20,100,1000 32
  wait $!  # the tests
  cp checkpoints/addition-mamba-small-p3/eval-stress/results.json $OUT/stress-shipped-p3.json 2>/dev/null
  for i in $(seq 48); do grep -q "kernels ready\|failed" $R/build_kernels.log && break; sleep 5; done
  tail -3 $R/build_kernels.log; pack call1 ;;
call2)
  export PYTHONPATH=/tmp/kernels:$PYTHONPATH
  python3 -c "from toolssm import kernels; print('kernels routed:', kernels.route_kernels_by_device())"
  python3 benchmarks/bench_mamba_train.py --presets mamba-small --batch 64 --length 512 --paths kernels,triton:64,triton,mambapy --out $OUT/bench_train_small.json > $R/bench_small.log 2>&1
  python3 benchmarks/bench_mamba_train.py --presets mamba-130m --batch 64 --length 512 --paths kernels,triton:64 --out $OUT/bench_train_130m.json > $R/bench_130m.log 2>&1
  tail -4 $R/bench_small.log $R/bench_130m.log
  for t in tool lockstep; do for s in 0 1; do
    train add-$t-mamba-130m-s$s --preset mamba-130m --task addition --config $t --batch_size 128 --learning_rate 1e-3 --warmup_steps 100 \
      --max_steps 600 --max_time_minutes 9 --seed $s --data_seed $s
  done; done
  timeout 300 python3 -m pytest -q -m "gpu or not slow" -p no:cacheprovider tests 2>&1 | tail -25 > $OUT/gpu_tests_with_kernels.log &
  tests=$!
  for s in 0 1 2; do d=$R/add-lockstep-mamba-small-s$s
    EVAL_S=200 evaluate $d test 10,100,1000 32 &
    EVAL_S=200 evaluate $d stress 10,100,1000 32 &
  done
  wait $tests; wait
  pack call2 ;;
call3)
  export PYTHONPATH=/tmp/kernels:$PYTHONPATH
  for i in $(seq 60); do [ $(ls $R/add-*-130m-s*/model.safetensors 2>/dev/null | wc -l) -ge 4 ] && break; sleep 5; done
  for d in $R/add-*-130m-s*; do EVAL_S=240 evaluate $d test 20,100,1000 16 --dtype bfloat16 & done; wait
  for d in $R/add-lockstep-mamba-130m-s*; do EVAL_S=120 evaluate $d stress 20,100,1000 16 --dtype bfloat16 & done; wait
  pack call3
  tar czf $OUT/w-small.tgz $R/add-lockstep-mamba-small-s*/model.safetensors ;;
tests)
  TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=6 setsid bash scripts/gpu/build_kernels.sh > $R/build_kernels.log 2>&1 < /dev/null &
  timeout 540 python3 -m pytest -q -m "gpu or not slow" -p no:cacheprovider tests 2>&1 | tail -15 | tee $OUT/gpu_tests_without_kernels.log ;;
tests-kernels)
  for i in $(seq 60); do grep -q "kernels ready\|failed" $R/build_kernels.log && break; sleep 5; done
  export PYTHONPATH=/tmp/kernels:$PYTHONPATH
  timeout 540 python3 -m pytest -q -m "gpu or not slow" -p no:cacheprovider tests 2>&1 | tail -15 | tee $OUT/gpu_tests_with_kernels.log ;;
*) echo "usage: $0 call1|call2|call3|tests|tests-kernels"; exit 2 ;;
esac
