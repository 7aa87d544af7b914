"""A CPU pilot of the n x m study (experiments/long_multiplication.py has the GPU one): can an LSTM learn the
schoolbook trace at all, and does it carry past its training size? Trained on operands of 1-6 digits each (not the
GPU study's 10: a step at 10 digits takes ~5 s on 2 cores), evaluated at 6 x 6 to 30 x 30 on the test split and at
10 and 20 on the stress split.

    python scripts/launch.py run long_multiplication_cpu lmul6-lstm-s0 --deadline 3600     # on 2 cores, ~45 minutes

This is a pilot on a laptop-sized budget, not the issue's claim (trained to 10 x 10, tested to 100 x 100).
"""

from toolssm.experiments import Eval, Run, Study

STUDY = Study(
    name="long_multiplication_cpu",
    claim="CPU pilot: does an LSTM trained on n x m multiplication to 6 x 6 digits (schoolbook trace) multiply larger numbers?",
    runs=[Run("lmul6-lstm-s0", dict(preset="lstm-small", task="long_multiplication", config="schoolbook", train_max_n=6, batch_size=32,
                                    learning_rate=2e-3, weight_decay=0.01, warmup_steps=50, max_steps=1500, max_time_minutes=32, eval_every=0,
                                    eval_samples=4, eval_lengths="6", save_every=500, report_to="none", num_workers=1, seed=0, data_seed=0),
              (Eval("test", (6, 10, 20, 30), num_samples=16, timeout_s=900),
               Eval("stress", (10, 20), split="stress", num_samples=16, timeout_s=900))),
          # seed 1, 28 minutes (2026-12-02, the time left in that session): a second seed beside seed 0 (cut at 909 steps)
          Run("lmul6-lstm-s1", dict(preset="lstm-small", task="long_multiplication", config="schoolbook", train_max_n=6, batch_size=32,
                                    learning_rate=2e-3, weight_decay=0.01, warmup_steps=50, max_steps=1500, max_time_minutes=28, eval_every=0,
                                    eval_samples=4, eval_lengths="6", save_every=500, report_to="none", num_workers=1, seed=1, data_seed=1),
              (Eval("test", (6, 10, 20), num_samples=16, timeout_s=900),
               Eval("stress", (10,), split="stress", num_samples=16, timeout_s=600)))],
    parallel=1,
    parallel_evals=1,
)
