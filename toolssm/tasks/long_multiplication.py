"""n x m multiplication with pointer memory: the schoolbook algorithm, three pointers, for operands of any lengths.

Not in the paper (its multiplication stops at n x 2, one pointer per multiplier digit). Prompt ``a×b=`` as in
``multiplication``; training draws the two lengths independently from 1..n, like addition. Decisions [INF], written
down in docs/FORMATS.md ("Long multiplication"):

- **Rows of fixed width, least significant multiplier digit first.** Row j holds the n + 1 (digit, carry) pairs of
  S_j + a x b_j, where S_j is row j - 1 without its lowest pair (S_0 = 0): the lowest pair's digit is the product's
  digit j, the rest is carried into the next row. Since S_j < a < 10^n, every row has exactly n + 1 columns whatever
  b is, so no phase inside a row lasts longer than the walk over a (no shifts to count, no growing rows).
- **Three pointers**: pointer 1 walks a right to left (one digit per column, reset to a's last digit by a walk that
  ends on ``×``), pointer 2 stands on b's digit of the row (read in every column, so the column is complete without
  memory), pointer 3 walks the previous row's pairs (it stands on the row's own separator in row 0: a non-digit,
  read in every column, counts 0). Every column is ``[p2.read] b [p1.read] a [p3.read] s``, then the pair, then
  the moves; column n reads ``[BOUNDARY]`` from pointer 1 and the separator from pointer 3.
- **Row separators say which row is the last**: before writing row j, pointer 2 peeks at the next multiplier digit;
  the row opens with ``+`` if there is one and with ``#`` if not. Pointer 3 reads the separator in the row's last
  column, so the end of the row decides locally whether another row follows.
- **Printing**: pointer 3 walks from the last row's ``#`` to ``[ANS]``, then back left reading every token and
  printing the digits of the last row (its top digit is skipped when it is a leading 0: at most one), which ends on
  ``#``; then, row by row leftwards, it walks to each earlier row's ``+`` without printing and prints the digit just
  right of it (that row's product digit); the prompt's ``=`` ends it. Each walk ends on a token of its own
  (``=``, ``+``/``#``, ``×``, ``[BOUNDARY]``, ``[ANS]``, ``#``, ``+``, ``=``) and walks in a direction of its own.

Cost, measured on n x n test problems: ~20.5 tokens per (digit of a, digit of b) pair at 100 x 100 (25.6 at 10 x 10):
11 per column of a row (three reads with their observations, the pair, three moves), 3 per digit of a for each row's
reset walk, and ~6 for collecting the product digits when printing (3 per tape position walked). A 100 x 100 problem
is 205,421 tokens, 50 x 50 52,720, 10 x 10 2,560. The context that determines every trained token is 13 tokens at
every training size checked (n <= 3, 5, 8, 12: ``scripts/trace_locality.py``).
"""

from __future__ import annotations

from .. import vocab as V
from ..tools import PointerMemory
from ..trajectory import Recorder, Trajectory
from .arithmetic import _any_run, _cmds, _digit, _number, _parse_operands, random_number, run_number
from .base import Task


def schoolbook_trajectory(a: int, b: int) -> Trajectory:
    """The schoolbook n x m trace (module docstring), recorded against a real 3-pointer memory."""
    rec = Recorder(PointerMemory(3), f"{a}×{b}=")
    (rA, lA, mA), (rB, lB, mB), (rC, lC, mC) = _cmds(1), _cmds(2), _cmds(3)

    def open_row() -> None:  # pointer 2 peeks at the next multiplier digit: '+' if there is one, '#' for the last row
        rec.command(lB)
        nxt = rec.command(rB)
        rec.command(mB)
        rec.emit("+" if _digit(nxt) else "#")

    # 1. pointer 2 to b's last digit; row 0's separator; pointer 3 onto it; pointer 1 to a's last digit
    while rec.command(rB) != "=":
        rec.command(mB)
    rec.command(lB)
    open_row()
    while rec.command(rC) not in ("+", "#"):
        rec.command(mC)
    while rec.command(rA) != "×":
        rec.command(mA)
    rec.command(lA)
    # 2. the rows: n + 1 columns each, (digit, carry) pairs of S_j + a x b_j
    while True:
        carry = 0
        while True:
            bd = int(rec.command(rB))
            ad = rec.command(rA)
            sd = rec.command(rC)
            total = (int(ad) * bd if _digit(ad) else 0) + (int(sd) if _digit(sd) else 0) + carry
            rec.emit(f"{total % 10}{total // 10}")
            carry = total // 10
            if _digit(sd):
                rec.command(mC)
                rec.command(mC)
            if not _digit(ad):  # pointer 1 read [BOUNDARY]: column n, the row is complete
                break
            rec.command(lA)
        assert carry == 0 and not _digit(sd)
        if sd == "#":  # pointer 3 read this row's own separator: the last row
            break
        rec.command(lB)
        open_row()
        for _ in range(3):  # pointer 3 from this row's separator to the pair after its product digit
            rec.command(mC)
        while True:  # pointer 1 back to a's last digit
            rec.command(mA)
            if rec.command(rA) == "×":
                break
        rec.command(lA)
    rec.emit(V.ANS)
    # 3. print: pointer 3 to [ANS], then left over the last row printing its digits (a leading 0 skipped) to '#'
    while True:
        rec.command(mC)
        if rec.command(rC) == V.ANS:
            break
    first = True
    while True:
        rec.command(lC)
        if rec.command(rC) == "#":
            break
        rec.command(lC)
        d = rec.command(rC)
        if not (first and d == "0"):
            rec.emit(d)
        first = False
    # 4. each earlier row's product digit, from the last row back: walk left to its '+', print the digit right of it
    rec.command(lC)
    while True:
        tok = rec.command(rC)
        if tok == "=":
            break
        while tok != "+":
            rec.command(lC)
            tok = rec.command(rC)
        rec.command(mC)
        rec.emit(rec.command(rC))
        rec.command(lC)
        rec.command(lC)
    return rec.traj


class LongMultiplication(Task):
    """n x m multiplication, both operands of any length, with the schoolbook trace (module docstring). Size n: the
    longer operand's digits (test problems: both exactly n digits)."""

    name = "long_multiplication"
    configs = {"schoolbook": {"variant": "schoolbook"}}
    default_config = "schoolbook"
    train_max_n = 10
    test_lengths = (10, 20, 50, 100)
    size_unit = "digits"
    max_n = 2000
    stress_classes = ("lengths", "n_by_1", "1_by_n", "b_digits_019", "nines", "zero_runs", "powers_of_10", "lead_1_9")
    runs_classes = ("zero_runs_long", "nine_runs", "repdigits", "digit_runs")

    def tool(self, problem=None):
        return PointerMemory(3)

    def sample(self, rng, n, train):
        n1, n2 = (rng.randint(1, n), rng.randint(1, n)) if train else (n, n)
        return {"a": random_number(rng, n1, allow_zero=False), "b": random_number(rng, n2, allow_zero=False)}

    def sample_stress(self, rng, n, kind):
        """Both operands >= 1 (a zero product would print leading zeros), the longer of exactly n digits."""
        a, b = random_number(rng, n, allow_zero=False), random_number(rng, n, allow_zero=False)
        if kind == "lengths":  # independent lengths, either order
            m = rng.randint(1, n)
            a, b = (a, random_number(rng, m, allow_zero=False)) if rng.random() < 0.5 else (random_number(rng, m, allow_zero=False), b)
        elif kind == "n_by_1":
            b = rng.randint(1, 9)
        elif kind == "1_by_n":
            a = rng.randint(1, 9)
        elif kind == "b_digits_019":  # zero rows, copy rows, maximal-carry rows
            b = _number(rng, n, alphabet="019", lead="19")
        elif kind == "nines":
            a, b = 10**n - 1, 10**n - 1
        elif kind == "zero_runs":
            a, b = _number(rng, n, alphabet="0" * 7 + "123456789"), _number(rng, n, alphabet="0" * 7 + "123456789")
        elif kind == "powers_of_10":
            a, b = 10 ** (n - 1), 10 ** (rng.randint(1, n) - 1) * rng.randint(1, 9)
        elif kind == "lead_1_9":
            a, b = _number(rng, n, lead="19"), _number(rng, n, lead="19")
        # runs classes: each operand one run of a digit over at least half its digits
        elif kind == "zero_runs_long":
            a, b = run_number(rng, n, 0, rng.choice(("middle", "end"))), run_number(rng, n, 0, rng.choice(("middle", "end")))
        elif kind == "nine_runs":
            a, b = run_number(rng, n, 9, rng.choice(("start", "middle", "end"))), run_number(rng, n, 9, rng.choice(("start", "middle", "end")))
        elif kind == "repdigits":
            a, b = int(str(rng.randint(1, 9)) * n), int(str(rng.randint(1, 9)) * n)
        elif kind == "digit_runs":
            a, b = _any_run(rng, n), _any_run(rng, n)
        else:
            raise ValueError(f"long_multiplication has no stress class {kind!r}; choose from {self.stress_classes + self.runs_classes}")
        return {"a": a, "b": b}

    def parse_prompt(self, prompt):
        a, b = _parse_operands(prompt, "×", self.name)
        if a == 0 or b == 0:
            raise ValueError(f"{self.name}: neither operand may be 0 (the trace prints no leading zeros), got {prompt[:40]!r}")
        return {"a": a, "b": b}

    def size(self, p):
        return max(len(str(p["a"])), len(str(p["b"])))

    def prompt(self, p):
        return f"{p['a']}×{p['b']}="

    def solve(self, p):
        return str(p["a"] * p["b"])

    def trajectory(self, p):
        return schoolbook_trajectory(p["a"], p["b"])
