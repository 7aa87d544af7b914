"""The shipped checkpoints far past their claimed sizes (issue: exact on every valid input): the addition LSTMs, exact
on the stress split to 1,000 digits, at 10,000 and 100,000 digits (a 3.5M-token trajectory), random and stress
problems; the lockstep Mamba and the n x 2 aligned Mamba at 10,000 digits.

    bash scripts/gpu/run.sh push_length

Decoding uses the device-side pointer loop (eval.py --decode device: 64 steps per CUDA graph replay); exact match is
still scored against the reference trajectory and Python's arithmetic, so an error of the loop shows as a failure.
The teacher-forced token accuracy is skipped (--no-token-accuracy): a 3.5M-token forward per problem, and exact match
already says every token is right. Every evaluation of one size runs as its own process, all at once: at 100,000
digits each problem is 3.5M dependent steps, so the wall time is set by the steps, not by the batch.
"""

from toolssm.experiments import Job, Study

EVAL = ("python3 eval.py --model {ckpt} --split {split} --lengths {n} --num-samples 16 --batch-size 16 --device cuda "
        "--decode device --no-token-accuracy --out $RUN_DIR/{tag}-{split} > $RUN_DIR/{tag}-{split}.log 2>&1")


def _parallel(*evals: str) -> str:
    """Start every evaluation at once, wait for all; fail if any failed."""
    return " & ".join(evals) + " & s=0; for j in $(jobs -p); do wait $j || s=1; done; exit $s"


def _both(ckpt: str, tag: str, n: int) -> list[str]:
    return [EVAL.format(ckpt=ckpt, split=split, n=n, tag=tag) for split in ("test", "stress")]


STUDY = Study(
    name="push_length",
    claim="The addition LSTMs stay exact at 10,000 and 100,000 digits on random and stress problems; how far the Mamba checkpoints go.",
    runs=[
        Job("len-10k", _parallel(*_both("checkpoints/addition-lstm-small", "lstm", 10_000),
                                 *_both("checkpoints/addition-lstm-small-p3", "lstm-p3", 10_000),
                                 *_both("checkpoints/addition-mamba-small-lockstep", "mamba-lockstep", 10_000),
                                 *_both("checkpoints/multiplication-n_x_2_aligned-mamba-small", "mul2-aligned", 10_000)),
            timeout_s=900),
        Job("len-100k", _parallel(*_both("checkpoints/addition-lstm-small", "lstm", 100_000)), timeout_s=1500),
    ],
)
