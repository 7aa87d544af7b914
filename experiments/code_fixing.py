"""Code fixing, trained: Mamba against the Pythia-style Transformer on growing codebases, interactive against
single-turn traces (the paper's Figure 1, right), at the small presets and from scratch (no pretrained 1.4B weights
can be downloaded on the GPU machine; a user with the Hub would start from state-spaces/mamba-1.4b-hf and
EleutherAI/pythia-1.4b with --init-from: docs/TRAINING.md).

    python scripts/launch.py list code_fixing
    bash scripts/gpu/run.sh code_fixing 'cf-*-s0'  # carry data/code_fixing (built by the `data` job's command)

Decisions [INF], 2026-12-04:
- Data. The scripted agents' trajectories are built once by the dataset builder (``DATA_CMD``: 6,000 training rows per
  trace kind at 4-16 functions, the paper's training range; 32 test codebases per size at 4-40 functions; every row
  replayed against the sandboxed shell as it is built). Building the interactive rows runs each codebase in the
  sandbox several times (~0.6 s a row on one core), so they are built on the development machine (~40 minutes on 2
  cores) and carried to the GPU machine (``carry: ["data/code_fixing"]``); the ``data`` job builds them there only
  when they were not carried.
- Training: context 8,192 tokens (the paper's; 8 of the 6,000 interactive training rows are longer, up to 10.8k, and are cut),
  batch 16, the small presets' learning rates (Mamba 2e-3, Pythia 1e-3), 800 steps with a 5.5-minute cap: three
  runs share one GPU in one 10-minute device call and are evaluated in the same call, so a run that stops short says
  so in its steps column. The paper fine-tunes pretrained 1.4B models for 200 steps at batch 512 (~100k episodes);
  here at most ~13k episodes (2 passes over the 6,000 rows) from scratch.
- Evaluation: the model is the agent. Its commands go to the sandboxed shell; the episode ends when it submits or its
  budget (1.1x the scripted agent's trajectory + 32 tokens) runs out; success (``answer_accuracy``) means the
  workspace's program then runs in the sandbox and prints exactly what the reference fix prints
  (``CodeFixing.score``), not a string match against the scripted agent (``exact_match`` is that, kept beside it).
  32 codebases per size at 4, 8, 16, 24, 32 and 40 functions.

- The `*_sed` configs (2026-12-04, after the first outcome below): the same codebases and rounds, each file edited by
  one `sed -i 's/OLD/NEW/' FILE` per changed line instead of written whole, so the model writes about half the tokens
  and never copies the values a file assigns (docs/FORMATS.md, "Edit style"). Runs `cf-interactive_sed-*` and
  `cf-single_turn_sed-*` (same settings) test whether the first runs' copying errors were what held them back:
  ``bash scripts/gpu/run.sh code_fixing 'data,cf-interactive_sed-*'`` with ``carry: ["data/code_fixing"]`` (all four
  configs built there: 12 MB + the sed ones).

Outcome, 2026-12-04 (two device calls; README "Code fixing"): at 800 steps from scratch no run fixes codebases even at
the training size: the best, interactive Mamba seed 0, 18/32 at 4 functions, 3/32 at 8, 0/32 at 16; every
single-turn run 0/32 everywhere. The second call came on a fresh machine, so `cf-interactive-pythia-s0` was trained
twice (both filed: `-rerun`); two Pythia evaluations were still running when the lease's time ran out.

Outcome, 2026-12-06 (README "Code fixing", generated table): the sed traces. Mamba s0/s1 repair 59/64 codebases at 4
functions, 22/64 at 16 (training maximum) and 11/64 at 40; Pythia s0/s1 10/64 at 4 and 0 from 16 on. Pythia s1's
evaluation at 24-40 (`code_fixing 'data,cf-interactive_sed-pythia-s1' --from-results` with `CF_CONFIGS=interactive_sed`;
a run's codebases are not carried with --from-results: select `data` or carry data/code_fixing/<config>) reached 24
functions on the H100 (0/32) before the lease ended. The next lease (carrying the codebases) ran it from 4 again and
timed out before 32 (launch.py --from-results now runs only the sizes a filed evaluation lacks); 32 and 40 ran on the
2-core CPU (`launch.py finish code_fixing cf-interactive_sed-pythia-s1 -- --device cpu`: 43 and 35 minutes): 0/32 each.
"""

from toolssm.experiments import Eval, Job, Run, Study

SIZES = (4, 8, 16, 24, 32, 40)
DATA = "data/code_fixing"
CONFIGS = ("interactive", "single_turn", "interactive_sed", "single_turn_sed")


def build_cmd(config: str) -> str:
    return (f"python3 dataset_builders/build.py code_fixing --config {config} --out {DATA} --train-rows 6000 --validation-rows 64 "
            "--test-rows 32 --train-max-n 16 --test-lengths 4,8,12,16,20,24,32,40 --num-proc $(nproc) --quiet --overwrite")


DATA_CMD = build_cmd("all")
# each config is built here only when it was not carried (carry what the selected runs need, or all of data/code_fixing);
# every build record is filed either way, the dataset card only when every config was built or carried (the builder's
# card names the configs in the folder: on 2026-12-06 a CF_CONFIGS=interactive_sed job filed a one-config card over
# the four-config one); CF_CONFIGS (env, space-separated) limits the job to the configs the
# selected runs train on (2026-12-05: `CF_CONFIGS=interactive_sed bash scripts/gpu/run.sh code_fixing
# 'data,cf-interactive_sed-*'` with data/code_fixing/interactive_sed built here and carried: nothing is built there)
# [2026-12-05] first: does the shell tool's jail (since then a chroot of its own) build on this machine? If not, stop
# here with the reason in build.log: every interactive trajectory and every score runs programs in it
DATA_JOB = ("python3 -m toolssm.tools.shell > $RUN_DIR/sandbox.log 2>&1 || { cat $RUN_DIR/sandbox.log; exit 1; }; "
            f"s=0; for c in ${{CF_CONFIGS:-{' '.join(CONFIGS)}}}; do if [ -f {DATA}/$c/build.json ]; then echo \"carried: {DATA}/$c\"; "
            f"else {build_cmd('$c')} || s=1; fi; cp {DATA}/$c/build.json $RUN_DIR/build-$c.json || s=1; done > $RUN_DIR/build.log 2>&1; "
            f"if [ -z \"${{CF_CONFIGS:-}}\" ]; then cp {DATA}/README.md $RUN_DIR/dataset_card.md; fi; exit $s")
TRAIN = dict(task="code_fixing", dataset=DATA, verify_data=False, max_length=8192, batch_size=16, max_steps=800,
             max_time_minutes=5.5, warmup_steps=50, weight_decay=0.01, eval_every=0, eval_samples=4, eval_lengths="8",
             save_every=100000, report_to="none", num_workers=2)
LR = {"mamba": 2e-3, "pythia": 1e-3}
# no --stop-at-divergence: an episode that leaves the scripted agent's path can still fix the code
EVALS = (Eval("test", SIZES, num_samples=32, args=("--no-token-accuracy",), timeout_s=900),)

STUDY = Study(
    name="code_fixing",
    claim="With interactive traces, does Mamba fix codebases larger than any it was trained on, where Pythia and single-turn traces fall off?",
    runs=[Job("data", DATA_JOB, timeout_s=2400)] + [
        Run(f"cf-{config}-{arch}-s{s}", dict(TRAIN, config=config, preset=f"{arch}-small", seed=s, data_seed=s, learning_rate=LR[arch]),
            EVALS, keep_weights=True, after=("data",))
        for s in (0, 1) for config in CONFIGS for arch in ("mamba", "pythia")],
    parallel=3,
    parallel_evals=3,
)
