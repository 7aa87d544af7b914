import random

import pytest

from toolssm.tasks.code_fixing import generate_codebase, run_codebase


@pytest.mark.parametrize("n", [2, 4, 9, 16, 30])
def test_buggy_codebase_fails_and_the_fix_runs(n):
    for seed in range(3):
        cb = generate_codebase(random.Random(f"{n}-{seed}"), n)
        names = [f.name for f in cb.functions]
        assert names[0] == "main" and names[-1] == "foo" and len(set(names)) == n
        assert all(x == "main" or x == "foo" or (x[0] == "f" and 0 <= int(x[1:]) <= 999) for x in names)
        buggy = run_codebase(cb.files())
        assert buggy.returncode != 0 and "NameError" in buggy.stderr and "v10" in buggy.stderr
        fixed_files = cb.files(fixed=True)
        fixed = run_codebase(fixed_files)
        assert fixed.returncode == 0, fixed.stderr
        assert f"foo.v10 {cb.v10}" in fixed.stdout
        # the fix touches only functions on a path from main to foo
        on_path = cb.paths_to_foo()
        for name, src in cb.files().items():
            assert (src == fixed_files[name]) == (name[:-3] not in on_path)


def test_generation_is_deterministic_and_validated():
    a = generate_codebase(random.Random(1), 8).files()
    b = generate_codebase(random.Random(1), 8).files()
    assert a == b
    with pytest.raises(ValueError):
        generate_codebase(random.Random(0), 1)


from toolssm.tasks import get_task  # noqa: E402
from toolssm.tools.shell import sandbox_available  # noqa: E402

needs_sandbox = pytest.mark.skipif(not sandbox_available(), reason="unshare/setpriv cannot isolate a process here")


@needs_sandbox
@pytest.mark.parametrize("variant", ["interactive", "single_turn", "interactive_sed", "single_turn_sed"])
def test_agent_trajectories_replay_and_fix_the_program(variant):
    task = get_task("code_fixing", variant)
    for n, i in [(4, 0), (9, 1), (16, 2), (30, 3)]:
        item = task.make_item(0, "test", i, n, train=False)
        assert task.verify(item) is None  # replays against a fresh sandbox and the final program's output is right
        cmds = [c for r, c in item.trajectory.segments if r == "command"]
        assert "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT" in cmds[-1]
        runs = sum(c.count("python main.py") for c in cmds)
        assert (runs >= 2) if variant.startswith("interactive") else (runs == 0)
        bare = [c.removeprefix("[COMMAND]").removesuffix("[/COMMAND]") for c in cmds]
        edits = [c for c in bare if c.startswith(("sed -i", "cat > "))]
        assert edits and all(c.startswith("sed -i" if variant.endswith("_sed") else "cat > ") for c in edits)


def test_no_sandbox_is_an_error_not_a_zero_score(monkeypatch):
    """Where the jail cannot be built, an evaluation used to score every episode as failed (its program's output was
    the tool's refusal) and the interactive builder wrote that refusal into its trajectories: both now stop, naming
    the reason. Single-turn trajectories never run the program and are still built."""
    from toolssm.tools import shell as S

    sandbox_available()
    monkeypatch.setattr(S, "_SANDBOX", False)
    monkeypatch.setattr(S, "_SANDBOX_WHY", "jail: no chroot")
    task = get_task("code_fixing", "interactive")
    p = task.sample(random.Random(0), 4, train=False)
    with pytest.raises(RuntimeError, match="code_fixing/interactive trajectories.*jail: no chroot"):
        task.trajectory(p)
    tool = S.ShellTool(task.codebase(p).files())
    tool.reset([])
    try:
        with pytest.raises(RuntimeError, match="scoring code_fixing.*cannot be built"):
            task.score(p, "", tool)
    finally:
        tool.close()
    assert get_task("code_fixing", "single_turn").trajectory(p).segments


def test_sed_configs_change_only_the_edits_and_write_fewer_tokens():
    """Same codebases (the items' seeds depend on the variant, not the edit style); the sed trace's commands are the
    write trace's with every whole-file write replaced by one sed per changed line, which the model writes far less."""
    from toolssm.tasks.code_fixing import sed_cmds
    from toolssm.trajectory import render

    for variant in ("single_turn",) + (("interactive",) if sandbox_available() else ()):
        a, b = get_task("code_fixing", variant), get_task("code_fixing", variant + "_sed")
        for i, n in enumerate((4, 8, 12)):
            x, y = a.make_item(0, "test", i, n, train=False), b.make_item(0, "test", i, n, train=False)
            assert x.problem == y.problem
            files = a.codebase(x.problem).files()
            def commands(item):
                return [c.removeprefix("[COMMAND]").removesuffix("[/COMMAND]") for r, c in item.trajectory.segments
                        if r == "command"]
            want = []
            for c in commands(x):
                if c.startswith("cat > "):
                    name, src = c[6:].split(" ", 1)[0], c.split("\n", 1)[1].rsplit("\nEOF", 1)[0] + "\n"
                    want += sed_cmds(name, files[name], src)
                else:
                    want.append(c)
            assert commands(y) == want

            def written(item):
                return sum(label != -100 for label in render(item.trajectory)["labels"])
            assert written(y) < 0.75 * written(x)


def test_sed_cmds_refuse_edits_sed_cannot_express():
    from toolssm.tasks.code_fixing import sed_cmds

    assert sed_cmds("a.py", "def f():\n    g()\n", "def f(v10):\n    g(v10)\n") == [
        "sed -i 's/def f():/def f(v10):/' a.py", "sed -i 's/g()/g(v10)/' a.py"]
    with pytest.raises(ValueError, match="adds or removes"):
        sed_cmds("a.py", "x = 1\n", "x = 1\ny = 2\n")
    with pytest.raises(ValueError, match="unique"):
        sed_cmds("a.py", "g()\ng()\n", "g(v10)\ng()\n")


@needs_sandbox
def test_score_rejects_an_unfixed_workspace_and_accepts_the_fix():
    task = get_task("code_fixing")
    p = task.sample(random.Random(5), 8, train=False)
    tool = task.tool(p)
    tool.reset([])
    assert not task.score(p, "", tool)
    for name, src in task.codebase(p).files(fixed=True).items():
        tool._write(name, src)
    assert task.score(p, "", tool)
    tool.close()


@needs_sandbox
def test_builder_writes_code_fixing_rows_that_rebuild(tmp_path):
    import json

    from datasets import load_dataset

    from toolssm.data import BuildSpec, build_config

    build_config(BuildSpec("code_fixing", "single_turn", train_rows=3, validation_rows=1, test_rows=1, train_max_n=6, test_lengths=[10]),
                 str(tmp_path), progress=False)
    row = load_dataset(str(tmp_path), "single_turn", split="test_10")[0]
    p = json.loads(row["problem"])
    assert p["functions"] == 10 == row["n"]
    task = get_task("code_fixing", "single_turn")
    assert task.make_item(row["seed"], row["split"], row["index"], 10, train=False).problem == p


@needs_sandbox
def test_train_and_validate_through_the_shell_tool(tmp_path):
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = str(tmp_path / "cf")
    r = subprocess.run([sys.executable, "train.py", "--preset", "mamba-tiny", "--task", "code_fixing", "--config", "single_turn",
                        "--train_max_n", "5", "--max_steps", "1", "--batch_size", "1", "--num_workers", "0", "--eval_every", "0",
                        "--eval_samples", "1", "--eval_lengths", "4", "--report_to", "none", "--output_dir", out],
                       capture_output=True, text=True, cwd=root, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "val_exact_match_n4" in r.stdout and os.path.exists(os.path.join(out, "README.md"))
