"""The sandboxed shell tool: its commands, and hostile or malformed input."""

import os
import random
import shutil
import subprocess

import pytest

from toolssm import vocab as V
from toolssm.tasks.code_fixing import generate_codebase
from toolssm.tokenizer import split_tokens
from toolssm.tools.shell import ShellTool, sandbox_available

needs_sandbox = pytest.mark.skipif(not sandbox_available(), reason="unshare/setpriv cannot isolate a process here")


def ask(tool, command):
    obs = []
    for tok in split_tokens(V.COMMAND) + list(command) + [V.END_COMMAND]:
        obs = tool.observe(tok)[1] or obs
    assert obs[0] == V.OBSERVATION and obs[-1] == V.END_OBSERVATION
    return "".join(obs[1:-1])


@pytest.fixture
def tool():
    cb = generate_codebase(random.Random(0), 5)
    t = ShellTool(cb.files(), timeout=5)
    t.reset([])
    yield t, cb
    t.close()


def test_ls_cat_grep_write(tool):
    t, cb = tool
    assert ask(t, "ls").split("\n") == sorted(cb.files())
    assert ask(t, "cat foo.py") == cb.files()["foo.py"]
    assert "foo.py:" in ask(t, "grep v10") and "main.py:" in ask(t, "grep v10")
    assert ask(t, "cat > new.py <<'EOF'\nx = 1\nEOF").startswith("wrote new.py")
    assert ask(t, "cat new.py") == "x = 1\n"
    assert ask(t, "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT") and t.submitted


SED_CASES = [("def foo(", "def foo(v10, "), ("v0", "w0"), ("    ", "\t"), ("(", "(("), ("print(\"", "print(1, \""),
             ("no such text", "x"), ("= ", "= -"), (")", ", v10)")]


@pytest.mark.skipif(shutil.which("sed") is None, reason="no sed binary to compare with")
@pytest.mark.parametrize("old,new", SED_CASES)
def test_sed_edits_equal_gnu_sed(tool, tmp_path, old, new):
    """The oracle is the real sed binary, run on a copy of the file (never on the workspace)."""
    t, cb = tool
    for name, src in cb.files().items():
        ref = tmp_path / name
        ref.write_text(src)
        subprocess.run(["sed", "-i", f"s/{old}/{new}/", str(ref)], check=True)
        out = ask(t, f"sed -i 's/{old}/{new}/' {name}")
        changed = sum(old in line for line in src.split("\n"))
        assert out == (f"{name}: {changed} line{'s' if changed > 1 else ''} changed" if changed
                       else f"{name}: no line contains {old!r}; nothing changed")
        assert ask(t, f"cat {name}") == ref.read_text(), (name, old, new)


@pytest.mark.parametrize("cmd", ["sed -i 's/a.b/c/' foo.py", "sed -i 's/^def/x/' foo.py", "sed -i 's/v[0-9]/x/' foo.py",
                                 "sed -i 's/x*/y/' foo.py", "sed -i 's/foo/&&/' foo.py", "sed -i 's/foo/a\\nb/' foo.py",
                                 "sed -i 's//x/' foo.py", "sed -i 's/a/b/' ../etc/passwd", "sed -i 's/a/b/' /etc/passwd",
                                 "sed -i 's/a/b/' nothere.py", "sed -i 's/a/b/g' foo.py", "sed -i 's/a/b/' foo.py; id",
                                 "sed -i 's/a/b/' foo.py bar.py", "sed -e 's/a/b/' foo.py", "sed -i 's/it's/x/' foo.py",
                                 "sed -i 's/a\nb/c/' foo.py"])
def test_sed_refuses_what_it_cannot_do_literally(tool, cmd):
    t, cb = tool
    out = ask(t, cmd)
    assert out.startswith("error:"), (cmd, out)
    assert t.read_files() == cb.files()  # nothing changed


def test_sed_cannot_grow_a_file_past_the_limit(tool):
    t, _ = tool
    assert ask(t, "cat > big.py <<'EOF'\n" + "\n".join("x" * 15 for _ in range(1000)) + "\nEOF").startswith("wrote")
    out = ask(t, "sed -i 's/x/" + "y" * 100 + "/' big.py")  # 16 k characters would become 115 k
    assert out.startswith("error: file too large"), out
    assert ask(t, "cat big.py").startswith("x" * 15 + "\n")


@needs_sandbox
def test_running_the_buggy_and_the_fixed_program(tool):
    t, cb = tool
    out = ask(t, "python main.py")
    assert "NameError" in out and "[exit code 1]" in out
    for name, src in cb.files(fixed=True).items():
        ask(t, f"cat > {name} <<'EOF'\n{src.rstrip(chr(10))}\nEOF")
    out = ask(t, "python main.py")
    assert f"foo.v10 {cb.v10}" in out and "[exit code 0]" in out


@pytest.mark.parametrize("cmd", ["cat ../etc/passwd", "cat /etc/passwd", "cat > ../x.py <<'EOF'\n1\nEOF", "cat > /tmp/x.py <<'EOF'\n1\nEOF",
                                 "rm -rf /", "ls; cat /etc/passwd", "bash -c id", "cat", "grep", ""])
def test_escapes_and_unknown_commands_are_errors(tool, cmd):
    t, _ = tool
    out = ask(t, cmd)
    assert out.startswith("error:"), out
    assert not os.path.exists("/tmp/x.py") or "cat > /tmp" not in cmd


def _program(t, src):
    ask(t, f"cat > main.py <<'EOF'\n{src}\nEOF")
    return ask(t, "python main.py")


@needs_sandbox
def test_program_cannot_write_outside_or_inside_the_workspace_or_use_the_network(tool):
    t, _ = tool
    _program(t, "open('/tmp/toolssm_escape', 'w').write('x')")  # lands in a private tmpfs that vanishes
    assert not os.path.exists("/tmp/toolssm_escape")
    out = _program(t, "open('/etc/toolssm_escape', 'w').write('x')")  # the jail's root is read-only
    assert ("PermissionError" in out or "Read-only file system" in out) and not os.path.exists("/etc/toolssm_escape")
    out = _program(t, "open('main2.py', 'w').write('x')")
    assert "PermissionError" in out
    out = _program(t, "import socket\ns = socket.create_connection(('127.0.0.1', 22), timeout=2)")
    assert "Error" in out and "[exit code 1]" in out


@needs_sandbox
def test_fork_bomb_infinite_loop_and_huge_output_are_contained(tool):
    t, _ = tool
    out = _program(t, "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass")
    assert "killed after" in out or "exit code" in out
    out = _program(t, "while True:\n    pass")
    assert out.endswith("[killed by SIGXCPU (CPU time limit)]") or "killed after" in out, out
    assert "unshare:" not in out and "sigprocmask" not in out
    out = _program(t, "while True:\n    print('x' * 10000)")
    assert "(output truncated" in out and len(out) < 5000
    assert out.rstrip().endswith("]") and "[killed" in out.rsplit("\n", 1)[-1] or "[exit code" in out.rsplit("\n", 1)[-1]


@needs_sandbox
def test_binary_garbage_becomes_representable_text(tool):
    t, _ = tool
    out = _program(t, "import sys\nsys.stdout.buffer.write(bytes(range(256)))")
    assert set(out) <= V.CHAR_SET  # every character can be tokenized
    split_tokens(out)


def test_bad_workspace_names_are_rejected():
    with pytest.raises(ValueError):
        ShellTool({"../evil.py": "x"})
