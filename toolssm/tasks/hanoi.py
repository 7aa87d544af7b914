"""Tower of Hanoi, iterative (1 pointer) and recursive (2 pointers) (paper section 3.3, App. D.3/D.4).

Disk sizes are drawn without replacement from 1..100 and stacked on rod A largest first. Moves are
written ``(d)XY$``. Decisions the paper leaves open [INF] (documented in docs/FORMATS.md):
- Iterative: the prompt is the initial state ``A(7)(5)(2)BC`` + newline; every state is written the same
  way (rod letter, then its disks bottom to top), so each move ``(d)XY$`` is followed by the new state
  line copied from the previous one. Before ``[ANS]`` the thoughts hold the parity scan (``B``/``C``
  alternately, one per disk). Everything after ``[ANS]`` (moves and states) is output; the answer is the
  move sequence.
- Recursive: the prompt is the disk list ``(7)(5)(2)`` + newline; the output is ``#`` then the move
  lists for 1, 2, ..., n disks, each ended by ``#``; the answer is the last list.
"""

from __future__ import annotations

import re

from .. import vocab as V
from ..tools import PointerMemory
from ..trajectory import Recorder
from .base import Task

MOVE_RE = re.compile(r"\((\d+)\)([ABC])([ABC])\$")
READ, LEFT, RIGHT = V.pointer_token(1, "read"), V.pointer_token(1, "move_left"), V.pointer_token(1, "move_right")
READ2, LEFT2, RIGHT2 = V.pointer_token(2, "read"), V.pointer_token(2, "move_left"), V.pointer_token(2, "move_right")


def state_line(rods: dict[str, list[int]]) -> str:
    return "".join(r + "".join(f"({d})" for d in rods[r]) for r in "ABC") + "\n"


def optimal_moves(disks: list[int]) -> list[tuple[int, str, str]]:
    """Reference solution by the textbook recursion (independent of both trajectory algorithms)."""
    out: list[tuple[int, str, str]] = []

    def rec(k: int, src: str, dst: str, via: str) -> None:  # move the k smallest disks
        if k == 0:
            return
        rec(k - 1, src, via, dst)
        out.append((disks[len(disks) - k], src, dst))
        rec(k - 1, via, dst, src)

    import sys

    sys.setrecursionlimit(max(1000, 4 * len(disks) + 100))
    rec(len(disks), "A", "C", "B")
    return out


def simulate(disks: list[int], moves: list[tuple[int, str, str]]) -> str | None:
    """None if ``moves`` legally move every disk from A to C in 2^n - 1 moves, else the first problem."""
    rods = {"A": list(disks), "B": [], "C": []}
    for i, (d, x, y) in enumerate(moves):
        if x == y or not rods[x] or rods[x][-1] != d:
            return f"move {i} ({d}){x}{y}: disk {d} is not on top of {x}"
        if rods[y] and rods[y][-1] < d:
            return f"move {i} ({d}){x}{y}: disk {d} on a smaller disk"
        rods[y].append(rods[x].pop())
    if rods["C"] != list(disks):
        return "not every disk ends on C"
    if len(moves) != 2 ** len(disks) - 1:
        return f"{len(moves)} moves, the optimum is {2 ** len(disks) - 1}"
    return None


def parse_moves(text: str) -> list[tuple[int, str, str]]:
    return [(int(d), x, y) for d, x, y in MOVE_RE.findall(text)]


def iterative_trajectory(disks: list[int]) -> "Recorder":
    rods = {"A": list(disks), "B": [], "C": []}
    rec = Recorder(PointerMemory(1), state_line(rods))
    # parity scan: walk rod A, writing B and C alternately per disk, then rewind to the start
    letters = "BC"
    i = 0
    while True:
        rec.command(RIGHT)
        tok = rec.command(READ)
        if tok == ")":
            rec.emit(letters[i % 2])
            i += 1
        elif tok == "B":
            break
    while rec.command(READ) != V.BOUNDARY:
        rec.command(LEFT)
    rec.command(RIGHT)
    rec.emit(V.ANS)
    n = len(disks)
    cycle = ["A", "C", "B"] if n % 2 else ["A", "B", "C"]  # where the smallest disk goes, in turn
    small = disks[-1]
    step = 0
    while rods["C"] != disks:
        if step % 2 == 0:
            x = next(r for r in "ABC" if rods[r] and rods[r][-1] == small)
            y = cycle[(cycle.index(x) + 1) % 3]
        else:  # the only legal move not involving the smallest disk
            a, b = [r for r in "ABC" if not (rods[r] and rods[r][-1] == small)]
            if not rods[a] or (rods[b] and rods[b][-1] < rods[a][-1]):
                a, b = b, a
            x, y = a, b
        d = rods[x][-1]
        rec.emit(f"({d}){x}{y}$")
        # copy the previous state (under the pointer) with disk d moved from x to y
        rod, buf = None, ""
        tok = rec.command(READ)
        while True:
            if tok in ("A", "B", "C", "\n"):
                if rod == y:
                    rec.emit(f"({d})")
                rec.emit(tok)
                if tok == "\n":
                    break
                rod = tok
            elif tok == "(":
                buf = "("
            elif tok == ")":
                if not (rod == x and buf == f"({d}"):
                    rec.emit(buf + ")")
            else:
                buf += tok
            rec.command(RIGHT)
            tok = rec.command(READ)
        rods[y].append(rods[x].pop())
        # skip the move just written; stop on the first token of the new state
        while True:
            rec.command(RIGHT)
            if rec.command(READ) == "$":
                break
        rec.command(RIGHT)
        step += 1
    return rec


def recursive_trajectory(disks: list[int]) -> "Recorder":
    rec = Recorder(PointerMemory(2), "".join(f"({d})" for d in disks) + "\n")
    while rec.command(READ) != "\n":  # pointer 1 to the end of the disk list
        rec.command(RIGHT)
    rec.emit(V.ANS + "#")  # the empty list for 0 disks
    while rec.command(READ2) != "#":  # pointer 2 to the start of the previous list
        rec.command(RIGHT2)
    swap_bc, swap_ab = str.maketrans("BC", "CB"), str.maketrans("AB", "BA")
    while True:
        rec.command(LEFT)  # pointer 1 to the next larger disk's '('
        tok = rec.command(READ)
        if tok == V.BOUNDARY:
            break
        while tok != "(":
            rec.command(LEFT)
            tok = rec.command(READ)
        # copy the previous list with B and C swapped
        tok = rec.command(READ2)
        while tok != "#":
            rec.emit(tok.translate(swap_bc))
            rec.command(RIGHT2)
            tok = rec.command(READ2)
        # the middle move: this disk from A to C, copied from under pointer 1
        rec.emit("(")
        while True:
            rec.command(RIGHT)
            tok = rec.command(READ)
            rec.emit(tok)
            if tok == ")":
                break
        while tok != "(":
            rec.command(LEFT)
            tok = rec.command(READ)
        rec.emit("AC$")
        # rewind pointer 2 to the start of the previous list, copy it with A and B swapped
        rec.command(LEFT2)
        while rec.command(READ2) not in ("#", V.ANS):
            rec.command(LEFT2)
        rec.command(RIGHT2)
        tok = rec.command(READ2)
        while tok != "#":
            rec.emit(tok.translate(swap_ab))
            rec.command(RIGHT2)
            tok = rec.command(READ2)
        rec.emit("#")
        rec.command(RIGHT2)  # the start of the list just written
    return rec


class Hanoi(Task):
    """Tower of Hanoi with n disks; variants ``iterative`` (1 pointer) and ``recursive`` (2 pointers)."""

    name = "hanoi"
    configs = {"iterative": {"variant": "iterative"}, "recursive": {"variant": "recursive"}}
    default_config = "iterative"
    train_max_n = 8  # the paper's for the iterative trace (recursive: 7, train.py --train_max_n 7)
    test_lengths = (8, 9, 10)
    size_unit = "disks"
    min_n = 1
    max_n = 16
    # Disk labels are 1-3 characters; the prompt format fixes rods (A to C), so labels and sizes are the input space.
    stress_classes = ("smallest", "largest", "widths_1_and_3", "consecutive_run", "random")

    def tool(self, problem=None):
        return PointerMemory(1 if self.variant == "iterative" else 2)

    def sample(self, rng, n, train):
        k = rng.randint(1, n) if train else n
        return {"disks": sorted(rng.sample(range(1, 101), k), reverse=True)}

    def sample_stress(self, rng, n, kind):
        if kind == "smallest":  # labels n..1: one-character labels only
            disks = list(range(1, n + 1))
        elif kind == "largest":  # labels 100..101-n: '100' always, 2- and 3-character labels
            disks = list(range(101 - n, 101))
        elif kind == "widths_1_and_3":  # the widest (100) and narrowest (1-digit) labels side by side
            disks = [100] + rng.sample(range(1, 10), min(n - 1, 9))
            disks += rng.sample(range(10, 100), n - len(disks))
        elif kind == "consecutive_run":  # a run of consecutive labels starting anywhere
            start = rng.randint(1, 101 - n)
            disks = list(range(start, start + n))
        elif kind == "random":
            disks = rng.sample(range(1, 101), n)
        else:
            raise ValueError(f"hanoi has no stress class {kind!r}; choose from {self.stress_classes}")
        return {"disks": sorted(disks, reverse=True)}

    def parse_prompt(self, prompt):
        body = prompt[1:-3] if self.variant == "iterative" else prompt
        head, tail = ("A", "BC\n") if self.variant == "iterative" else ("", "\n")
        example = "A(7)(5)(2)BC\\n" if self.variant == "iterative" else "(7)(5)(2)\\n"
        if not (prompt.startswith(head) and prompt.endswith(tail)) or not re.fullmatch(r"(\(\d+\))+", body.rstrip("\n")):
            raise ValueError(f"hanoi ({self.variant}): a prompt looks like '{example}' (disks largest first), got {prompt[:40]!r}")
        disks = [int(d) for d in re.findall(r"\((\d+)\)", body)]
        if disks != sorted(set(disks), reverse=True) or not all(1 <= d <= 100 for d in disks):
            raise ValueError(f"hanoi: disks must be distinct sizes in 1..100, largest first, got {disks[:12]}")
        self.validate_n(len(disks))
        return {"disks": disks}

    def size(self, p):
        return len(p["disks"])

    def prompt(self, p):
        return self.trajectory(p).prompt

    def solve(self, p):
        return "".join(f"({d}){x}{y}$" for d, x, y in optimal_moves(p["disks"]))

    def answer_moves(self, output: str) -> list[tuple[int, str, str]]:
        if self.variant == "recursive":
            lists = [s for s in output.split("#") if s]
            output = lists[-1] if lists else ""
        return parse_moves(output)

    def check(self, p, output):
        # The independent oracle: a legal-move simulation that must end with every disk on C.
        return simulate(p["disks"], self.answer_moves(output)) is None

    def trajectory(self, p):
        fn = iterative_trajectory if self.variant == "iterative" else recursive_trajectory
        return fn(p["disks"]).traj
