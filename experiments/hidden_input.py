"""Issue 20, the lockstep Mamba's remaining failure: does a model that never reads the raw input hold on operands
with long runs of zeros?

The shipped lockstep Mamba (checkpoints/addition-mamba-small-lockstep) fails 10^k + 10^k from k = 30 and
10^k + 10^(k/2) from k = 40 (scripts/probe.py). `scripts/divergence.py --prompt` shows where
(results/probe/addition-mamba-small-lockstep--input-shown/divergence-zero-runs.txt): not in the `0+0` columns but at the 69th
token, right after pointer 1 reads the first operand's second digit, when the prompt ends in 20+ zeros and the first
operand holds another such run; the model starts its output walk there. 10^60 + 7, 7 + 10^60 and 10^30 + (10^30 + 1)
are exact. So the phase whose length training bounds is the prompt the model reads before any tool call (at most 4
identical digits in a row at 1-5 training digits), and no trace change after the prompt removes it.

`train.py --hide_input` (docs/FORMATS.md, "Hidden input"): the lockstep trace, the same problems, memory, commands and
observations, but the operands live in the tool's memory only and the model's prompt is `=`: the model sees the input
only through its pointer reads, one token per command, as it already does (and holds) in the seek walk of 10^60 + 7.

What the CPU showed first (2026-12-04, no training): the shipped lockstep checkpoint, trained with the whole prompt,
run with its input hidden (`scripts/probe.py --hide-input`) answers all 122 corner cases to 201 digits (108/122 with
the prompt shown). So this study asks the next question: does training that way also hold, on three seeds?

    python scripts/launch.py list hidden_input
    bash scripts/gpu/run.sh hidden_input            # one call: three trainings of ~7 minutes, then evaluations and probes

Settings [decision, 2026-12-04]: exactly those of the lockstep seeds it is compared with (results/lockstep:
mamba-small, batch 128, lr 2e-3, 100 warm-up steps, 3,000 steps cut at 7 minutes, seeds 0-2), so the only change is
where the input is. The device loop decodes the evaluations (since 2026-12-05 its fused kernel holds a hidden input), to
10,000 digits (the 10,000-digit pair in evaluations of their own, so that a slow one loses only itself); the probe runs
every corner case to 201 digits on the GPU, beside the evaluations.

Not run on 2026-12-04 (no GPU was lent). 2026-12-05 (tenth session, the end of an H100 lease): seed 0 trained alone
(3,000 steps in 3.2 minutes, 214k tok/s) and evaluated: 32/32 test and stress at 10, 100 and 1,000 digits, 16/16 + 16/16
at 10,000, 122/122 corner cases to 201 digits; on CPU afterwards 128/128 stress (16 per class) at 10, 100 and 1,000
(eval/stress-perclass-cpu). Seed 1 reached step 2,570 of 3,000 when the lease's device time ran
out (the machine went back with it; train.py saves at the end, so nothing came back); seed 2 not started.

2026-12-06 (fourteenth session, H100): seed 1 trained (3,000 steps in 1.5 minutes, 456k tok/s) and evaluated; its
probe ran on CPU here (add-hidden-mamba-small-s1/probe-cpu). Seed 1 does **not** hold: test 32/32 at 10 and 1,000,
31/32 at 100, 16/16 at 10,000; stress 32/32 at 10 and 100 but **22/32 at 1,000** (`long_plus_1` 4/4 wrong,
`plus_zero` 3/4, `nines` 2/4, `lengths` 1/4) and 9/16 at 10,000, though it answers all 122 corner cases to 201
digits (CPU, 1,258 s): its failures start past the probe's sizes. So hiding the input is not by itself what makes
seed 0 exact on the corners: one seed of two holds. Seed 2 not run (the lease ran out). The runs fine-tune of the
lockstep Mamba (experiments/runs_training.py, `add-lockstep-runs60-ft-s0`: input hidden plus stress and runs
classes in training) is the fix that trains on the corners instead of hoping a seed finds them.

2026-12-06 (eighteenth session, H100, beside four other launchers): seed 2 trained (3,000 steps in 3.6 minutes, 190k
tok/s) and evaluated, and its probe ran on the GPU. Seed 2 is the worst of the three: test 32/32 at 10 but 17/32 at
100, 0/32 at 1,000 and 0/16 at 10,000; stress 32/32 at 10, 28/32 at 100, 11/32 at 1,000, 6/16 at 10,000; corner
cases 116/122 to 201 digits (long + short and equal-length sums at 100 and 200 digits come back as garbage). Over
three seeds, hiding the input gives one release (seed 0), one that holds the paper's distribution but not its corners
(seed 1) and one that does not generalize past 10x (seed 2).
"""

from toolssm.experiments import Eval, Job, Run, Study

TRAIN = dict(preset="mamba-small", task="addition", config="lockstep", hide_input=True, batch_size=128, learning_rate=2e-3,
             weight_decay=0.01, warmup_steps=100, max_steps=3000, max_time_minutes=7, eval_every=1000000, save_every=1000000,
             report_to="none", num_workers=2)
DEVICE = ("--stop-at-divergence", "--no-token-accuracy", "--decode", "device")
EVALS = (Eval("test", (10, 100, 1000), num_samples=32, args=DEVICE, timeout_s=540),
         Eval("stress", (10, 100, 1000), split="stress", num_samples=32, args=DEVICE, timeout_s=540),
         Eval("test-10000", (10000,), num_samples=16, args=DEVICE, timeout_s=540),
         Eval("stress-10000", (10000,), split="stress", num_samples=16, args=DEVICE, timeout_s=540))
# the probe's exit status is 1 when any case is wrong: the job succeeds when it has written its result
PROBE = ("python3 scripts/probe.py runs/hidden_input/{run} --device cuda --max-digits 201 --out $RUN_DIR > $RUN_DIR/probe.log 2>&1; "
         "test -f $RUN_DIR/{run}/probe.json")

STUDY = Study(
    name="hidden_input",
    claim="Does the lockstep Mamba hold on operands with long runs of zeros when the input is only in the tool's memory?",
    runs=[entry for s in (0, 1, 2) for entry in (
        Run(f"add-hidden-mamba-small-s{s}", dict(TRAIN, seed=s, data_seed=s), EVALS, keep_weights=True),
        Job(f"probe-s{s}", PROBE.format(run=f"add-hidden-mamba-small-s{s}"), timeout_s=540, after=(f"add-hidden-mamba-small-s{s}",)))],
    parallel=3,
    parallel_evals=3,
    parallel_jobs=3,
)
