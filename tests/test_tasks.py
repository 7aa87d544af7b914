import itertools
import random

import pytest

from toolssm.tasks import TASKS, get_task
from toolssm.tasks.arithmetic import addition_trajectory, run_number
from toolssm.tasks.hanoi import optimal_moves, parse_moves, simulate
from toolssm.tasks.logical_graph import graph_code, run_code
from toolssm.trajectory import min_context_window, window_conflict

CASES = [
    ("addition", {}, [1, 2, 5, 17, 100]),
    ("multiplication", {"k": 1}, [1, 3, 10, 60]),
    ("multiplication", {"k": 2}, [1, 3, 10, 60]),
    ("multiplication", {"k": 4}, [2, 9]),
    ("multiplication", {"variant": "aligned", "k": 1}, [1, 3, 10, 60]),
    ("multiplication", {"variant": "aligned", "k": 2}, [1, 3, 10, 60]),
    ("multiplication", {"variant": "aligned", "k": 5}, [2, 9]),
    ("hanoi", {"variant": "iterative"}, [1, 2, 3, 4, 6]),
    ("hanoi", {"variant": "recursive"}, [1, 2, 3, 5, 7]),
    ("logical_graph", {}, [4, 5, 10, 60, 300]),
    ("logical_graph", {"variant": "value_lines"}, [4, 5, 10, 60, 300]),
    ("long_multiplication", {}, [1, 2, 3, 10, 25]),
] + [("addition", {"variant": v}, [1, 5, 30]) for v in ("direct", "reversed", "no_tool", "calculator", "tool_p3")]


@pytest.mark.parametrize("name,kw,sizes", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_every_trajectory_replays_and_answers_correctly(name, kw, sizes):
    task = get_task(name, **kw)
    for n in sizes:
        for i in range(12):
            item = task.make_item(7, "test", i, n, train=i % 2 == 0)
            assert task.verify(item) is None, (n, i, task.verify(item))
            assert item.n <= n and (i % 2 == 0 or item.n == n)


@pytest.mark.parametrize("name,kw,n", [("addition", {}, 1000), ("multiplication", {"k": 2}, 1000), ("multiplication", {"variant": "aligned", "k": 2}, 1000), ("logical_graph", {}, 1000), ("hanoi", {"variant": "iterative"}, 8), ("hanoi", {"variant": "recursive"}, 9)])
def test_large_sizes_replay_and_answer_correctly(name, kw, n):
    task = get_task(name, **kw)
    item = task.make_item(0, "test", 0, n, train=False)
    assert item.n == n
    assert task.verify(item) is None


def test_oracles_are_independent_and_right():
    rng = random.Random(0)
    for _ in range(200):
        a, b = rng.randrange(10**12), rng.randrange(10**12)
        assert addition_trajectory(a, b).output == str(a + b)
    t = get_task("multiplication", k=3)
    p = {"a": 987654321, "b": 123}
    assert t.trajectory(p).output == str(987654321 * 123)
    for n in range(1, 9):
        disks = sorted(random.Random(n).sample(range(1, 101), n), reverse=True)
        assert simulate(disks, optimal_moves(disks)) is None
        assert len(optimal_moves(disks)) == 2**n - 1
    assert simulate([2, 1], [(1, "A", "C"), (2, "A", "C")]) is not None  # big on small is illegal
    assert run_code(graph_code([("v1000", "True"), ("v1001", "False"), ("v1002", "True"), ("v1003", "not v1000 or v1001")])) == "False"


def test_hanoi_checker_rejects_wrong_outputs():
    t = get_task("hanoi", "iterative")
    p = {"disks": [9, 4, 1]}
    good = t.trajectory(p).output
    assert t.check(p, good)
    assert not t.check(p, good.replace("(1)AC$", "(1)AB$", 1))
    moves = parse_moves(good)
    assert len(moves) == 7
    r = get_task("hanoi", "recursive")
    assert r.check(p, r.trajectory(p).output)


def test_determinism_and_split_independence():
    for name in TASKS:
        t = get_task(name)
        a = t.make_item(3, "train", 5, 8, train=True)
        b = t.make_item(3, "train", 5, 8, train=True)
        assert a.prompt == b.prompt and a.trajectory == b.trajectory
    t = get_task("addition")
    train = {t.make_item(0, "train", i, 5, True).prompt for i in range(200)}
    val = {t.make_item(0, "validation", i, 5, True).prompt for i in range(200)}
    other_seed = {t.make_item(1, "train", i, 5, True).prompt for i in range(200)}
    assert len(train & val) < 5 and len(train & other_seed) < 5  # only small problems can coincide
    assert t.make_item(0, "train", 1, 5, True).prompt != t.make_item(1, "train", 0, 5, True).prompt


@pytest.mark.parametrize("bad", [
    lambda: get_task("nope"),
    lambda: get_task("addition", "sideways"),
    lambda: get_task("multiplication", k=0),
    lambda: get_task("multiplication", k=9),
    lambda: get_task("multiplication", "aligned", k=6),  # k + 3 pointers: at most 8
    lambda: get_task("hanoi").make_item(0, "t", 0, 0, True),
    lambda: get_task("logical_graph").make_item(0, "t", 0, 3, True),
    lambda: get_task("addition").make_item(0, "t", 0, "5", True),
])
def test_bad_configs_raise_clear_errors(bad):
    with pytest.raises(ValueError):
        bad()


def _min_window(task, n, count=30):
    return min_context_window([task.make_item(0, "train", i, n, train=True).trajectory for i in range(count)], limit=10 * n + 100)


def test_paper_traces_need_context_growing_with_n_and_aligned_traces_do_not():
    """The decision the paper's traces leave to long-range memory (which walk just ended) is gone from the
    ``tool_p3`` addition and ``aligned`` multiplication traces: the context that determines every trained token
    stays constant as problems grow, while the paper's grows with n (results/trace_locality)."""
    for name, paper, ours in [("addition", "tool", "tool_p3"), ("multiplication", "tool", "aligned")]:
        kw = {"k": 2} if name == "multiplication" else {}
        p = [_min_window(get_task(name, paper, **kw), n) for n in (5, 10, 20)]
        o = [_min_window(get_task(name, ours, **kw), n) for n in (5, 10, 20)]
        assert p[0] < p[1] < p[2] and p[2] > 3 * 20, (name, p)
        assert o[0] == o[1] == o[2] < 12, (name, o)
    assert window_conflict([get_task("addition").trajectory({"a": 12, "b": 34})], 1) is not None


STRESS_CASES = [
    ("addition", {"variant": "tool"}, [1, 2, 7, 40]),
    ("addition", {"variant": "tool_p3"}, [1, 7, 40]),
    ("addition", {"variant": "lockstep"}, [1, 2, 7, 40, 300]),
    ("addition", {"variant": "calculator"}, [1, 40, 300]),
    ("multiplication", {"k": 1}, [1, 4, 30]),
    ("multiplication", {"k": 2}, [1, 4, 30]),
    ("multiplication", {"variant": "aligned", "k": 2}, [1, 4, 30]),
    ("multiplication", {"variant": "aligned", "k": 3}, [2, 12]),
    ("hanoi", {"variant": "iterative"}, [1, 2, 5]),
    ("hanoi", {"variant": "recursive"}, [1, 2, 6]),
    ("logical_graph", {}, [4, 5, 12, 80]),
    ("logical_graph", {"variant": "value_lines"}, [4, 12, 80]),
    ("long_multiplication", {}, [1, 2, 5, 17]),
]


def _oracle(name, p):
    """Answers computed without the task's own solve(): Python's integers, the textbook Hanoi recursion, exec."""
    if name == "addition":
        return str(p["a"] + p["b"])
    if name in ("multiplication", "long_multiplication"):
        return str(p["a"] * p["b"])
    if name == "hanoi":
        return "".join(f"({d}){x}{y}$" for d, x, y in optimal_moves(p["disks"]))
    return run_code(graph_code([tuple(x) for x in p["nodes"]]))


@pytest.mark.parametrize("name,kw,sizes", STRESS_CASES, ids=[f"{c[0]}-{c[1]}" for c in STRESS_CASES])
def test_stress_items_replay_keep_their_size_and_answer_correctly(name, kw, sizes):
    task = get_task(name, **kw)
    k = len(task.stress_classes)
    for n in sizes:
        items = [task.make_item(3, f"stress_{n}", i, n, train=False, stress=True) for i in range(2 * k)]
        assert [it.problem["stress"] for it in items] == list(task.stress_classes) * 2  # classes in turn
        for it in items:
            assert it.n == n, (n, it.problem)
            assert task.verify(it) is None, (n, it.problem["stress"], task.verify(it))
            assert it.answer == _oracle(name, it.problem) or (name == "hanoi" and task.check(it.problem, it.answer))
            assert task.parse_prompt(it.prompt) == {k2: v for k2, v in it.problem.items() if k2 != "stress"}
            assert task.prompt(task.parse_prompt(it.prompt)) == it.prompt  # generate_with_tools feeds task.prompt(parsed)


RUNS_CASES = [
    ("addition", {}, [1, 3, 4, 12, 60]),
    ("addition", {"variant": "lockstep"}, [2, 5, 40]),
    ("multiplication", {"variant": "aligned", "k": 2}, [1, 3, 6, 45]),
    ("multiplication", {"k": 3}, [2, 7, 30]),
    ("long_multiplication", {}, [1, 3, 9, 16]),
]


@pytest.mark.parametrize("name,kw,sizes", RUNS_CASES, ids=[f"{c[0]}-{c[1]}" for c in RUNS_CASES])
def test_runs_items_replay_keep_their_size_and_answer_correctly(name, kw, sizes):
    """The runs split (long runs of one digit): classes in turn, the size kept, every trajectory replays against its
    tool, every answer is Python's, every prompt parses back; and at 3 digits or more the n-digit operand holds a run
    of one digit over at least half its digits."""
    task = get_task(name, **kw)
    k = len(task.runs_classes)
    assert k >= 4 and not set(task.runs_classes) & set(task.stress_classes)
    for n in sizes:
        items = [task.make_item(5, f"runs_{n}", i, n, train=False, stress="runs") for i in range(3 * k)]
        assert [it.problem["stress"] for it in items] == list(task.runs_classes) * 3
        for it in items:
            assert it.n == n, (n, it.problem)
            assert task.verify(it) is None, (n, it.problem["stress"], task.verify(it))
            assert it.answer == _oracle(name, it.problem)
            assert task.parse_prompt(it.prompt) == {k2: v for k2, v in it.problem.items() if k2 != "stress"}
            if n >= 3:
                longest = max(len(str(x)) for x in (it.problem["a"], it.problem["b"]))
                op = next(str(x) for x in (it.problem["a"], it.problem["b"]) if len(str(x)) == longest)
                run = max(len(list(g)) for _, g in itertools.groupby(op))
                assert run >= n // 2, (it.problem, run)
    assert task.make_item(5, "runs_30", 0, 30, train=False, stress="runs").problem != task.make_item(5, "stress_30", 0, 30, train=False, stress=True).problem


def test_run_number_places_one_exact_run():
    """run_number: exactly `digits` digits, the run at least half of them, where asked, bounded by other digits."""
    rng = random.Random(1)
    for digits in (3, 4, 7, 50):
        for digit in range(10):
            for where in ("start", "middle", "end"):
                if where == "start" and digit == 0:
                    with pytest.raises(ValueError, match="cannot start"):
                        run_number(rng, digits, digit, where)
                    continue
                for _ in range(20):
                    s = str(run_number(rng, digits, digit, where))
                    assert len(s) == digits
                    runs = [(c, len(list(g))) for c, g in itertools.groupby(s)]
                    at = {"start": 0, "end": len(runs) - 1}.get(where)
                    hits = [i for i, (c, L) in enumerate(runs) if c == str(digit) and L >= digits // 2]
                    assert hits, s
                    if at is not None:
                        assert at in hits, (where, s)
                    else:
                        assert any(0 < i < len(runs) - 1 for i in hits), (where, s)
    with pytest.raises(ValueError, match="where must be"):
        run_number(rng, 10, 1, "edge")


def test_runs_split_is_refused_where_a_task_has_none():
    with pytest.raises(ValueError, match="has no runs split"):
        get_task("hanoi").make_item(0, "runs_3", 0, 3, train=False, stress="runs")
    with pytest.raises(ValueError, match="stress family must be one of"):
        get_task("addition").make_item(0, "runs_3", 0, 3, train=False, stress="rungs")


def test_addition_stress_covers_the_corners():
    task = get_task("addition", "lockstep")
    items = [task.make_item(0, "stress_50", i, 50, train=False, stress=True) for i in range(64)]
    lens = {(len(str(it.problem["a"])), len(str(it.problem["b"]))) for it in items}
    assert (50, 1) in lens and (1, 50) in lens and any(a != b and 1 < min(a, b) for a, b in lens)
    assert any(it.problem["b"] == 0 or it.problem["a"] == 0 for it in items)
    assert any(set(str(it.problem["a"])) == {"9"} and set(str(it.problem["b"])) == {"9"} for it in items)
    assert any(it.problem["a"] + it.problem["b"] == 10**50 for it in items)


def test_lockstep_reads_both_operands_in_every_column():
    """In tool_p3, columns after the shorter operand ends hold one pointer's commands (a phase training bounds at 4
    columns); in lockstep the stopped pointer reads in place, so each column reads both. Equal lengths: identical."""
    a, b = 12345678901234567890, 7
    p3 = addition_trajectory(a, b, print_pointer=3)
    ls = addition_trajectory(a, b, print_pointer=3, lockstep=True)
    # the column phase: from pointer 1's first step left to the printing pointer's first command
    phase2 = lambda t: "".join(c for r, c in t.segments if r == "command").split("[pointer1.move_left()]", 1)[1].split("[pointer3.")[0]  # noqa: E731
    cols = len(str(a)) + 1  # 20 digit columns and the one where both read non-digits
    assert phase2(ls).count("[pointer2.read()]") == phase2(ls).count("[pointer1.read()]") == cols
    assert phase2(p3).count("[pointer2.read()]") == 2 and phase2(p3).count("[pointer1.read()]") == cols
    assert addition_trajectory(a, 98765432109876543210, 3, lockstep=True).segments == addition_trajectory(a, 98765432109876543210, 3).segments
    task = get_task("addition", "lockstep")
    assert task.verify(task.make_item(0, "stress_20", 1, 20, train=False, stress=True)) is None


def test_refusals_name_what_is_wrong():
    """The message says which rule a prompt broke, not a neighbouring one (2026-12-05: '5×10=' was accepted while
    '0×10=' was refused as 'the second operand has exactly 2 digits and neither is 0'; a 1-line program was refused as
    'size n must be an integer in 4..9000')."""
    mul = get_task("multiplication", k=2)
    assert mul.parse_prompt("5×10=") == {"a": 5, "b": 10}
    with pytest.raises(ValueError, match="both operands are positive"):
        mul.parse_prompt("0×10=")
    with pytest.raises(ValueError, match="exactly 2 digits, got 1"):
        mul.parse_prompt("12×3=")
    with pytest.raises(ValueError, match="a program defines 4..9000 variables .* got 1"):
        get_task("logical_graph").parse_prompt("v1000 = True\nprint(v1000)\n")


def test_multiplication_prompts_take_the_keyboard_signs():
    """`*` and `x` read as `×` (the trace's sign, which a keyboard does not have); nothing else changes."""
    for task in (get_task("multiplication", k=2), get_task("long_multiplication")):
        for typed in ("123*45=", "123x45=", "123×45="):
            assert task.parse_prompt(typed) == {"a": 123, "b": 45} and task.prompt(task.parse_prompt(typed)) == "123×45="
        with pytest.raises(ValueError, match="exactly one"):
            task.parse_prompt("12*3×45=")
    with pytest.raises(ValueError, match="exactly one '\\+'"):
        get_task("addition").parse_prompt("12*3=")


@pytest.mark.parametrize("name,kw,bad", [
    ("addition", {}, ["1.5+2=", "-5+3=", "12+34", "12+34=\n", "1+2+3=", "+5=", "007+1=", "１+2="]),
    ("multiplication", {"k": 2}, ["12×3=", "12×345=", "0×12=", "12+34=", "12÷34=", "12×34"]),
    ("long_multiplication", {}, ["0×12=", "12×0=", "12+34=", "12×34", "012×3=", "1×2×3=", "1*2x3=", "-1×2="]),
    ("hanoi", {"variant": "iterative"}, ["(7)(5)\n", "A(5)(7)BC\n", "A(0)BC\n", "A(101)BC\n", "A(5)(5)BC\n", "A(5)BC"]),
    ("logical_graph", {}, ["v1000 = True\nprint(v1000)", "v1000 = v1001\nprint(v1000)\n", "x = 1\nprint(x)\n",
                           "v1000 = True\nv1000 = False\nv1001 = True\nv1002 = v1000\nprint(v1002)\n",
                           # outside the task's family: 1 or 4 inputs, a constant after the inputs, names below v1000
                           "v1000 = True\nv1001 = not v1000\nv1002 = v1001\nv1003 = v1002\nprint(v1003)\n",
                           "v1000 = True\nv1001 = True\nv1002 = True\nv1003 = False\nprint(v1003)\n",
                           "v1000 = True\nv1001 = True\nv1002 = True\nv1003 = v1002\nv1004 = True\nv1005 = v1004\nprint(v1005)\n",
                           "v0999 = True\nv1001 = True\nv1002 = True\nv1003 = v1002\nprint(v1003)\n"]),
])
def test_parse_prompt_refuses_malformed_prompts(name, kw, bad):
    task = get_task(name, **kw)
    for prompt in bad:
        with pytest.raises(ValueError):
            task.parse_prompt(prompt)
    for i in range(5):  # and reads back every test prompt
        it = task.make_item(0, "test_8", i, 8 if name != "hanoi" else 5, train=False)
        assert task.parse_prompt(it.prompt) == it.problem


def test_token_budget_is_the_reference_length():
    for name, kw, n in [("addition", {"variant": "lockstep"}, 30), ("multiplication", {"k": 2}, 12), ("hanoi", {"variant": "recursive"}, 5)]:
        task = get_task(name, **kw)
        it = task.make_item(0, f"test_{n}", 0, n, train=False)
        from toolssm.trajectory import render

        assert task.token_budget(task.parse_prompt(it.prompt)) == len(render(it.trajectory)["input_ids"]) - len(it.prompt.replace("×", "x"))


def test_long_multiplication_is_exact_on_every_small_pair_and_its_rows_have_fixed_width():
    """The schoolbook trace against Python's integers on every pair of 1-2 digit operands and on random operands of
    independent lengths to 40 digits; every row has exactly len(a) + 1 (digit, carry) pairs whatever b is, so no
    phase inside a row grows with the multiplier; and the context that determines each trained token stays 13."""
    from toolssm.tasks.long_multiplication import schoolbook_trajectory

    for a in range(1, 100):
        for b in range(1, 100, 7):
            assert schoolbook_trajectory(a, b).output == str(a * b), (a, b)
    rng = random.Random(5)
    for _ in range(30):
        a, b = rng.randrange(1, 10 ** rng.randint(1, 40)), rng.randrange(1, 10 ** rng.randint(1, 40))
        traj = schoolbook_trajectory(a, b)
        assert traj.output == str(a * b)
        thoughts = "".join(c for r, c in traj.segments if r == "thought")
        rows = [r for r in thoughts.replace("#", "+").split("+") if r]
        assert len(rows) == len(str(b)) and {len(r) for r in rows} == {2 * (len(str(a)) + 1)}, (a, b)
    task = get_task("long_multiplication")
    assert [_min_window(task, n, count=20) for n in (3, 6, 9)] == [13, 13, 13]


def test_build_items_in_worker_processes_equals_building_them_here():
    """eval.py builds large problems in worker processes (toolssm.evaluation.build_items): the same items and
    rendered references, in the same order, for every task with its stress classes."""
    from toolssm.evaluation import _build_one, build_items
    from toolssm.tasks import get_task

    for name, config in [("addition", "tool"), ("multiplication", "n_x_2"), ("logical_graph", None), ("hanoi", "recursive"),
                         ("long_multiplication", "schoolbook")]:
        task = get_task(name, config) if config else get_task(name)
        n = task.test_lengths[0]
        specs = [("test", 0), ("stress", 1), ("test", 2), ("stress", 0)] if task.stress_classes else [("test", 0), ("test", 1)]
        here = [_build_one(task, n, 3, *sp) for sp in specs]
        there = build_items(task, n, specs, seed=3, workers=2)
        assert [(it.problem, it.answer, ref) for it, ref in there] == [(it.problem, it.answer, ref) for it, ref in here], name
        assert [it.problem.get("stress") is not None for it, _ in there] == [sp == "stress" for sp, _ in specs]


@pytest.mark.parametrize("name,config,sizes", [("addition", "lockstep", (1, 7, 40)), ("addition", "tool", (3, 20)),
                                               ("multiplication", "n_x_2_aligned", (2, 30)), ("long_multiplication", "schoolbook", (3, 12)),
                                               ("hanoi", "recursive", (3, 6)), ("hanoi", "iterative", (3, 5))])
def test_hidden_input_keeps_the_trace_and_moves_the_input_into_the_tool(name, config, sizes):
    """hide_input(task): the same problems, memory, commands and observations; the model's prompt is the prompt's last
    token and the tool's memory holds the rest, so every item replays against the hidden tool and its rendered ids are
    the shown ones without the input; the spec says so and reads back; choose_input goes both ways."""
    from toolssm.tasks import choose_input, hide_input, task_from_spec
    from toolssm.tokenizer import split_tokens
    from toolssm.tools import InputPointerMemory
    from toolssm.trajectory import render

    shown = get_task(name, config)
    hidden = hide_input(shown)
    assert isinstance(hidden, type(shown)) and hidden.input_in_tool and not shown.input_in_tool
    assert hidden.spec() == {**shown.spec(), "hide_input": True} and task_from_spec(hidden.spec()).input_in_tool
    assert choose_input(hidden, False) is shown and choose_input(shown, None) is shown and choose_input(hidden, True) is hidden
    for i, n in enumerate(sizes):
        a, b = shown.make_item(0, "test", i, n, train=False), hidden.make_item(0, "test", i, n, train=False)
        assert a.problem == b.problem and a.answer == b.answer and hidden.verify(b) is None
        toks = split_tokens(a.prompt)
        assert b.prompt == toks[-1] and hidden.problem_text(b.problem) == a.prompt
        tool = hidden.inference_tool(b.problem)
        assert type(tool) is InputPointerMemory and tool.input_tokens == toks[:-1]
        ra, rb = render(a.trajectory)["input_ids"], render(b.trajectory)["input_ids"]
        assert rb == ra[len(toks) - 1:]
        assert hidden.token_budget(b.problem) == shown.token_budget(a.problem)
    import pickle

    again = pickle.loads(pickle.dumps(hidden))  # worker processes get tasks by pickle (toolssm.evaluation.build_items)
    assert type(again) is type(hidden) and again.spec() == hidden.spec()
    assert again.make_item(0, "test", 0, sizes[0], train=False).trajectory == hidden.make_item(0, "test", 0, sizes[0], train=False).trajectory


@pytest.mark.parametrize("name,config", [("logical_graph", "default"), ("addition", "calculator"), ("addition", "no_tool"),
                                         ("addition", "direct")])
def test_hidden_input_is_refused_where_no_pointer_memory_can_hold_it(name, config):
    from toolssm.tasks import choose_input, hide_input

    with pytest.raises(ValueError, match="only a pointer-memory tool can hold the input"):
        hide_input(get_task(name, config))
    with pytest.raises(ValueError, match="already keeps its input"):
        hide_input(hide_input(get_task("addition", "lockstep")))
    assert choose_input(get_task(name, config), False).config == config


def test_graph_value_lines_trace_draws_the_default_graphs_and_copies_across_name_free_observations():
    """The ``value_lines`` trace (docs/FORMATS.md, logical graph): the same graph as the default trace at every
    (seed, split, index), the same answer, and every observation between a line and the line rewritten from it holds
    no variable but the one being looked up: a value lookup answers ``c := True`` or nothing, never a definition."""
    import re

    from toolssm import vocab as V

    a, b = get_task("logical_graph"), get_task("logical_graph", "value_lines")
    assert b.config == "value_lines" and b.variant == "value_lines"
    for i, n in enumerate((4, 9, 40)):
        for stress in (False, True):
            x = a.make_item(5, f"t_{n}", i, n, train=False, stress=stress)
            y = b.make_item(5, f"t_{n}", i, n, train=False, stress=stress)
            assert x.problem == y.problem and x.answer == y.answer == _oracle("logical_graph", y.problem)
            assert b.verify(y) is None
            text = "".join(t for t, _ in y.trajectory.tokens())[len(y.prompt):]
            asks = re.findall(r"\[COMMAND\]find\[VALUE\](v\d{4}) :=\[/COMMAND\]\[OBSERVATION\](.*?)\[/OBSERVATION\]", text, re.S)
            assert asks, "no value lookups"
            for name, obs in asks:
                assert obs in ("", f"{name} := True", f"{name} := False"), (name, obs)
            # every node is resolved exactly once, and reached through the tool, not the prompt's constants
            resolved = re.findall(r"(v\d{4}) := (?:True|False)\n", text)
            assert len(resolved) == len(set(resolved)) and V.ANS in text
    # the default trace answers a lookup of a resolved gate with its definition (two other names) and its value
    x = a.make_item(5, "t_40", 0, 40, train=False)
    assert re.search(r"\[OBSERVATION\]v\d{4} = [^\[]*v\d{4}[^\[]*\nv\d{4} = (True|False)\[/OBSERVATION\]",
                     "".join(t for t, _ in x.trajectory.tokens()))


def test_graph_copy_kinds_default_trace_copies_across_names_value_lines_never():
    """scripts/graph_copy_margins.py's classifier: the default trace copies names across observations that name other
    variables (what the shipped checkpoint gets wrong at 1,000 nodes); the value_lines trace never does."""
    import importlib.util
    import os

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts", "graph_copy_margins.py")
    spec = importlib.util.spec_from_file_location("graph_copy_margins", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    counts = {}
    for config in ("default", "value_lines"):
        task = get_task("logical_graph", config)
        c = counts.setdefault(config, {})
        for i in range(6):
            item = task.make_item(1, "t_30", i, 30, train=False, stress=i % 2 == 1)
            toks = list(item.trajectory.tokens())
            kinds = mod.classify(toks)
            assert len(kinds) == len(toks)
            for k, (tok, role) in zip(kinds, toks):
                if k is not None:
                    assert tok.isdigit() and role in ("thought", "command")
                    c[k] = c.get(k, 0) + 1
    assert counts["default"].get("crossed, other names between", 0) > 100 and counts["default"]["local"] > 100
    assert "crossed, other names between" not in counts["value_lines"] and counts["value_lines"]["crossed, no other names between"] > 100
    assert counts["value_lines"]["local"] > 100 and counts["value_lines"]["command"] > 100


def test_graph_copy_margins_stepped_equals_one_forward():
    """--stepped (several trajectories of unequal length through the one-token Mamba step) gives the margins and argmax
    hits of one full forward per trajectory."""
    import importlib.util
    import os

    import torch

    from toolssm.models import build_model
    from toolssm.trajectory import render

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts", "graph_copy_margins.py")
    spec = importlib.util.spec_from_file_location("graph_copy_margins", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    torch.manual_seed(0)
    model = build_model("mamba-tiny").eval()
    task = get_task("logical_graph")
    seqs = []
    for i, n in enumerate((5, 8, 6)):
        item = task.make_item(0, f"t_{n}", i, n, train=False)
        seqs.append(render(item.trajectory)["input_ids"][:len(list(item.trajectory.tokens()))])
    assert len({len(s) for s in seqs}) == 3
    cpu = torch.device("cpu")
    for s, (m, ok) in zip(seqs, mod.stepped_margins(model, seqs, cpu)):
        fm, fok = mod.margins(model, s, cpu)
        assert len(m) == len(s) and max(abs(a - b) for a, b in zip(m, fm)) < 1e-3
        assert all(a == b or abs(x) < 1e-3 for a, b, x in zip(ok, fok, fm))  # a hit differs only at a near-tie
