"""The paper's model size on the real kernels: Mamba at the 130M shape (24 x 768) on addition, trained on 1-5 digits,
with the paper's 2-pointer trace and toolssm's 3-pointer trace, three seeds each, evaluated to 1,000 digits on the
test and stress splits; n x 2 multiplication at 130M with the paper's trace and the aligned one (one seed each, trained
on first operands of 1-10 digits); and the GPU test suite with and without mamba-ssm + causal-conv1d installed.

    python scripts/launch.py list paper_scale
    bash scripts/gpu/run.sh paper_scale          # GPU machine; call again until every run reads done

Budget [decision]: the paper trains 2,000 steps (batch 128-1,024, 7 learning rates); one GPU lease of 30 minutes fits
eight 130M runs sharing one H200 for about 11 minutes, so each run has a 500-step schedule (cosine, 50 warm-up steps)
at batch 128 and lr 1e-3, cut by --max_time_minutes where the GPU is slower than that (training_args.json records the
steps completed, and the results tables show them). The n x 2 runs use batch 64: their trajectories are 3-4x longer
(mean 490-560 tokens against 145-150 for addition), so batch 128 would leave them about a hundred steps. Evaluation in bf16 (as earlier 130M evaluations), greedy, stopping at the first divergence.

The paper's budget, 2026-12-02 [decision]: the runs above stopped at 145-165 of 500 steps, which cannot say whether
the paper's trace generalizes at its size. `add-tool-mamba-130m-2k-s*` give one lease to the paper's own question:
the 2-pointer trace, the paper's 2,000 steps at its smallest batch (128), three seeds, alone on the GPU. Seed 0
starts at once on toolssm's Triton scan (the kernels take ~6 minutes to build); seeds 1 and 2 start on the mamba-ssm
kernels once they are built. Warm-up 100 steps (5%, as the 500-step runs' 50 was 10%). --max_time_minutes keeps each
inside the lease; training_args.json records the steps completed.

    bash scripts/gpu/run.sh paper_scale 'add-tool-mamba-130m-2k-*'

What that lease showed (README, addition): seeds 1 and 2 (752 steps) exact on 16/16 test problems at 1,000 digits,
seed 0 (1,316 steps, Triton) 0/16. Next, two per lease on the kernels, 13 minutes each (the machine's start took 4.5
minutes of the last lease): the 3-pointer trace at the same budget, `add-tool_p3-mamba-130m-2k-s*`, then the
paper's trace once more to the end of its schedule, `add-tool-mamba-130m-2k-s3`.

2026-12-02, third lease [decision]: the three 3-pointer seeds together, 11 minutes each on the kernels (three 130M runs
sharing the H200 train ~1.28 steps/s each, so ~800 steps: the paper-trace seeds 1 and 2 had 752), beside the GPU suites,
so that one lease gives both traces three seeds at a comparable budget:

    bash scripts/gpu/run.sh paper_scale 'add-tool_p3-mamba-130m-2k-*'

2026-12-02, fourth lease [decision]: the third lease's 1,000-digit evaluations were lost with the machine (weights
cannot come back: 180 MB against 16 MiB per file), and a retrained seed is a new model (time-cut schedule, kernels'
atomics), so the retrains get new seeds, 3-5, and the filed seeds 0-2 keep what they measured (10 and 100 digits).
Beside them the n x 2 runs on the full schedule (2,000 steps, 100 warm-up, batch 64, cut at 10 minutes like the
others), both traces, seed 0: the 500-step ones stopped at 98 steps. Five 130M runs plus the GPU suites on one H200:

    bash scripts/gpu/run.sh paper_scale 'add-tool_p3-mamba-130m-2k-s[345],mul2-*-2k-s0'

What it gave: nothing filed. The five trained ~38k tok/s together (as three had), the machine went back between the
first and second call, and the second machine started them again from nothing (docs/TRAINING.md, the fourth lease).
So [decision] a 130M result must fit one call: `add-tool_p3-mamba-130m-1c-s*` train alone on the Triton scan from
the first second (2.6 steps/s alone: ~900 steps in 6 minutes, more than the 643-645 of the filed seeds), then
evaluate in the same call. One per call, DEADLINE 570:

    bash scripts/gpu/run.sh paper_scale 'add-tool_p3-mamba-130m-1c-s3'

What the one-call runs gave (2026-12-03, three calls of one lease, 479-513 s each): s4 896 steps and s5 902 steps at
32.4-32.7k tok/s alone; s3 318 steps at 10.1k tok/s, because its call also ran a push_length evaluation (two
mamba-small device-loop processes) on the same GPU: an evaluation beside a 130M training costs the training 3x, so
[decision] a 130M call runs its training alone. Test split at 1,000 digits: s3 16/16, s4 0/16, s5 16/16; stress at
1,000: 5/16, 4/16, 11/16 (operands of unequal length fail).

The n x 2 one-call runs (2026-12-03, two calls, DEADLINE 565, each alone on the H200, Triton scan):
`mul2-tool-mamba-130m-1c-s0` 561 steps at 33.3k tok/s: test 16/16, 16/16, 13/16 at 20 / 100 / 1,000 digits, stress
16/16 at all three; `mul2-aligned-mamba-130m-1c-s0` 481 steps at 32.9k tok/s: test 16/16, 14/16, 0/16, stress 16/16,
11/16, 6/16.
"""

from toolssm.experiments import Eval, Job, Run, Study

BF16 = ("--stop-at-divergence", "--no-token-accuracy", "--dtype", "bfloat16")
EVALS = (Eval("test", (10, 100, 1000), num_samples=16, args=BF16, timeout_s=420),
         Eval("stress", (20, 100, 1000), split="stress", num_samples=16, args=BF16, timeout_s=420))
MUL_EVALS = (Eval("test", (20, 100, 1000), num_samples=16, args=BF16, timeout_s=420),
             Eval("stress", (20, 100, 1000), split="stress", num_samples=16, args=BF16, timeout_s=420))
TRAIN = dict(preset="mamba-130m", task="addition", batch_size=128, learning_rate=1e-3, weight_decay=0.01, warmup_steps=50,
             max_steps=500, max_time_minutes=6.5, eval_every=0, save_every=100000, report_to="none", num_workers=1,
             mamba_path="kernels")
FULL = dict(TRAIN, config="tool", max_steps=2000, warmup_steps=100, max_time_minutes=10.5)
TESTS = ("python3 -m pytest -q -m 'gpu or not slow' -p no:cacheprovider -n 4 tests > $RUN_DIR/pytest.log 2>&1; "
         "tail -3 $RUN_DIR/pytest.log > $RUN_DIR/summary.txt; grep -q ' passed' $RUN_DIR/summary.txt && ! grep -q 'failed\\|error' $RUN_DIR/summary.txt")

STUDY = Study(
    name="paper_scale",
    claim="Does the paper's 2-pointer addition trace generalize at the paper's model size (Mamba 130M shape), and the 3-pointer trace?",
    runs=[
        Job("gpu-tests", TESTS, timeout_s=540),
        Job("gpu-tests-kernels", TESTS, kernels=True, timeout_s=540),
        *[Run(f"add-{trace}-mamba-130m-s{s}", dict(TRAIN, config=trace, seed=s, data_seed=s), EVALS, kernels=True)
          for trace in ("tool", "tool_p3") for s in (0, 1, 2)],
        *[Run(f"mul2-{trace}-mamba-130m-s0", dict(TRAIN, task="multiplication", config=config, batch_size=64, seed=0, data_seed=0), MUL_EVALS, kernels=True)
          for trace, config in (("tool", "n_x_2"), ("aligned", "n_x_2_aligned"))],
        Run("add-tool-mamba-130m-2k-s0", dict(FULL, seed=0, data_seed=0, mamba_path="triton", max_time_minutes=13), EVALS),
        *[Run(f"add-tool-mamba-130m-2k-s{s}", dict(FULL, seed=s, data_seed=s), EVALS, kernels=True) for s in (1, 2)],
        *[Run(f"add-tool_p3-mamba-130m-2k-s{s}", dict(FULL, config="tool_p3", seed=s, data_seed=s, max_time_minutes=11), EVALS, kernels=True)
          for s in (0, 1, 2)],
        Run("add-tool-mamba-130m-2k-s3", dict(FULL, seed=3, data_seed=3, max_time_minutes=13), EVALS, kernels=True),
        *[Run(f"add-tool_p3-mamba-130m-2k-s{s}", dict(FULL, config="tool_p3", seed=s, data_seed=s, max_time_minutes=10), EVALS,
              kernels=True) for s in (3, 4, 5)],
        *[Run(f"mul2-{trace}-mamba-130m-2k-s0", dict(FULL, task="multiplication", config=config, batch_size=64, seed=0, data_seed=0,
                                                      max_time_minutes=10), MUL_EVALS, kernels=True)
          for trace, config in (("tool", "n_x_2"), ("aligned", "n_x_2_aligned"))],
        *[Run(f"add-tool_p3-mamba-130m-1c-s{s}", dict(FULL, config="tool_p3", seed=s, data_seed=s, mamba_path="triton", max_time_minutes=6),
              EVALS) for s in (3, 4, 5)],
        # n x 2 in one call, alone on the Triton scan (2026-12-03, for the next lease): batch 64 of ~520-token rows is
        # ~33k tokens a step, so 6 minutes at the measured 32.6k tok/s alone give ~360 steps (the filed ones: 88-98)
        *[Run(f"mul2-{trace}-mamba-130m-1c-s0", dict(FULL, task="multiplication", config=config, batch_size=64, seed=0, data_seed=0,
                                                      mamba_path="triton", max_time_minutes=6), MUL_EVALS)
          for trace, config in (("tool", "n_x_2"), ("aligned", "n_x_2_aligned"))],
    ],
    parallel=8,
    parallel_evals=8,
)
