"""Issue 20, the released n x 2 Mamba's last known failure: long runs of zeros in the multiplicand.

checkpoints/multiplication-n_x_2_aligned-mamba-small-stress is exact on 128/128 stress problems (16 per class) at
1,000 and 2,000 digits, yet wrong on 9 x 10^999 x 72: d x 10^k x 72 is exact to k = 300 and wrong from k = 310, and at
400 digits `scripts/mul2_scan.py` finds 3 of 90 multipliers wrong against a power of ten and 16 of 90 where ~250 zeros
sit between a random head and tail (results/probe/multiplication-n_x_2_aligned-mamba-small-stress/). Its stress
training drew zero runs of ~2 digits (each digit 0 with probability 7/16) at 1-30 digits, so no run it saw was long.
The runs split (docs/FORMATS.md, "Runs splits": one run of a digit over at least half the number) measures the
family; this study asks whether training on it mends it.

`train.py --stress_family stress,runs`: the stress share of each batch (a quarter) drawn half from the stress classes,
half from the runs classes, at sizes 1..stress_max_n. Three arms, one seed each (a first look; seeds follow for the arm
that holds): runs to 60 digits (runs up to 59), to 200 (batch 32: its items are 3x longer) and to 400 (batch 16; runs
up to 399, past the ~310 where the released weights fail). A 2-step CPU smoke run of the 60-digit arm already had loss
1e-4 on such batches: the released weights handle 60-digit runs, which predicts that arm changes little. The hypothesis
in experiments/stress_training.py (a slowly decaying channel driven by one column input moves towards its fixed point
over ~1 / (1 - a) columns) predicts each arm holds to about the runs it saw and fails past them; a model that reads
the run's end instead of counting would hold in all three.

    python scripts/launch.py list runs_training
    bash scripts/gpu/run.sh runs_training        # 3 fine-tunes of 4 minutes at once, then evaluations

Run on 2026-12-06 (thirteenth session, H100; results/runs_training/README.md). The three arms started together and
the 200- and 400-digit ones ran out of GPU memory at their first step (80 GB shared by three; the 400-digit arm was
re-run alone, the 200-digit one not: the lease had 272 s left). Input hidden as they run; the released weights on the
same problems (CPU) in brackets:

| arm | steps | runs 100 | runs 400 | runs 1,000 | stress 1,000 | test 1,000 |
|---|---|---|---|---|---|---|
| `mul2a-runs60-ft-s0` | 1,000 (189k tok/s) | 40/40 (39/40) | 40/40 (36/40) | **40/40** (29/40) | 32/32 | 32/32 |
| `mul2a-runs400-ft-s0` | 520 of 1,000 (4-minute cap) | 40/40 | 40/40 | 40/40 | 31/32 (one `a_zero_runs`) | 32/32 |

The prediction was wrong: runs of at most 59 digits in training mend the 1,000-digit problems whose zero runs are
500-999 long (every middle and end zero run, the repdigit). Not separated here: these fine-tunes train with the input
hidden, the released weights were trained with it shown (and run hidden); a hidden fine-tune on the stress classes
alone is the control this table lacks. One seed per arm.

Run on 2026-12-06 (fourteenth session, H100, one call of 541 s; the three below trained at once, so each did ~470 of
its 1,000 steps in the 4 minutes): the second seed, the control, and the same fine-tune for the addition lockstep Mamba.

| arm | steps | runs 100 | runs 400 | runs 1,000 | stress 1,000 | test 1,000 |
|---|---|---|---|---|---|---|
| `mul2a-runs60-ft-s1` (stress + runs) | 475 | 40/40 | 40/40 | **40/40** | 32/32 | 32/32 |
| `mul2a-stress60-ft-s0` (control: stress only) | 474 | 39/40 (a_repdigit) | 40/40 | **33/40** (a_zero_run_middle 6/8, a_repdigit 1/8) | 32/32 | 32/32 |
| `add-lockstep-runs60-ft-s0` (addition, lockstep) | 748 | 40/40 | - | 40/40 | 32/32 | 32/32 |

So the runs data is what mends the n x 2 model, not the hidden-input fine-tune: the control, same sizes, same share,
input hidden, keeps part of the released weights' failure (middle zero runs at 1,000 digits: released 0/8 right,
control 2/8; results/stress/multiplication-n_x_2_aligned-mamba-small-stress/eval/runs-cpu), while both runs seeds
hold 40/40, the second one after under half the first one's steps. One control seed.
The addition arm mends the lockstep Mamba's runs-split failures (released: 39/40 at 100 and at 1,000, runs of one
non-9 digit; CPU); its per-class stress check at 10, 100 and 1,000 digits (16 per class, CPU) is in
add-lockstep-runs60-ft-s0/eval/stress-perclass-cpu.

Settings [decision, 2026-12-06]: fine-tunes of the released checkpoint (--init_from), with its input hidden as it
runs (hide_input: the model is trained the way it is used), its lr 5e-4, 50 warm-up steps, cosine, up to 1,000 steps or
4 minutes, stress share 0.25, new data seeds (200 + seed). Evaluated on the runs split at 100, 400 and 1,000 digits
(40 problems: 8 per class), the stress and test splits at 1,000 (32 each) so that a fix that breaks the rest shows.
The released weights' own runs-split results (CPU, results/stress/multiplication-n_x_2_aligned-mamba-small-stress/
eval/runs-cpu) are the baseline. Every seed is filed; weights kept (7 MB each) so one that holds can be re-released.
"""

from toolssm.experiments import Eval, Run, Study

BASE = "checkpoints/multiplication-n_x_2_aligned-mamba-small-stress"
DEVICE = ("--stop-at-divergence", "--no-token-accuracy", "--decode", "device")
TRAIN = dict(preset="mamba-small", init_from=BASE, task="multiplication", config="n_x_2_aligned", hide_input=True,
             batch_size=64, learning_rate=5e-4, weight_decay=0.01, warmup_steps=50, lr_scheduler="cosine", max_steps=1000,
             max_time_minutes=4, stress_fraction=0.25, stress_family="stress,runs", eval_every=1000000, save_every=1000000,
             report_to="none", num_workers=2)
EVALS = (Eval("runs", (100, 400, 1000), split="runs", num_samples=40, args=DEVICE, timeout_s=540),
         Eval("stress", (1000,), split="stress", num_samples=32, args=DEVICE, timeout_s=540),
         Eval("test", (1000,), num_samples=32, args=DEVICE, timeout_s=540))


def _run(stress_max_n: int, seed: int, batch: int = 64, family: str = "stress,runs") -> Run:
    arm = "runs" if "runs" in family else "stress"
    return Run(f"mul2a-{arm}{stress_max_n}-ft-s{seed}",
               dict(TRAIN, stress_max_n=stress_max_n, seed=seed, data_seed=200 + seed, batch_size=batch, stress_family=family),
               EVALS, keep_weights=True)


# [2026-12-06, for the next lease] the addition checkpoints fail long runs of one non-9 digit too (runs split: the
# lockstep Mamba 39/40 at 100 and 1,000 digits): the same fine-tune for the lockstep Mamba, input hidden as it runs
ADD_TRAIN = dict(TRAIN, init_from="checkpoints/addition-mamba-small-lockstep", task="addition", config="lockstep", batch_size=128)
ADD_EVALS = (Eval("runs", (100, 1000), split="runs", num_samples=40, args=DEVICE, timeout_s=540),
             Eval("stress", (1000,), split="stress", num_samples=32, args=DEVICE, timeout_s=540),
             Eval("test", (1000,), num_samples=32, args=DEVICE, timeout_s=540))

# [2026-12-06, fourteenth session, for the next lease] the addition LSTM fails the runs split too (38/40 at 100 and at
# 1,000 digits: it walks pointer 2 past the end of a run of 54-63 sevens): the same fine-tune, with its input shown as it
# was trained and as it runs (its trace, `tool`, is the paper's 2-pointer one), lr 5e-4 like the Mamba fine-tunes
LSTM_TRAIN = dict(ADD_TRAIN, preset="lstm-small", init_from="checkpoints/addition-lstm-small", config="tool", hide_input=False)


STUDY = Study(
    name="runs_training",
    claim="Does training on long runs of one digit (to 60 or 400 digits) mend the released n x 2 Mamba's failures on "
          "multiplicands with ~300-digit zero runs?",
    runs=[_run(60, 0), _run(200, 0, batch=32), _run(400, 0, batch=16),
          # [2026-12-06, for the next lease] the second seed; the control that separates the runs data from training
          # with the input hidden (stress classes only, same sizes); the addition arm
          _run(60, 1), _run(60, 0, family="stress"),
          Run("add-lockstep-runs60-ft-s0", dict(ADD_TRAIN, stress_max_n=60, seed=0, data_seed=200), ADD_EVALS, keep_weights=True),
          Run("add-lstm-runs60-ft-s0", dict(LSTM_TRAIN, stress_max_n=60, seed=0, data_seed=200), ADD_EVALS, keep_weights=True)],
    # three at once ran the 200- and 400-digit arms out of the H100's 80 GB at their first step (2026-12-06): two
    parallel=2,
    parallel_evals=3,
)
