timeout 300 bash -c 'python3 benchmarks/bench_mamba_train.py --presets mamba-small,mamba-130m --batch 64 --length 512 --paths kernels,triton:64,triton,mambapy --out $RUN_DIR/mamba_train_h200.json'
