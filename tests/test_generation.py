"""The tool loop: exact against one full forward, robust to garbage, consistent with the tools."""

import random

import pytest
import torch

from toolssm import vocab as V
from toolssm.models import build_model
from toolssm.tasks import get_task
from toolssm.tokenizer import split_tokens
from toolssm.tools import Calculator, PointerMemory, SearchMemory
from toolssm.trajectory import parse, replay

ARCHS = ["mamba-tiny", "mamba2-tiny", "lstm-tiny", "gru-tiny", "pythia-tiny", "mistral-tiny", "hybrid-tiny"]


def _tools():
    s = SearchMemory()
    s.max_command_tokens = 6  # many multi-token (error) observations from random text
    return [PointerMemory(2), PointerMemory(2), s, Calculator(), None]


PROMPTS = ["12+5=", "999+1=", "v1000 = True\nprint(v1000)\n", "3+4=", "1×2="]
BUDGETS = [150, 200, 400, 400, 60]


@pytest.mark.parametrize("arch", ARCHS)
def test_loop_logits_equal_one_full_forward(arch):
    torch.manual_seed(0)
    model = build_model(arch).eval()
    tools = _tools()
    res = model.generate_with_tools(PROMPTS, tools, max_new_tokens=BUDGETS, do_sample=True, temperature=3.0,
                                    generator=torch.Generator().manual_seed(1), return_logits=True)
    lengths = {len(r.ids) for r in res}
    assert len(lengths) > 1  # rows finish at different steps
    single = multi = 0
    for r, tool in zip(res, tools):
        with torch.no_grad():
            full = model(input_ids=torch.tensor([r.ids])).logits[0].float()
        assert r.logits.shape == full[:-1].shape
        torch.testing.assert_close(r.logits, full[:-1], atol=1e-4, rtol=1e-4)
        # runs of forced tokens: single-token (pointer reads) and multi-token (search/calculator) answers
        run = 0
        for f in r.forced + [False]:
            if f:
                run += 1
            elif run:
                single += run == 1
                multi += run > 1
                run = 0
    assert single > 0 and multi > 0


@pytest.mark.parametrize("arch", ["mamba-tiny", "lstm-tiny"])
def test_garbage_never_crashes_and_respects_budgets(arch):
    torch.manual_seed(1)
    model = build_model(arch).eval()
    rng = random.Random(0)
    for trial in range(4):
        prompts = ["".join(rng.choice(V.CHARS) for _ in range(rng.randint(1, 30))) for _ in range(6)]
        tools = [rng.choice([PointerMemory(1), PointerMemory(8), SearchMemory(), Calculator(), None]) for _ in prompts]
        budgets = [rng.randint(0, 120) for _ in prompts]
        res = model.generate_with_tools(prompts, tools, max_new_tokens=budgets, do_sample=True, temperature=2.0,
                                        generator=torch.Generator().manual_seed(trial))
        for r, b, p, tool in zip(res, budgets, prompts, tools):
            n = len(r.generated_ids)
            assert n <= b and len(r.forced) == len(r.roles) == n
            assert r.finished or r.truncated or b == 0
            assert r.ids[: r.prompt_len] == [V.TOKEN_TO_ID[t] for t in split_tokens(p)]
            assert all(role in V.ROLES for role in r.roles)
            if tool is not None:  # the loop's own record replays against a fresh tool of the same kind
                traj = parse(p, r.generated_ids, type(tool)(**({"num_pointers": tool.num_pointers} if isinstance(tool, PointerMemory) else {})), r.forced)
                if not r.truncated:
                    assert replay(traj, type(tool)(**({"num_pointers": tool.num_pointers} if isinstance(tool, PointerMemory) else {})))


def test_forced_tokens_are_exactly_the_tools_answers():
    """Drive the loop with a model that always emits the reference trajectory's next sampled token:
    the loop must then reproduce the reference trajectory token for token."""
    task = get_task("addition")
    item = task.make_item(0, "test", 0, 7, train=False)
    from toolssm.trajectory import render

    ref = render(item.trajectory)["input_ids"]

    class Teacher(torch.nn.Module):
        """Emits logits that put all mass on ref[t+1] at position t (a stand-in for a perfect model)."""

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, input_ids, cache=None, use_cache=True):
            start = 0 if cache is None else cache
            T = input_ids.shape[1]
            logits = torch.full((input_ids.shape[0], T, len(V.VOCAB)), -1e4)
            for t in range(T):
                nxt = ref[start + t + 1] if start + t + 1 < len(ref) else V.TOKEN_TO_ID[V.EOS]
                logits[:, t, nxt] = 0.0
            return type("Out", (), {"logits": logits, "cache": start + T})()

    from toolssm.generation import generate_with_tools

    (r,) = generate_with_tools(Teacher(), [item.prompt], [task.tool()], max_new_tokens=len(ref))
    assert r.ids == ref and r.finished
    assert r.output == item.answer
    assert r.num_forced == sum(1 for _, role in item.trajectory.tokens() if role == "observation")


def test_bad_arguments_raise():
    model = build_model("mamba-tiny")
    with pytest.raises(ValueError, match="one tool per prompt"):
        model.generate_with_tools(["1+1="], [None, None])
    with pytest.raises(ValueError, match="non-empty"):
        model.generate_with_tools([""], [None])
    with pytest.raises(ValueError, match="temperature"):
        model.generate_with_tools(["1"], [None], do_sample=True, temperature=0)


def test_stop_at_divergence_stops_only_rows_that_left_their_reference():
    torch.manual_seed(0)
    model = build_model("mamba-tiny").eval()
    (free,) = model.generate_with_tools(["12+5="], [PointerMemory(2)], max_new_tokens=30)
    ref_ok = free.ids + [V.TOKEN_TO_ID["7"]] * 5  # the model's own continuation: never diverges within it
    ref_bad = free.ids[: free.prompt_len + 3] + [(free.ids[free.prompt_len + 3] + 1) % len(V.VOCAB)] + free.ids[free.prompt_len + 4 :]
    a, b = model.generate_with_tools(["12+5=", "12+5="], [PointerMemory(2), PointerMemory(2)], max_new_tokens=30,
                                     stop_at_reference=[ref_ok, ref_bad])
    assert a.ids == free.ids and not a.diverged
    assert b.diverged and len(b.ids) <= free.prompt_len + 4 + 1


@pytest.mark.parametrize("variant", ["tool", "tool_p3", "direct", "reversed", "no_tool", "calculator", "lockstep"])
def test_reference_trajectory_through_the_loop_scores_correct(variant):
    """Every addition variant: the reference trajectory, driven through the tool loop with the inference tool,
    is an exact match and its output stream is the right answer (for no_tool the model's own predicted
    observations must not leak into the output)."""
    from toolssm.trajectory import render

    task = get_task("addition", variant)
    model = build_model("lstm-tiny").eval()
    for n in (1, 7, 30):
        item = task.make_item(0, f"test_{n}", 0, n, train=False)
        ref = render(item.trajectory, train_observations=task.train_observations)["input_ids"]
        tool = task.inference_tool(item.problem)
        (r,) = model.generate_with_tools([item.prompt], [tool], max_new_tokens=len(ref) + 10, teacher_ids=[ref])
        assert r.finished and r.ids == ref
        assert task.score(item.problem, r.output, tool) and r.output == item.answer


def _fields(r):
    return (r.ids, r.forced, r.roles, r.finished, r.truncated, r.diverged, r.num_commands, r.num_tool_errors)


@pytest.mark.parametrize("arch", ["mamba-tiny", "lstm-tiny", "pythia-tiny"])
def test_pipelined_loop_is_the_same_loop(arch):
    """pipeline=True (the device picks each step's input, the host runs one step behind) gives exactly the rows of
    the synchronous loop: greedy garbage, teacher-forced command streams (many tool answers, of one and several
    tokens, and tool errors) and rows stopped at divergence, with different budgets and prompt lengths."""
    torch.manual_seed(2)
    model = build_model(arch).eval()
    rng = random.Random(3)
    cmds = [t for t in V.VOCAB if t.startswith("[")] + list("0123456789=+")
    teacher = [[V.TOKEN_TO_ID[t] for t in split_tokens(p)] + [V.TOKEN_TO_ID[rng.choice(cmds)] for _ in range(300)] for p in PROMPTS]
    for kw in [{}, {"teacher_ids": teacher}, {"stop_at_reference": [t[: len(t) // 2] for t in teacher]}]:
        a = model.generate_with_tools(PROMPTS, _tools(), max_new_tokens=BUDGETS, **kw)
        b = model.generate_with_tools(PROMPTS, _tools(), max_new_tokens=BUDGETS, pipeline=True, **kw)
        assert [_fields(r) for r in a] == [_fields(r) for r in b]
        if "teacher_ids" in kw:
            assert sum(r.num_forced for r in a) > 50 and sum(r.num_tool_errors for r in a) > 0
    with pytest.raises(ValueError, match="pipeline"):
        model.generate_with_tools(PROMPTS, _tools(), pipeline=True, do_sample=True)


@pytest.mark.parametrize("arch", ["lstm-tiny", "gru-tiny"])
def test_rnn_long_sequences_run_in_chunks_with_the_same_logits(arch, monkeypatch):
    """Sequences longer than RNN_CHUNK go through the LSTM/GRU chunk by chunk (cuDNN refuses very long calls); the
    state is carried, so logits, loss and the final state are those of one call."""
    import toolssm.rnn as R

    torch.manual_seed(0)
    model = build_model(arch).eval()
    ids = torch.randint(0, 100, (3, 50))
    with torch.no_grad():
        ref = model(input_ids=ids, labels=ids, use_cache=True)
        monkeypatch.setattr(R, "RNN_CHUNK", 7)
        out = model(input_ids=ids, labels=ids, use_cache=True)
    torch.testing.assert_close(out.logits, ref.logits)
    torch.testing.assert_close(out.loss, ref.loss)
    for a, b in zip(out.cache if isinstance(out.cache, tuple) else (out.cache,), ref.cache if isinstance(ref.cache, tuple) else (ref.cache,)):
        torch.testing.assert_close(a, b)


def test_hidden_input_checkpoint_reads_its_operands_only_through_the_tool():
    """A checkpoint whose spec hides the input (train.py --hide-input): the model's context starts at '=' and each
    row's tool holds its operands. generate_with_tools(prompts) builds both from the typed prompt (teacher-forced with
    the reference, every row is exact and answers), the result names the typed problem, hide_input=False shows the
    whole prompt again, and what cannot work is refused by name."""
    from toolssm.device_loop import eligible
    from toolssm.tasks import hide_input
    from toolssm.tools import InputPointerMemory
    from toolssm.trajectory import render

    shown = get_task("addition", "lockstep")
    task = hide_input(shown)
    model = build_model("mamba-tiny").eval()
    model.set_tool_spec(task.spec())
    assert model.tool_spec == {"task": "addition", "config": "lockstep", "hide_input": True}
    typed = ["99999+1=", "0+0=", "1000000000+1000000000="]
    refs = [render(task.trajectory(task.parse_prompt(p)))["input_ids"] for p in typed]
    assert all(r[0] == V.TOKEN_TO_ID["="] for r in refs)  # the operands are never in the model's context
    res = model.generate_with_tools(typed, teacher_ids=refs)
    assert [r.ids for r in res] == refs and [r.output for r in res] == ["100000", "0", "2000000000"]
    assert [r.prompt for r in res] == typed
    full = [render(shown.trajectory(shown.parse_prompt(p)))["input_ids"] for p in typed]
    res = model.generate_with_tools(typed, teacher_ids=full, hide_input=False)
    assert [r.ids for r in res] == full and [r.output for r in res] == ["100000", "0", "2000000000"]
    tool = task.inference_tool(task.parse_prompt("12+3="))
    assert type(tool) is InputPointerMemory and eligible([tool], False, False)  # the device loop holds it (test_device_loop)
    with pytest.raises(ValueError, match="the tool holds the input"):
        task.tool()
    with pytest.raises(ValueError, match="leave tools=None"):
        model.generate_with_tools(["12+3="], tools=[PointerMemory(3)])
    with pytest.raises(ValueError, match="keeps each problem's input in its tool"):
        model.make_tool()
    with pytest.raises(ValueError, match="not a valid addition problem"):
        model.generate_with_tools(["12+3"])


def test_stress_problems_are_batched_class_by_class_and_returned_in_order(monkeypatch):
    """evaluate_splits groups a stress split's problems by class (their trajectory lengths differ up to 10x: a batch
    runs as long as its longest row) and returns every split's results in the given order, each result the one a
    batch of one gives."""
    from toolssm import evaluation
    from toolssm.models import build_model
    from toolssm.tasks import get_task

    task = get_task("logical_graph")
    torch.manual_seed(0)
    model = build_model("mamba-tiny").eval()
    batches = []
    real = evaluation.evaluate_items

    def spy(model, task, items, **kw):
        batches.append([it.problem.get("stress") for it in items])
        return real(model, task, items, **kw)

    monkeypatch.setattr(evaluation, "evaluate_items", spy)
    kw = dict(stop_at_divergence=True, token_accuracy=False, workers=1)
    got = evaluation.evaluate_splits(model, task, 8, {"test": [0, 1], "stress": list(range(10))}, batch_size=4, **kw)
    k = len(task.stress_classes)
    assert [r.stress for r in got["stress"]] == [task.stress_classes[i % k] for i in range(10)]
    assert [r.split for r in got["test"]] == ["test", "test"]
    fed = [c for b in batches for c in b]  # the test problems first, then each stress class in one run
    assert fed == [None, None] + [c for c in task.stress_classes for i in range(10) if task.stress_classes[i % k] == c]
    assert [len(b) for b in batches] == [4, 4, 4]
    alone = {sp: [evaluation.evaluate_splits(model, task, 8, {sp: [i]}, batch_size=1, **kw)[sp][0] for i in idx]
             for sp, idx in (("test", [0, 1]), ("stress", range(10)))}
    for sp in got:
        assert [(r.exact, r.num_tokens, r.finished) for r in got[sp]] == [(r.exact, r.num_tokens, r.finished) for r in alone[sp]]


def test_first_difference_finds_the_first_token_off_the_reference():
    from toolssm.evaluation import first_difference

    ref = list(range(1000))
    assert first_difference(list(ref), ref, 10) is None
    for k in (10, 11, 500, 998, 999):
        ids = ref[:k] + [-1] + ref[k + 1 :]
        assert first_difference(ids, ref, 10) == k - 10
    assert first_difference(ref[:600], ref, 10) == 590  # stopped early: wrong where it ends
    assert first_difference(ref + [7], ref, 10) == 990  # went on past the reference's end


def test_evaluation_lists_every_failing_problem_by_index():
    """results.json names each problem that is not exact (index, class, first wrong token): findable again with
    scripts/divergence.py --indices. An untrained model fails them all, each at a token the reference disagrees with."""
    from toolssm import evaluation
    from toolssm.models import build_model
    from toolssm.tokenizer import encode
    from toolssm.trajectory import render

    task = get_task("addition")
    torch.manual_seed(0)
    model = build_model("mamba-tiny").eval()
    got = evaluation.evaluate_splits(model, task, 6, {"stress": [3, 5, 9]}, batch_size=2, stop_at_divergence=True, token_accuracy=False, workers=1)
    summary = evaluation.summarize(got["stress"])
    fails = summary["failures"]
    assert [f["index"] for f in fails] == [i for i, r in zip([3, 5, 9], got["stress"]) if not r.exact] and fails
    for f in fails:
        item = evaluation.make_test_items(task, 6, 1, start=f["index"], split="stress")[0]
        assert f["class"] == item.problem["stress"] == task.stress_classes[f["index"] % len(task.stress_classes)]
        ref = render(item.trajectory)["input_ids"]
        assert f["reference_tokens"] == len(ref) - len(encode(item.prompt))
        assert 0 <= f["first_wrong_token"] <= f["reference_tokens"]


@pytest.mark.parametrize("pipeline", [False, True])
def test_rows_without_budget_and_rows_that_finish_early_leave_the_loop(pipeline):
    """Rows with no token budget feed their prompt and stop; the loop ends when every row is done, and planning only
    the rows still running (generation.SKIP_FINISHED_ROWS) gives the rows that planning every row gives."""
    from toolssm import generation

    torch.manual_seed(0)
    model = build_model("mamba-tiny").eval()
    budgets = [0, 0, 5, 0, 40]
    out = {}
    for skip in (True, False):
        generation.SKIP_FINISHED_ROWS = skip
        try:
            rows = model.generate_with_tools(PROMPTS, _tools(), max_new_tokens=budgets, pipeline=pipeline)
        finally:
            generation.SKIP_FINISHED_ROWS = True
        out[skip] = [(r.ids, r.roles, r.forced, r.finished, r.truncated) for r in rows]
        assert [len(r.generated_ids) <= b for r, b in zip(rows, budgets)] == [True] * 5
        assert [r.generated_ids for r, b in zip(rows, budgets) if b == 0] == [[], [], []]
    assert out[True] == out[False]
    rows = model.generate_with_tools(PROMPTS[:2], _tools()[:2], max_new_tokens=0, pipeline=pipeline)  # nothing to generate at all
    assert [r.generated_ids for r in rows] == [[], []]
