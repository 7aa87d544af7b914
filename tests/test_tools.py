import pytest

from toolssm import vocab as V
from toolssm.tokenizer import split_tokens
from toolssm.tools import Calculator, NoTool, PointerMemory, SearchMemory, make_tool

R1, L1, M1 = (V.pointer_token(1, op) for op in V.POINTER_OPS)
R2 = V.pointer_token(2, "read")


def test_pointer_reads_prompt_and_boundaries():
    t = PointerMemory(2)
    t.reset(split_tokens("ab"))
    assert t.observe(R1) == ("command", ["a"])
    assert t.observe(L1) == ("command", [])
    assert t.observe(R1) == ("command", [V.BOUNDARY])  # left of memory
    for _ in range(5):  # clamped: one step outside is enough to see the boundary
        t.observe(L1)
    t.observe(M1)
    assert t.observe(R1) == ("command", ["a"])
    t.observe(M1), t.observe(M1)
    assert t.observe(R1) == ("command", [V.BOUNDARY])  # right of memory
    assert t.observe(R2) == ("command", ["a"])  # pointers are independent and start at 0


def test_pointer_memory_grows_with_thoughts_and_outputs_not_commands():
    t = PointerMemory(1)
    t.reset(split_tokens("x"))
    t.observe(M1)
    assert t.observe(R1)[1] == [V.BOUNDARY]
    assert t.observe("7") == ("thought", [])
    assert t.observe(R1)[1] == ["7"]
    assert t.observe(V.ANS) == ("output", [])
    t.observe(M1)
    assert t.observe(R1)[1] == [V.ANS]  # [ANS] is written too
    assert t.observe("9") == ("output", [])
    assert t.memory == ["x", "7", V.ANS, "9"]


def test_pointer_errors_never_raise():
    t = PointerMemory(2)
    t.reset([])
    assert t.observe(R1)[1] == [V.BOUNDARY]  # empty memory
    assert t.observe(V.pointer_token(5, "read")) == ("command", [V.ERROR])
    assert t.num_errors == 1
    with pytest.raises(ValueError):
        PointerMemory(9)


def _run(tool, text):
    obs = []
    for tok in split_tokens(text):
        obs.extend(tool.observe(tok)[1])
    return "".join(obs)


def test_search_finds_all_matching_lines_in_order_including_written_ones():
    t = SearchMemory()
    t.reset(split_tokens("v1 = a\nv2 = v1\nzzz\n"))
    assert _run(t, "[COMMAND]find[VALUE]v1[/COMMAND]") == "[OBSERVATION]v1 = a\nv2 = v1[/OBSERVATION]"
    _run(t, "v1 = True\npartial v1")
    assert _run(t, "[COMMAND]find[VALUE]v1 =[/COMMAND]") == "[OBSERVATION]v1 = a\nv1 = True[/OBSERVATION]"
    assert t.find("v1") == ["v1 = a", "v2 = v1", "v1 = True", "partial v1"]
    assert _run(t, "[COMMAND]find[VALUE]nothing[/COMMAND]") == "[OBSERVATION][/OBSERVATION]"


@pytest.mark.parametrize("cmd", ["[COMMAND]grep[VALUE]x[/COMMAND]", "[COMMAND]find[VALUE][/COMMAND]", "[COMMAND]find x[/COMMAND]"])
def test_search_malformed_commands_get_error_observations(cmd):
    t = SearchMemory()
    t.reset(split_tokens("x\n"))
    obs = _run(t, cmd)
    assert obs.startswith("[OBSERVATION]error:") and obs.endswith("[/OBSERVATION]")
    assert t.num_errors == 1


def test_text_command_length_is_bounded():
    t = SearchMemory()
    t.reset([])
    obs = _run(t, "[COMMAND]" + "a" * (t.max_command_tokens + 1))
    assert "command too long" in obs and not t.in_command


def test_calculator_and_no_tool():
    c = Calculator()
    c.reset([])
    assert _run(c, f"[COMMAND]add({10**50},{7})[/COMMAND]") == f"[OBSERVATION]{10**50 + 7}[/OBSERVATION]"
    assert _run(c, "[COMMAND]add(1,x)[/COMMAND]").startswith("[OBSERVATION]error:")
    n = NoTool()
    n.reset([])
    assert _run(n, f"{R1}[COMMAND]add(1,2)[/COMMAND]") == ""
    assert make_tool("pointer", num_pointers=3).num_pointers == 3
    with pytest.raises(ValueError, match="unknown tool"):
        make_tool("shell9")


def test_search_is_fast_on_thousands_of_lines():
    # Not a timing assertion: checks the result on a large memory (benchmarks/bench_search.py times it).
    t = SearchMemory()
    t.reset(split_tokens("".join(f"v{1000 + i} = v{1000 + i // 2}\n" for i in range(5000))))
    assert t.find("v1234 =") == ["v1234 = v1117"]
    assert len(t.find("= v1001")) == 2
