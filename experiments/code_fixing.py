"""Code fixing, trained: Mamba against the Pythia-style Transformer on growing codebases, interactive against
single-turn traces (the paper's Figure 1, right), at the small presets and from scratch (no pretrained 1.4B weights
can be downloaded on the GPU machine; a user with the Hub would start from state-spaces/mamba-1.4b-hf and
EleutherAI/pythia-1.4b with --init-from: docs/TRAINING.md).

    python scripts/launch.py list code_fixing
    bash scripts/gpu/run.sh code_fixing        # first the dataset (sandboxed scripted agents), then the runs

Decisions [INF]: the scripted agents' trajectories are built once by the dataset builder (each item runs its
codebase in the sandbox: ~0.05-0.3 s), 20,000 training rows at 4-16 functions (the paper's training range),
32 test codebases per size at 4-40 functions; training context 8,192 tokens (the paper's), which covers every
training trajectory here (at most ~5.1k tokens at 16 functions; 40 functions: ~9k); 2,000 steps at batch 32 (the
paper: 200 steps at batch 512 from pretrained weights, which from scratch would not learn the format). Success is
scored by running the repaired codebase and comparing what it prints with the reference fix's output
(``CodeFixing.score``), the model acting as the agent in the sandbox.
"""

from toolssm.experiments import Eval, Job, Run, Study

SIZES = (4, 8, 12, 16, 20, 24, 32, 40)
BUILD = ("python3 dataset_builders/build.py code_fixing --config all --out data/code_fixing --train-rows 20000 --validation-rows 64 "
         "--test-rows 32 --train-max-n 16 --test-lengths " + ",".join(map(str, SIZES)) + " --num-proc 12 --quiet --overwrite "
         "> $RUN_DIR/build.log 2>&1 && python3 -m toolssm.verify data/code_fixing > $RUN_DIR/verify.log 2>&1; s=$?; "
         "cp data/code_fixing/README.md $RUN_DIR/dataset_card.md; exit $s")
TRAIN = dict(task="code_fixing", dataset="data/code_fixing", verify_data=False, max_length=8192, batch_size=32, max_steps=2000,
             warmup_steps=100, weight_decay=0.01, eval_every=0, eval_samples=4, eval_lengths="8", save_every=100000, report_to="none",
             num_workers=2)
# no --stop-at-divergence: an episode that leaves the scripted agent's path can still fix the code
EVALS = (Eval("test", SIZES, num_samples=32, args=("--no-token-accuracy",), timeout_s=540),)

STUDY = Study(
    name="code_fixing",
    claim="With interactive traces, does Mamba fix codebases larger than any it was trained on, where Pythia and single-turn traces fall off?",
    runs=[Job("build-data", BUILD, timeout_s=540)] + [
        Run(f"{config}-{arch}-s{s}", dict(TRAIN, config=config, preset=f"{arch}-small", seed=s, data_seed=s,
                                          learning_rate=2e-3 if arch == "mamba" else 1e-3),
            EVALS, kernels=arch == "mamba", after=("build-data",))
        for config in ("interactive", "single_turn") for arch in ("mamba", "pythia") for s in (0, 1)],
    parallel=8,
)
