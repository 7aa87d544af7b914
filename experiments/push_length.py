"""The shipped checkpoints far past their claimed sizes (issue: exact on every valid input): the addition LSTMs, exact
on the stress split to 1,000 digits, at 10,000 and 100,000 digits (a 3.5M-token trajectory), random and stress
problems; the lockstep Mamba and the n x 2 aligned Mamba at 10,000 digits; the n x n LSTM at 200 x 200 and 500 x 500.

    bash scripts/gpu/run.sh push_length

One job per checkpoint, named after the checkpoint (results/push_length/<checkpoint>/eval/<split>-<n>/, so
scripts/summarize.py reads them as that checkpoint's evaluations, beside results/stress/), one at a time (the decision
in ``_job``): at 100,000 digits each problem is 3.5M dependent steps, so the wall time is set by the steps, not by the
batch, and two processes on one GPU slow each other down far more than a larger batch does. Give them a machine of their own: on 2026-12-02 they shared
16 cores with two test suites and the kernel build (load average 60-80) and a 10,000-digit evaluation of 16 problems
took 13-14 minutes; the Mamba and 100,000-digit ones did not finish.

Decoding uses the device-side pointer loop (eval.py --decode device); exact match is still scored against the
reference trajectory and Python's arithmetic, so an error of the loop shows as a failure. The teacher-forced token
accuracy is skipped (--no-token-accuracy): a 3.5M-token forward per problem, and exact match already says every token
is right.
"""

from toolssm.experiments import Job, Study

EVAL = ("python3 eval.py --model checkpoints/{ckpt} --split test,stress --lengths {n} --num-samples 16 --batch-size 32 --device cuda "
        "--decode {decode} --no-token-accuracy --progress --out $RUN_DIR/eval/{{split}}-{n}{suffix} > $RUN_DIR/eval-{n}{suffix}.log 2>&1")


def _job(ckpt: str, sizes: tuple[int, ...], timeout_s: int, hidden: bool = False) -> Job:
    """The sizes in turn, both splits of a size in one process (eval.py --split test,stress: 16 + 16 problems in
    one batch of 32, one tool loop); the job fails if any evaluation failed.

    [decision, 2026-12-04] One process on the GPU at a time. Each evaluation is a launch-bound loop, and processes
    sharing the GPU without MPS get whole time slices each: five evaluations at once (the two 100,000-digit ones of
    this job beside the three of claimed_sizes) finished nothing in 540 s. Alone, the 100,000-digit test split
    (16 problems, batch 16, device loop) decoded 8,500 loop steps/s (118 us a step; 2.32M of its ~3.5M steps in
    276 s), after 4.5 minutes spent building the 16 problems on one core: eval.py now builds large problems in
    worker processes (toolssm.evaluation.build_items) and decodes both splits in one loop, so that one size fits one
    10-minute call (the follow-up call of that session got a fresh machine, and the run was lost).

    ``hidden``: the checkpoint runs with its input hidden (its spec); filed as ``<split>-<n>-hidden``. Since
    2026-12-05 the device loop's fused kernel holds a hidden input (memory rows their own width: exact against the host
    loop in Triton's interpreter, compiled for sm_90 offline; not yet run on a GPU), so these decode on the device too."""
    fmt = dict(decode="device", suffix="-hidden" if hidden else "")
    steps = [f"{{ {EVAL.format(ckpt=ckpt, n=n, **fmt)} || s=1; }}" for n in sizes]
    return Job(ckpt, "s=0; " + "; ".join(steps) + "; exit $s", timeout_s=timeout_s)


STUDY = Study(
    name="push_length",
    claim="How far past their claimed sizes the shipped checkpoints stay exact: the addition LSTMs (the released one included) at 10,000 and 100,000 digits, the Mamba ones at 10,000, the n x n LSTM at 200 x 200; random and stress problems.",
    runs=[
        # 10,000 digits filed on 2026-12-02 (eval/*-10000, run.json); 100,000 alone now (2026-12-03 and 2026-12-04:
        # started, not finished within the machine's hold; not filed)
        _job("addition-lstm-small", (100_000,), 2700),
        _job("addition-lstm-small-p3", (10_000,), 900),
        # the released addition LSTM since 2026-12-06 (addition-lstm-small mended for long runs of 9s and 0s: exact on
        # every stress class to 10,000 digits, checkpoints/addition-lstm-small-runs/README.md); its predecessor took
        # 4 minutes at 100,000 on an H200 (2026-12-04)
        _job("addition-lstm-small-runs", (100_000,), 1500),
        # 10,000 digits with the input shown filed on 2026-12-02; since 2026-12-04 it runs with its input hidden
        # (2,000 digits on CPU: stress 16/16); 2,000 and 10,000 hidden filed on 2026-12-05 (H200, fused device loop:
        # 16 + 16 exact each); 100,000 started then (6,780 steps/s at batch 32) and cut by the lease: ~9 minutes alone
        _job("addition-mamba-small-lockstep", (100_000,), 2700, hidden=True),
        _job("multiplication-n_x_2_aligned-mamba-small", (10_000,), 900),
        # issue 24's stretch: the n x n LSTM (trained to 10 x 10, exact to 100 x 100) at 200 x 200 digits, ~0.8M steps a
        # problem. Filed on CPU on 2026-12-05 (eval/*-200-cpu, host loop, ~600 steps/s at batch 32); on the GPU the
        # device loop with the fused LSTM step decodes it in about a minute. 500 x 500 (~5M steps) is the next size.
        _job("long-multiplication-lstm-small", (200, 500), 900),
    ],
    parallel_jobs=1,  # one evaluation on the GPU at a time (the decision in _job)
    alone=True,  # never beside a training: on 2026-12-03 the 100,000-digit job did not finish beside four trainings
)
