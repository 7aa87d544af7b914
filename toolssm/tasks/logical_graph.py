"""Logical graph: evaluate a random Boolean DAG written as Python code, with search memory (paper 3.4, D.3).

A graph of n nodes has 3 inputs (``vXXXX = True``) and n - 3 internal nodes, each AND/OR over two
earlier variables or a single earlier variable, each operand possibly negated; the last node added is
the output, printed by the prompt's last line ``print(vXXXX)``. Names are distinct ``v1000..v9999``: a
fixed width [INF] so that searching ``v1234 =`` can never match ``v12345``.

Trajectory (a DFS whose stack lives in memory) [INF, following D.3's description]:
- ``[COMMAND]find[VALUE]vX =[/COMMAND]`` returns vX's definition and, once resolved, its value line
  ``vX = True``; the last line tells whether vX is resolved.
- Descending from the current node p (current expression E) into an unresolved child c writes the
  stack line ``c <- p: E``; a resolved child is substituted and the line ``p: E'`` written.
- When p's expression has no variables left it is evaluated and ``p = True|False`` written; then
  ``find`` ``p <-`` returns p's parent and the expression to resume, or nothing at the root, after which
  the answer follows ``[ANS]``. The answer is the last line generated.

Config ``value_lines`` (toolssm's, 2026-12-05; the same graphs at every seed, split and index): values are written
``p := True|False`` and a child is looked up first with ``find c :=`` (its value line, or nothing); only an unresolved
child's definition is fetched (``find c =``), after its stack line is written. So no observation between a line and the
line the model rewrites from it holds another variable's name (the shipped checkpoint's wrong 1,000-node trajectories
copy such a name), and inputs are reached like gates (one descent each).
"""

from __future__ import annotations

import contextlib
import io
import re

from .. import vocab as V
from ..tools import SearchMemory
from ..trajectory import Recorder
from .base import Task

VAR_RE = re.compile(r"v\d{4}")
NUM_INPUTS = 3  # the paper's k: every graph has 3 input nodes, first


def random_graph(rng, n: int, num_inputs: int = NUM_INPUTS, p_binary: float = 0.7) -> list[tuple[str, str]]:
    """(name, expression) per node in creation order; inputs have expression ``True``/``False``."""
    names = rng.sample(range(1000, 10000), n)
    nodes = []
    for i, num in enumerate(names):
        name = f"v{num}"
        if i < num_inputs:
            expr = rng.choice(["True", "False"])
        else:
            arity = 2 if (i >= 2 and rng.random() < p_binary) else 1
            ops = [f"{'not ' if rng.random() < 0.5 else ''}{nodes[j][0]}" for j in rng.sample(range(i), arity)]
            expr = f" {rng.choice(['and', 'or'])} ".join(ops)
        nodes.append((name, expr))
    return nodes


def stress_graph(rng, n: int, kind: str, num_inputs: int = NUM_INPUTS) -> list[tuple[str, str]]:
    """Degenerate shapes of ``random_graph``'s family: ``chain`` (each node uses the one before: the DFS stack n deep),
    ``fan_in`` (every gate over the inputs only: depth 1, the inputs searched n times), ``not_chain`` (single
    operands, half negated: n - 3 unary steps), ``and_only`` / ``or_only`` (one gate type everywhere),
    ``all_negated`` (every operand negated), ``constant_inputs`` (all inputs equal)."""
    names = [f"v{x}" for x in rng.sample(range(1000, 10000), n)]
    value = rng.choice(["True", "False"])
    nodes = [(names[i], value if kind == "constant_inputs" else rng.choice(["True", "False"])) for i in range(num_inputs)]
    for i in range(num_inputs, n):
        if kind in ("chain", "not_chain"):
            pool = [i - 1] + ([] if kind == "not_chain" else rng.sample(range(i - 1), 1))
        elif kind == "fan_in":
            pool = rng.sample(range(num_inputs), 2)
        else:
            pool = rng.sample(range(i), 2 if rng.random() < 0.7 or kind in ("and_only", "or_only") else 1)
        neg = {"all_negated": 1.0, "not_chain": 0.5}.get(kind, 0.5)
        ops = [f"{'not ' if rng.random() < neg else ''}{nodes[j][0]}" for j in pool]
        op = {"and_only": "and", "or_only": "or"}.get(kind) or rng.choice(["and", "or"])
        nodes.append((names[i], f" {op} ".join(ops)))
    return nodes


def graph_code(nodes) -> str:
    return "".join(f"{name} = {expr}\n" for name, expr in nodes) + f"print({nodes[-1][0]})\n"


def run_code(code: str) -> str:
    """The oracle: Python's own evaluation of the program."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(code, "<graph>", "exec"), {"__builtins__": {"print": print}})
    return buf.getvalue().strip()


def _eval_literal(expr: str) -> str:
    # expr holds only True/False/not/and/or here
    assert VAR_RE.search(expr) is None, expr
    return str(eval(expr, {"__builtins__": {}}))


def dfs_trajectory(nodes, value_lines: bool = False):
    """The DFS trace above. ``value_lines`` (toolssm's, 2026-12-05; docs/FORMATS.md): the same DFS, with every copy made
    across observations that hold no other variable's name.

    The default trace looks a child up with ``find c =``, whose observation is c's definition (two other names) and,
    once resolved, its value; the model then rewrites the current expression, copying its remaining operand names from
    the line before that observation. Every wrong 1,000-node ``and_only`` trajectory of the shipped checkpoint copied a
    name from the observation instead (results/stress/logical-graph-mamba-small/divergence-*.txt). With ``value_lines``
    values are written ``c := True`` and looked up first with ``find c :=`` (the value line, or nothing: no definition);
    only an unresolved child's definition is fetched, with ``find c =`` after its stack line ``c <- p: E`` is written,
    and the next line copies from that definition itself. Inputs are resolved like gates (descend, evaluate ``True``,
    write ``c := True``), so the trace never needs to tell an input from a gate before looking it up."""
    rec = Recorder(SearchMemory(), graph_code(nodes))
    assign = " := " if value_lines else " = "  # how a resolved node's value line reads

    def definition(v: str) -> str:
        """The right side of the last line ``find v =`` answers: v's definition, or (default trace, once v is
        resolved) its value (with ``value_lines`` values are written with ':=' and never match)."""
        return rec.text_command(f"find{V.VALUE}{v} =").split("\n")[-1].split(" = ", 1)[1]

    def lookup(v: str) -> tuple[str | None, str | None]:
        """(v's value, None) if v is resolved, else (None, its definition), or (None, None) where ``value_lines``
        fetches the definition only after the stack line."""
        if value_lines:
            obs = rec.text_command(f"find{V.VALUE}{v} :=")
            return (obs.split(" := ", 1)[1], None) if obs else (None, None)
        rhs = definition(v)
        return (rhs, None) if rhs in ("True", "False") else (None, rhs)

    cur = nodes[-1][0]
    expr = definition(cur)  # the last node is a gate (3 inputs first, then at least one gate: parse_prompt, sample)
    while True:
        m = VAR_RE.search(expr)
        if m:
            child = m.group(0)
            cval, cexpr = lookup(child)
            if cval is not None:
                expr = expr.replace(child, cval, 1)
                rec.emit(f"{cur}: {expr}\n")
            else:
                rec.emit(f"{child} <- {cur}: {expr}\n")
                cur, expr = child, cexpr if cexpr is not None else definition(child)
            continue
        value = _eval_literal(expr)
        rec.emit(f"{cur}{assign}{value}\n")
        parent = rec.text_command(f"find{V.VALUE}{cur} <-")
        if not parent:
            break
        _, rest = parent.split(" <- ", 1)
        p, pexpr = rest.split(": ", 1)
        expr = pexpr.replace(cur, value, 1)
        rec.emit(f"{p}: {expr}\n")
        cur = p
    rec.emit(V.ANS + value)
    return rec.traj


class LogicalGraph(Task):
    """Boolean DAG evaluation with search memory; size n = number of nodes (3 of them inputs)."""

    name = "logical_graph"
    configs = {"default": {"variant": "tool"}, "value_lines": {"variant": "value_lines"}}
    problem_variants = {"value_lines": "tool"}  # the same graphs as the default trace at every (seed, split, index)
    default_config = "default"
    train_max_n = 10
    test_lengths = (10, 20, 50, 100, 200, 500, 1000)
    size_unit = "nodes"
    min_n = 4
    max_n = 9000
    stress_classes = ("chain", "fan_in", "not_chain", "and_only", "or_only", "all_negated", "constant_inputs")

    def tool(self, problem=None):
        return SearchMemory()

    def sample(self, rng, n, train):
        k = rng.randint(self.min_n, n) if train else n
        return {"nodes": [list(x) for x in random_graph(rng, k)]}

    def sample_stress(self, rng, n, kind):
        if kind not in self.stress_classes:
            raise ValueError(f"logical_graph has no stress class {kind!r}; choose from {self.stress_classes}")
        return {"nodes": [list(x) for x in stress_graph(rng, n, kind)]}

    def parse_prompt(self, prompt):
        lines = prompt.split("\n")
        if len(lines) < 2 or lines[-1] != "" or not re.fullmatch(r"print\(v\d{4}\)", lines[-2]):
            raise ValueError(f"logical_graph: a prompt is lines 'vXXXX = <expr>' ending with 'print(vXXXX)' and a newline, got ...{prompt[-40:]!r}")
        nodes, seen = [], set()
        for line in lines[:-2]:
            m = re.fullmatch(r"(v\d{4}) = (True|False|(?:not )?v\d{4}(?: (?:and|or) (?:not )?v\d{4})?)", line)
            if not m or m.group(1) in seen or any(v not in seen for v in VAR_RE.findall(m.group(2))):
                raise ValueError(f"logical_graph: bad line {line[:60]!r} (each line defines a new vXXXX from True/False or "
                                 "one or two earlier variables joined by and/or, each possibly 'not')")
            seen.add(m.group(1))
            nodes.append([m.group(1), m.group(2)])
        if lines[-2] != f"print({nodes[-1][0] if nodes else ''})":
            raise ValueError("logical_graph: the last line prints the last variable defined")
        if not self.min_n <= len(nodes) <= self.max_n:
            raise ValueError(f"logical_graph: a program defines {self.min_n}..{self.max_n} variables ({NUM_INPUTS} inputs, then "
                             f"gates), got {len(nodes)}")
        # the task's family (the paper's k = 3 inputs; names v1000-v9999): what the models are trained on. A program
        # outside it is refused, not answered: a checkpoint fed 1 or 4 inputs loops (scripts/probe.py, 2026-12-02).
        inputs = [i for i, (_, e) in enumerate(nodes) if e in ("True", "False")]
        if inputs != list(range(NUM_INPUTS)):
            raise ValueError(f"logical_graph: a program starts with exactly {NUM_INPUTS} input lines 'vXXXX = True/False' and has no "
                             f"other constant line (the task's k = {NUM_INPUTS} inputs), got constants on lines {[i + 1 for i in inputs][:8]}")
        low = [v for v, _ in nodes if int(v[1:]) < 1000]
        if low:
            raise ValueError(f"logical_graph: variable names are v1000..v9999, got {low[0]}")
        return {"nodes": nodes}

    def size(self, p):
        return len(p["nodes"])

    def prompt(self, p):
        return graph_code(p["nodes"])

    def solve(self, p):
        return run_code(graph_code(p["nodes"]))

    def check(self, p, output):
        lines = output.strip().split("\n")
        return lines[-1].strip() == self.solve(p)

    def trajectory(self, p):
        nodes = [tuple(x) for x in p["nodes"]]
        return dfs_trajectory(nodes, value_lines=self.variant == "value_lines")
