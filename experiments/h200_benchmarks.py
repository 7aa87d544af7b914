"""The speed benchmarks on one H200 (benchmarks/results/h200/): the tool loop against the previous loop, HF generate and
naive re-encoding, with the byte floor; Mamba-1 training by path (kernels, Triton scan with and without backward
checkpoints, mambapy); the end-to-end evaluations; the tool loop's precision options; the scan's backward memory.

    bash scripts/gpu/run.sh h200_benchmarks                 # every job, one at a time
    bash scripts/gpu/run.sh h200_benchmarks 'tool-loop*'    # some

Each job writes its JSON into its results folder; the numbers in benchmarks/results/h200/ came from the earlier
one-off scripts with the same commands (git history: scripts/gpu/fast_decode.sh, decode_precision.sh, scan_memory.sh).
"""

from toolssm.experiments import Job, Study

STUDY = Study(
    name="h200_benchmarks",
    claim="How fast the tool loop decodes and Mamba-1 trains on one H200, against the baselines measured in the same process.",
    runs=[
        Job("tool-loop", "python3 benchmarks/bench_tool_loop.py --presets mamba-130m,mamba-small --device cuda --lengths 100,1000 "
            "--batch-sizes 1,64 --max-tokens 4000 --slow-tokens 300 --naive-tokens 12 --out $RUN_DIR/tool_loop_h200.json", timeout_s=300),
        Job("tool-loop-device", "python3 benchmarks/bench_tool_loop.py --device-tools --presets mamba-small,lstm-small,mamba-130m --device cuda "
            "--lengths 100 --batch-sizes 1,64,256 --max-tokens 2000 --slow-tokens 100 --naive-tokens 0 --out $RUN_DIR/tool_loop_device.json",
            timeout_s=300),  # 138 s on an idle H200 (2026-12-02, benchmarks/results/h200/tool_loop_device_h200.json)
        Job("rnn-fused-tests", "python3 -m pytest -q -m 'gpu or not gpu' -p no:cacheprovider tests/test_fast.py -k 'rnn or lstm or gru' "
            "> $RUN_DIR/pytest.log 2>&1", timeout_s=150),
        Job("tool-loop-rnn-fused", "python3 benchmarks/bench_tool_loop.py --device-tools --presets lstm-small --device cuda --lengths 300 "
            "--batch-sizes 1,16,32,64,256 --max-tokens 8000 --slow-tokens 100 --naive-tokens 0 --out $RUN_DIR/tool_loop_rnn_fused.json",
            timeout_s=180),  # the LSTM's step fused (toolssm.rnn_kernel) against its written-out cell, in the device loop
        Job("mamba-layer-step", "python3 -m pytest -q -m 'gpu or not gpu' -p no:cacheprovider tests/test_fast.py -k three_kernel "
            "> $RUN_DIR/pytest.log 2>&1; python3 benchmarks/bench_tool_loop.py --device-tools --presets mamba-130m,mamba-small --device cuda "
            "--lengths 100 --batch-sizes 1,8,64 --max-tokens 2000 --slow-tokens 100 --naive-tokens 0 --layer-block-channels 4,8,32 "
            "--out $RUN_DIR/tool_loop_mamba_layer.json",
            timeout_s=360),  # issue 25: the three-kernel Mamba step (toolssm.mamba_kernel) against the six-kernel one, host and device loops
        Job("device-loop-tests", "python3 -m pytest -q -m gpu -p no:cacheprovider tests/test_device_loop.py tests/test_fast.py > $RUN_DIR/pytest.log 2>&1",
            timeout_s=300),
        Job("tool-loop-precision", "for p in '' '--tf32' '--dtype bfloat16'; do python3 benchmarks/bench_tool_loop.py --pipeline "
            "--presets mamba-130m --device cuda --lengths 1000 --batch-sizes 1,64 --max-tokens 4000 --slow-tokens 200 --naive-tokens 0 $p "
            "--out $RUN_DIR/tool_loop$(echo $p | tr -d ' -').json; done", timeout_s=330),
        Job("mamba-train", "python3 benchmarks/bench_mamba_train.py --presets mamba-small,mamba-130m --batch 64 --length 512 "
            "--paths kernels,triton:64,triton,mambapy --out $RUN_DIR/mamba_train_h200.json", kernels=True, timeout_s=300),
        Job("scan-memory", "python3 benchmarks/bench_mamba_train.py --presets mamba-small,mamba-130m --batch 64 --length 512 "
            "--paths triton,triton:16,triton:32,triton:64 --out $RUN_DIR/scan_memory_h200.json", timeout_s=300),
        Job("end-to-end", "python3 benchmarks/bench_end_to_end.py --device cuda --out $RUN_DIR/end_to_end_h200.json", timeout_s=240),
    ],
)
