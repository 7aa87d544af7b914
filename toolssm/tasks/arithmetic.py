"""Multi-digit addition and n x k multiplication with pointer memory (paper sections 3.1, 3.2, App. D.3).

Surface format (decisions the paper leaves open are marked [INF] and documented in docs/FORMATS.md):
- prompt ``a+b=`` / ``a×b=``; operands are uniformly random n-digit numbers (1-digit: 0..9 for
  addition, 1..9 for multiplication, so no product trace has leading zeros) [INF].
- Thoughts write each result digit followed by its carry (``"51"`` = digit 5, carry 1) [INF, from the
  paper's own example]. A final carry is written as its own pair ``"c0"``.
- The answer is printed after ``[ANS]`` by walking a pointer back from ``[ANS]`` to the ``=`` that
  precedes the reversed result, skipping carries, so it comes out most significant digit first.
- Trace variants that are not in the paper [INF]: addition ``tool_p3`` (a third pointer prints the sum) and
  multiplication ``aligned`` (configs ``n_x_K_aligned``: reordered so that no walk is followed by two different
  commands, k + 3 pointers). In the paper's traces a pointer walks the same tokens twice and what follows depends on
  which walk it was; models trained on short problems fail exactly there on long ones (docs/FORMATS.md).
"""

from __future__ import annotations

import random
import sys

from .. import vocab as V
from ..tools import Calculator, NoTool, PointerMemory
from ..trajectory import Recorder, Trajectory
from .base import Task


# Python refuses int <-> str conversions past 4,300 digits by default (a guard against quadratic-time parsing of
# untrusted input); these tasks convert operands of up to 100,000 digits on purpose.
if hasattr(sys, "set_int_max_str_digits") and 0 < sys.get_int_max_str_digits() < 200_000:
    sys.set_int_max_str_digits(200_000)


def _cmds(k: int) -> tuple[str, str, str]:
    return V.pointer_token(k, "read"), V.pointer_token(k, "move_left"), V.pointer_token(k, "move_right")


def _digit(tok: str) -> bool:
    return len(tok) == 1 and tok.isdigit()


def random_number(rng: random.Random, digits: int, allow_zero: bool = True) -> int:
    """A uniformly random number with exactly ``digits`` digits."""
    if digits == 1:
        return rng.randint(0 if allow_zero else 1, 9)
    return rng.randint(10 ** (digits - 1), 10**digits - 1)


def _print_reversed(rec: Recorder, k: int) -> None:
    """Walk pointer k right to [ANS], then back left to '=', outputting every other token (the digits)."""
    read, left, right = _cmds(k)
    while True:
        rec.command(right)
        if rec.command(read) == V.ANS:
            break
    rec.command(left)
    rec.command(read)  # the last carry
    while True:
        rec.command(left)
        rec.emit(rec.command(read))  # a digit: output it
        rec.command(left)
        if rec.command(read) == "=":
            break


def addition_trajectory(a: int, b: int, print_pointer: int = 2, lockstep: bool = False) -> Trajectory:
    """The paper's 2-pointer addition algorithm, recorded against a real pointer memory.

    ``print_pointer=3`` is toolssm's variant ``tool_p3``: a third pointer, untouched until then, walks from the
    start of memory to ``[ANS]`` and prints the sum. With the paper's 2 pointers, pointer 2 re-walks the second
    operand and reads the same ``=`` that ended phase 1, so the model must remember across the whole walk that it
    is past ``[ANS]`` (see docs/FORMATS.md); with pointer 3 the command token itself says which walk it is.

    ``lockstep=True`` (variant ``lockstep``, with ``print_pointer=3``): a pointer that has read a non-digit keeps
    reading in place in every later column, so every column reads both operands. Without it, once the shorter operand
    ends the columns hold one pointer's commands only, and whether the other pointer stopped was last visible columns
    earlier: a phase at most 4 columns long in training (operands of 1-5 digits) and unbounded at test, where the
    shipped ``tool_p3`` model resumes the stopped pointer after ~18 columns (``99999999999999999999+1=``).
    """
    rec = Recorder(PointerMemory(max(2, print_pointer)), f"{a}+{b}=")
    (r1, _, m1), (r2, _, m2) = _cmds(1), _cmds(2)
    # 1. pointer 1 to '+', pointer 2 to '='
    while rec.command(r1) != "+":
        rec.command(m1)
    while rec.command(r2) != "=":
        rec.command(m2)
    # 2. add digit by digit from the right; a pointer that reads a non-digit stops (counts as 0)
    _add_columns(rec, [1, 2], leftward=True, lockstep=lockstep)
    # 3. print the reversed sum back to front
    _print_reversed(rec, print_pointer)
    return rec.traj


def _add_columns(rec: Recorder, pointers: list[int], leftward: bool, lockstep: bool = False) -> None:
    """Add the numbers under ``pointers`` column by column with a carry; a pointer that reads a non-digit stops (counts
    as 0 from then on). ``leftward``: each pointer moves left, then reads (operands written most significant digit
    first, pointers starting right of their last digit); otherwise it reads, then moves right twice (summands written
    reversed as digit-carry pairs, pointers on their first digit). Writes (digit, carry) pairs, a final carry as
    ``c0``, then ``[ANS]``. ``lockstep``: a stopped pointer still reads (in place, no move) in every later column, so
    each column's commands show which pointers have stopped."""
    carry, active = 0, [True] * len(pointers)
    while True:
        total = carry
        for j, k in enumerate(pointers):
            if active[j]:
                read, left, right = _cmds(k)
                if leftward:
                    rec.command(left)
                tok = rec.command(read)
                if _digit(tok):
                    total += int(tok)
                    if not leftward:
                        rec.command(right)
                        rec.command(right)
                else:
                    active[j] = False
            elif lockstep:
                rec.command(_cmds(k)[0])
        if not any(active):
            if carry:
                rec.emit(f"{carry}0")
            break
        rec.emit(f"{total % 10}{total // 10}")
        carry = total // 10
    rec.emit(V.ANS)


def multiplication_trajectory(a: int, b: int) -> Trajectory:
    """The paper's n x k algorithm with max(k, 2) pointers: partial products, then a k-summand addition."""
    k = len(str(b))
    rec = Recorder(PointerMemory(max(k, 2)), f"{a}×{b}=")
    (r1, l1, m1), (r2, l2, m2) = _cmds(1), _cmds(2)
    # 1. pointer 1 to the last digit of a, pointer 2 to the last digit of b
    while rec.command(r1) != "×":
        rec.command(m1)
    rec.command(l1)
    while rec.command(r2) != "=":
        rec.command(m2)
    rec.command(l2)
    # 2. one partial product per digit of b, each written reversed as (digit, carry) pairs,
    #    separated by '+' and shifted by (0, 0) pairs; the list ends with '='
    row = 0
    while True:
        if not _digit(rec.command(r2)):  # pointer 2 reached '×'
            break
        if row:
            rec.emit("+" + "00" * row)
        carry = 0
        while True:
            ad = rec.command(r1)
            if not _digit(ad):  # pointer 1 passed the most significant digit
                break
            bd = rec.command(r2)
            p = int(ad) * int(bd) + carry
            rec.emit(f"{p % 10}{p // 10}")
            carry = p // 10
            rec.command(l1)
        if carry:
            rec.emit(f"{carry}0")
        while True:  # reset pointer 1 to the last digit of a
            rec.command(m1)
            if rec.command(r1) == "×":
                break
        rec.command(l1)
        rec.command(l2)
        row += 1
    rec.emit("=")
    # 3. pointer j to the first digit of summand j: summand 0 follows the prompt's '=', summand j the j-th '+'
    while rec.command(r1) != "=":
        rec.command(m1)
    rec.command(m1)
    for j in range(2, k + 1):
        read, _, right = _cmds(j)
        seen = 0
        while True:
            tok = rec.command(read)
            rec.command(right)
            if tok == "+":
                seen += 1
                if seen == j - 1:
                    break
    _add_columns(rec, list(range(1, k + 1)), leftward=False)
    # 4. print the reversed product
    _print_reversed(rec, 1)
    return rec.traj


def multiplication_trajectory_aligned(a: int, b: int) -> Trajectory:
    """toolssm's variant ``aligned`` of the n x k algorithm (k + 3 pointers): no walk is followed by two different
    commands, so no decision waits on a bit held across an n-token walk.

    In the paper's trace (``multiplication_trajectory``) pointer 1 walks over a to ``×`` at the start and again to
    reset after each row; both walks end ``[pointer1.read()]× [pointer1.move_left()]`` and are followed by different
    commands, and every failing model in ``results/table1`` breaks there (one side or the other). Here:
    - pointer 2 is placed on b's last digit first, then pointer 1 on a's last digit; each step of a row reads b then
      a, so the first and the reset walk are both followed by ``[pointer2.read()]``;
    - at the end of a row pointer 2 moves left and reads: a digit means another row (the ``+`` and shift pairs are
      written before pointer 1's reset walk, not after it), ``×`` means the list is complete (``=``);
    - summand j is walked to by its own pointer j + 3 from the start of memory, and a last pointer k + 3 walks from
      the start to ``[ANS]`` and prints, as in addition's ``tool_p3``.
    """
    k = len(str(b))
    A, B, S, P = 1, 2, [3 + j for j in range(k)], k + 3
    rec = Recorder(PointerMemory(P), f"{a}×{b}=")
    (rA, lA, mA), (rB, lB, mB) = _cmds(A), _cmds(B)
    # 1. pointer 2 to b's last digit, then pointer 1 to a's last digit
    while rec.command(rB) != "=":
        rec.command(mB)
    rec.command(lB)
    while rec.command(rA) != "×":
        rec.command(mA)
    rec.command(lA)
    # 2. one partial product per digit of b: read b's digit, then a's, write (digit, carry), move pointer 1 left
    row = 0
    while True:
        carry = 0
        while True:
            bd = rec.command(rB)
            ad = rec.command(rA)
            if not _digit(ad):  # pointer 1 passed a's most significant digit
                break
            p = int(ad) * int(bd) + carry
            rec.emit(f"{p % 10}{p // 10}")
            carry = p // 10
            rec.command(lA)
        if carry:
            rec.emit(f"{carry}0")
        rec.command(lB)
        if not _digit(rec.command(rB)):  # pointer 2 reached '×': every row is written
            break
        row += 1
        rec.emit("+" + "00" * row)
        while True:  # reset pointer 1 to a's last digit
            rec.command(mA)
            if rec.command(rA) == "×":
                break
        rec.command(lA)
    rec.emit("=")
    # 3. pointer j + 3 to the first digit of summand j (after the prompt's '=' or the j-th '+'), from the start
    for j in range(k):
        read, _, right = _cmds(S[j])
        stop, count = ("=", 1) if j == 0 else ("+", j)
        while True:
            tok = rec.command(read)
            rec.command(right)
            if tok == stop:
                count -= 1
                if count == 0:
                    break
    _add_columns(rec, S, leftward=False)
    # 4. the last pointer walks from the start of memory to [ANS] and prints the reversed product
    _print_reversed(rec, P)
    return rec.traj


def _number(rng: random.Random, digits: int, alphabet: str = "0123456789", lead: str = "123456789") -> int:
    """A number of exactly ``digits`` digits: the first from ``lead``, the rest from ``alphabet``."""
    return int(rng.choice(lead) + "".join(rng.choice(alphabet) for _ in range(digits - 1)))


def run_number(rng: random.Random, digits: int, digit: int, where: str) -> int:
    """A number of exactly ``digits`` digits holding one run of ``digit`` over at least half of them (the ``runs_<n>``
    splits, docs/FORMATS.md): ``where`` = ``start`` (the run leads; ``digit`` >= 1), ``middle`` (a random head and tail
    of at least one digit each around it) or ``end`` (the run ends the number: ``digit`` 0 makes head x 10^L). The
    digits next to the run differ from it, so the run is exactly L long; below 3 digits the number is the digit
    repeated (or a random one where that would lead with 0)."""
    if digits < 3:
        return int(str(digit) * digits) if digit else random_number(rng, digits, allow_zero=False)
    others = [c for c in "0123456789" if c != str(digit)]
    if where == "start":
        if digit == 0:
            raise ValueError("a number cannot start with a run of zeros")
        run = rng.randint(max(1, digits // 2), digits - 1)
        return int(str(digit) * run + rng.choice(others) + _digits(rng, digits - run - 1))
    if where == "middle":
        run = rng.randint(max(1, digits // 2), digits - 2)
        head = rng.randint(1, digits - run - 1)
        first = _head(rng, head, others)
        tail = digits - run - head
        return int(first + str(digit) * run + rng.choice(others) + _digits(rng, tail - 1))
    if where == "end":
        run = rng.randint(max(1, digits // 2), digits - 1)
        return int(_head(rng, digits - run, others) + str(digit) * run)
    raise ValueError(f"where must be start, middle or end, got {where!r}")


def _head(rng: random.Random, head: int, others: list[str]) -> str:
    """The ``head`` digits before a run: no leading zero, and the last one (next to the run) from ``others``."""
    if head == 1:
        return rng.choice([c for c in others if c != "0"])
    return rng.choice("123456789") + _digits(rng, head - 2) + rng.choice(others)


def _any_run(rng: random.Random, digits: int) -> int:
    """A run of a random digit at a random place (:func:`run_number`)."""
    digit = rng.randint(0, 9)
    return run_number(rng, digits, digit, rng.choice(("middle", "end") if digit == 0 else ("start", "middle", "end")))


def _digits(rng: random.Random, k: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(k))


def _parse_operands(prompt: str, op: str, task: str) -> tuple[int, int]:
    """(a, b) from ``a<op>b=``: decimal digits only, no leading zeros (``0`` itself is fine), or a ValueError that
    names the bad character. For ``×`` the ASCII ``*`` and ``x`` are read as the same sign (what a keyboard types; the
    model is given the prompt written the trace's way, ``Task.prompt``)."""
    if not prompt.endswith("="):
        raise ValueError(f"{task}: a prompt looks like '12{op}34=', got {prompt[:40]!r} (it must end with '=')")
    parts = (prompt.replace("*", op).replace("x", op) if op == "×" else prompt)[:-1].split(op)
    if len(parts) != 2:
        signs = f"{op!r} (or '*' or 'x')" if op == "×" else repr(op)
        raise ValueError(f"{task}: a prompt has exactly one {signs}, got {prompt[:40]!r}")
    for x in parts:
        bad = next((c for c in x if c not in "0123456789"), None)
        if bad is not None or not x:
            raise ValueError(f"{task}: operands are non-negative decimal integers; {prompt[:40]!r} has "
                             + (f"the character {bad!r}" if bad is not None else "an empty operand"))
        if len(x) > 1 and x[0] == "0":
            raise ValueError(f"{task}: operand {x[:20]!r} has a leading zero (the traces write numbers without one)")
    return int(parts[0]), int(parts[1])


class Addition(Task):
    """n-digit addition. Variants: ``tool`` (the paper's main setting), the D.7 ablations ``direct``,
    ``reversed``, ``no_tool`` (same trajectory, observations predicted by the model) and ``calculator``, and
    toolssm's ``tool_p3`` (a third pointer prints) and ``lockstep`` (``tool_p3`` where a stopped pointer keeps
    reading in place: every column reads both operands, whatever their lengths)."""

    name = "addition"
    configs = {v: {"variant": v} for v in ("tool", "direct", "reversed", "no_tool", "calculator", "tool_p3", "lockstep")}
    default_config = "tool"
    train_max_n = 5  # the paper's: operand lengths drawn independently from 1..5
    test_lengths = (5, 10, 20, 50, 100, 200, 500, 1000)
    size_unit = "digits"
    max_n = 100_000
    stress_classes = ("lengths", "long_plus_1", "1_plus_long", "plus_zero", "nines", "carry_all", "zero_runs", "lead_1_9")
    runs_classes = ("zero_run_plus_digit", "zero_run", "nine_run", "repdigits", "digit_runs")

    def tool(self, problem=None):
        # no_tool trajectories are the tool trajectories (observations kept as role "observation", but
        # trained), so they replay and parse against the pointer memory; at inference no tool answers.
        return {"tool": lambda: PointerMemory(2), "no_tool": lambda: PointerMemory(2), "tool_p3": lambda: PointerMemory(3),
                "lockstep": lambda: PointerMemory(3), "calculator": Calculator}.get(self.variant, NoTool)()

    def inference_tool(self, problem=None):
        return NoTool(predicted_observations=True) if self.variant == "no_tool" else self.tool(problem)

    def sample(self, rng, n, train):
        n1, n2 = (rng.randint(1, n), rng.randint(1, n)) if train else (n, n)
        return {"a": random_number(rng, n1), "b": random_number(rng, n2)}

    def sample_stress(self, rng, n, kind):
        """One operand has exactly n digits (the size), the other is chosen by ``kind``; orders are random."""
        m = rng.randint(1, n)  # the other operand's length, anywhere in 1..n
        if kind == "lengths":  # lengths independent over the whole range
            a, b = random_number(rng, n), random_number(rng, m)
        elif kind == "long_plus_1":
            return {"a": random_number(rng, n), "b": rng.randint(0, 9)}
        elif kind == "1_plus_long":
            return {"a": rng.randint(0, 9), "b": random_number(rng, n)}
        elif kind == "plus_zero":
            a, b = random_number(rng, n), 0
        elif kind == "nines":  # 9...9 + 9...9: a carry out of every column
            a, b = 10**n - 1, 10**m - 1
        elif kind == "carry_all":  # x + (10^n - x) = 10^n, or 9...9 + 1: one carry through the whole number
            a = random_number(rng, n)
            a, b = (a, 10**n - a) if rng.random() < 0.5 and len(str(10**n - a)) <= n else (10**n - 1, 1)
        elif kind == "zero_runs":  # 1 0...0 d-style operands: runs of zeros, sums without carries
            a = _number(rng, n, alphabet="0" * 7 + "123456789", lead="123456789")
            b = _number(rng, m, alphabet="0" * 7 + "1", lead="1")
        elif kind == "lead_1_9":
            a, b = _number(rng, n, lead="19"), _number(rng, m, lead="19")
        # runs classes: the n-digit operand holds one run of a digit over at least half its digits
        elif kind == "zero_run_plus_digit":  # 10000000000000000000+7: the short operand ends long before the run does
            a, b = run_number(rng, n, 0, rng.choice(("middle", "end"))), rng.randint(0, 9)
        elif kind == "zero_run":
            a, b = run_number(rng, n, 0, rng.choice(("middle", "end"))), random_number(rng, m)
        elif kind == "nine_run":  # a carry from below runs through the whole run of nines
            a, b = run_number(rng, n, 9, rng.choice(("start", "middle", "end"))), random_number(rng, m)
        elif kind == "repdigits":  # ddd...d + eee...e
            a, b = int(str(rng.randint(1, 9)) * n), int(str(rng.randint(1, 9)) * m)
        elif kind == "digit_runs":  # both operands one run each, of any digit, anywhere
            a, b = _any_run(rng, n), _any_run(rng, m)
        else:
            raise ValueError(f"addition has no stress class {kind!r}; choose from {self.stress_classes + self.runs_classes}")
        return {"a": a, "b": b} if rng.random() < 0.5 else {"a": b, "b": a}

    def parse_prompt(self, prompt):
        a, b = _parse_operands(prompt, "+", self.name)
        return {"a": a, "b": b}

    def size(self, p):
        return max(len(str(p["a"])), len(str(p["b"])))

    def prompt(self, p):
        return f"{p['a']}+{p['b']}="

    def solve(self, p):
        s = str(p["a"] + p["b"])
        return s[::-1] if self.variant == "reversed" else s

    @property
    def train_observations(self):
        return self.variant == "no_tool"

    def trajectory(self, p):
        a, b = p["a"], p["b"]
        if self.variant in ("tool", "no_tool"):
            return addition_trajectory(a, b)
        if self.variant in ("tool_p3", "lockstep"):
            return addition_trajectory(a, b, print_pointer=3, lockstep=self.variant == "lockstep")
        if self.variant == "calculator":
            rec = Recorder(Calculator(), self.prompt(p))
            rec.text_command(f"add({a},{b})")
            rec.emit(V.ANS + self.solve(p))
            return rec.traj
        traj = Trajectory(self.prompt(p))
        traj.add("output", V.ANS + self.solve(p))
        return traj


class Multiplication(Task):
    """n x k multiplication (first operand n digits, second exactly k digits). Variants: ``tool`` (the paper's
    trace, max(k, 2) pointers) and ``aligned`` (toolssm's, k + 3 pointers; see ``multiplication_trajectory_aligned``)."""

    name = "multiplication"
    # the paper's trace for k = 1..8 (max(k, 2) pointers) and toolssm's aligned one for k = 1..5 (k + 3 pointers)
    configs = {**{f"n_x_{k}": {"variant": "tool", "k": k} for k in range(1, V.MAX_POINTERS + 1)},
               **{f"n_x_{k}_aligned": {"variant": "aligned", "k": k} for k in range(1, V.MAX_POINTERS - 2)}}
    default_config = "n_x_2"
    train_max_n = 10
    test_lengths = (10, 20, 50, 100, 200, 500, 1000)
    size_unit = "digits"
    max_n = 20_000
    stress_classes = ("b_digits_019", "a_nines", "max_both", "a_zero_runs", "a_power_of_10", "b_power_of_10", "a_digits_019", "lead_1_9")
    runs_classes = ("a_zero_run_middle", "a_zero_run_end", "a_nine_run", "a_repdigit", "a_digit_run")

    def configure(self, k: int) -> None:
        self.k = k  # digits of the second operand

    def tool(self, problem=None):
        return PointerMemory(self.k + 3 if self.variant == "aligned" else max(self.k, 2))

    def sample(self, rng, n, train):
        n1 = rng.randint(1, n) if train else n
        return {"a": random_number(rng, n1, allow_zero=False), "b": random_number(rng, self.k, allow_zero=False)}

    def sample_stress(self, rng, n, kind):
        """a has exactly n digits (the size), b exactly k; both >= 1 (a zero product would print leading zeros)."""
        k = self.k
        a, b = random_number(rng, n, allow_zero=False), random_number(rng, k, allow_zero=False)
        if kind == "b_digits_019":  # multiplier digits 0, 1 and 9: zero rows, copy rows, maximal-carry rows
            b = _number(rng, k, alphabet="019", lead="19")
        elif kind == "a_nines":
            a = 10**n - 1
        elif kind == "max_both":
            a, b = 10**n - 1, 10**k - 1
        elif kind == "a_zero_runs":
            a = _number(rng, n, alphabet="0" * 7 + "123456789")
        elif kind == "a_power_of_10":
            a = 10 ** (n - 1) * rng.randint(1, 9)
        elif kind == "b_power_of_10":
            b = 10 ** (k - 1)
        elif kind == "a_digits_019":
            a = _number(rng, n, alphabet="019", lead="19")
        elif kind == "lead_1_9":
            a, b = _number(rng, n, lead="19"), _number(rng, k, lead="19")
        # runs classes: a holds one run of a digit over at least half its digits (9 x 10^999 x 72 was one)
        elif kind == "a_zero_run_middle":
            a = run_number(rng, n, 0, "middle")
        elif kind == "a_zero_run_end":  # head x 10^L
            a = run_number(rng, n, 0, "end")
        elif kind == "a_nine_run":
            a = run_number(rng, n, 9, rng.choice(("start", "middle", "end")))
        elif kind == "a_repdigit":
            a = int(str(rng.randint(1, 9)) * n)
        elif kind == "a_digit_run":
            a = _any_run(rng, n)
        else:
            raise ValueError(f"multiplication has no stress class {kind!r}; choose from {self.stress_classes + self.runs_classes}")
        return {"a": a, "b": b}

    def parse_prompt(self, prompt):
        a, b = _parse_operands(prompt, "×", self.name)
        if a == 0 or b == 0:  # the traces (and training) have positive operands only
            raise ValueError(f"{self.name} n x {self.k}: both operands are positive (no 0 operand), got {prompt[:40]!r}")
        if len(str(b)) != self.k:
            raise ValueError(f"{self.name} n x {self.k}: the second operand has exactly {self.k} digit{'s' if self.k > 1 else ''}, "
                             f"got {len(str(b))} in {prompt[:40]!r}")
        return {"a": a, "b": b}

    def size(self, p):
        return len(str(p["a"]))

    def prompt(self, p):
        return f"{p['a']}×{p['b']}="

    def solve(self, p):
        return str(p["a"] * p["b"])

    def trajectory(self, p):
        if self.variant == "aligned":
            return multiplication_trajectory_aligned(p["a"], p["b"])
        return multiplication_trajectory(p["a"], p["b"])
