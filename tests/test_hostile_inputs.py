"""Careless and hostile input outside the sandbox: builder output folders, tampered dataset rows, long calculator
commands, absurd command-line values, invalid prompts, problems too large for the host. Each case once destroyed a
file, trained on bad data or crashed without naming its input."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from conftest import python_path
from toolssm.data import BuildSpec, build_config
from toolssm.tasks import get_task
from toolssm.verify import verify_folder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=python_path(), TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
SMALL = dict(seed=0, train_rows=12, validation_rows=2, test_rows=2, train_max_n=3, test_lengths=[4])


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=timeout)


def snapshot(folder):
    return {os.path.relpath(os.path.join(d, f), folder): open(os.path.join(d, f), "rb").read() for d, _, fs in os.walk(folder) for f in fs}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("built") / "ds"
    build_config(BuildSpec("addition", "tool", **SMALL), str(out), progress=False)
    return out


# --- builder output folders ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["project_root", "foreign_parquet", "foreign_readme"])
def test_build_refuses_folders_with_files_it_did_not_write(tmp_path, built, layout):
    import shutil

    target = tmp_path / "t"
    if layout == "project_root":  # `--out .` in a project: its README and code must survive
        target.mkdir()
        (target / "README.md").write_text("my project\n")
        (target / "pyproject.toml").write_text("[project]\n")
    else:
        shutil.copytree(built, target)
        if layout == "foreign_parquet":
            (target / "tool" / "mine-00000-of-00001.parquet").write_bytes(b"not ours")
        else:
            (target / "README.md").write_text("a card someone wrote\n")
    before = snapshot(target)
    with pytest.raises(ValueError, match="did not write"):
        build_config(BuildSpec("addition", "tool", **SMALL), str(target), progress=False)
    assert snapshot(target) == before
    r = cli("dataset_builders/build.py", "addition", "--out", str(target), "--train-rows", "4", "--quiet")
    assert r.returncode == 2 and "did not write" in r.stderr and snapshot(target) == before


def test_build_rejects_an_empty_out(tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "dataset_builders", "build.py"), "addition", "--out", "", "--quiet"],
                       capture_output=True, text=True, cwd=tmp_path, env=ENV, timeout=120)
    assert r.returncode == 2 and "output folder is empty" in r.stderr and os.listdir(tmp_path) == []


def test_rebuild_replaces_only_its_own_config_and_a_crash_keeps_the_old_one(tmp_path, monkeypatch):
    out = tmp_path / "ds"
    build_config(BuildSpec("addition", "tool", **SMALL), str(out), progress=False)
    build_config(BuildSpec("addition", "tool_p3", **SMALL), str(out), progress=False)
    tool_before = snapshot(out / "tool")
    import toolssm.data as D

    calls = []
    real = D.generate_split

    def crash_on_second_split(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed mid-build")
        return real(*a, **k)

    monkeypatch.setattr(D, "generate_split", crash_on_second_split)
    with pytest.raises(KeyboardInterrupt):
        build_config(BuildSpec("addition", "tool", **dict(SMALL, seed=5)), str(out), progress=False, overwrite=True)
    assert snapshot(out / "tool") == tool_before  # the previous build is intact
    assert sorted(os.listdir(out)) == ["README.md", "tool", "tool_p3"]  # no temporary folder left


def test_rebuild_with_other_settings_is_refused_before_anything_is_built(tmp_path):
    """A second build into the same folder with other settings (here 4 training rows after 12) replaced the first
    build: hours of generation for the large configs. It is refused, naming what differs; the same settings rebuild
    the same rows, and --overwrite replaces."""
    out = tmp_path / "ds"
    build_config(BuildSpec("addition", "tool", **SMALL), str(out), progress=False)
    before = snapshot(out)
    with pytest.raises(ValueError, match=r"other settings \(train_rows 12 -> 4\)"):
        build_config(BuildSpec("addition", "tool", **dict(SMALL, train_rows=4)), str(out), progress=False)
    assert snapshot(out) == before
    args = ["dataset_builders/build.py", "addition", "--out", str(out), "--quiet", "--train-rows", "4", "--validation-rows", "2",
            "--test-rows", "2", "--train-max-n", "3", "--test-lengths", "4", "--stress-rows", "0"]
    r = cli(*args)
    assert r.returncode == 2 and "train_rows 12 -> 4" in r.stderr and "--overwrite" in r.stderr and snapshot(out) == before
    build_config(BuildSpec("addition", "tool", **SMALL), str(out), progress=False)  # the same settings: allowed
    assert {k: v for k, v in snapshot(out).items() if k.endswith(".parquet")} == {k: v for k, v in before.items() if k.endswith(".parquet")}
    r = cli(*args, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert json.load(open(out / "tool" / "build.json"))["splits"]["train"]["rows"] == 4


# --- tampered rows -------------------------------------------------------------------------------------------------

def _tamper(built, tmp_path, column, fn):
    import shutil

    from datasets import load_dataset

    target = tmp_path / "tampered"
    shutil.copytree(built, target)
    path = str(target / "tool" / "train-00000-of-00001.parquet")
    ds = load_dataset("parquet", data_files=path, split="train")
    rows = ds.to_list()
    rows[5][column] = fn(rows[5][column])
    from datasets import Dataset

    Dataset.from_list(rows).to_parquet(path)
    return target, rows[5]["index"]


def _bump_observation(traj):
    for seg in traj:
        if seg["role"] == "observation" and seg["content"].isdigit():
            seg["content"] = str((int(seg["content"]) + 1) % 10)
            return traj
    raise AssertionError("no digit observation")


@pytest.mark.parametrize("column,fn", [("trajectory", _bump_observation), ("answer", lambda a: str(int(a) + 1))])
def test_verify_names_the_first_bad_row_and_training_refuses_it(built, tmp_path, column, fn):
    target, index = _tamper(built, tmp_path, column, fn)
    n, err = verify_folder(str(target), progress=False)
    assert err is not None and err.startswith(f"tool/train[{index}]:"), err
    r = cli("-m", "toolssm.verify", str(target), "--quiet")
    assert r.returncode == 1 and f"tool/train[{index}]" in r.stdout
    r = cli("train.py", "--dataset", str(target), "--config", "tool", "--output_dir", str(tmp_path / "run"), "--max_steps", "1",
            "--batch_size", "2", "--num_workers", "0", "--report_to", "none", "--eval_every", "0")
    assert r.returncode != 0 and f"tool/train[{index}]" in r.stderr.strip().splitlines()[-1] and "Traceback" not in r.stderr
    assert not os.path.exists(tmp_path / "run" / "model.safetensors")


def test_verify_lists_every_bad_row(built, tmp_path):
    """Three rows spoilt three ways (answer, tool answer, prompt): the CLI names all three, --first only the first."""
    from datasets import Dataset, load_dataset

    target = tmp_path / "spoilt"
    shutil.copytree(built, target)
    path = str(target / "tool" / "train-00000-of-00001.parquet")
    rows = load_dataset("parquet", data_files=path, split="train").to_list()
    rows[1]["answer"] = str(int(rows[1]["answer"]) + 1)
    rows[4]["trajectory"] = _bump_observation(rows[4]["trajectory"])
    rows[7]["prompt"] = "1+1="
    Dataset.from_list(rows).to_parquet(path)
    errors = []
    n, first = verify_folder(str(target), progress=False, errors=errors)
    bad = [rows[i]["index"] for i in (1, 4, 7)]
    assert n == 12 + 2 + 2 and [e.split("]")[0] for e in errors] == [f"tool/train[{i}" for i in bad] and first == errors[0]
    assert "oracle" in errors[0] and "observation" in errors[1] and "does not state its problem" in errors[2]
    r = cli("-m", "toolssm.verify", str(target), "--quiet")
    assert r.returncode == 1 and "3 of 16 rows are bad" in r.stdout and all(f"tool/train[{i}]" in r.stdout for i in bad)
    r = cli("-m", "toolssm.verify", str(target), "--quiet", "--first")
    assert r.returncode == 1 and f"tool/train[{bad[0]}]" in r.stdout and f"tool/train[{bad[1]}]" not in r.stdout


def test_verify_passes_a_sound_folder(built):
    n, err = verify_folder(str(built), progress=False)
    assert err is None and n == 12 + 2 + 2


def test_long_calculator_rows_are_whole_and_a_cut_command_fails_verification(monkeypatch):
    task = get_task("addition", "calculator")
    item = task.make_item(0, "test_300", 0, 300, train=False)
    assert task.verify(item) is None and item.trajectory.segments[1][1].endswith(item.answer + "[/OBSERVATION]")
    from toolssm.tools.calculator import Calculator

    monkeypatch.setattr(Calculator, "max_command_tokens", 512)  # the old limit: add(a,b) of 300 digits is cut
    bad = task.make_item(0, "test_300", 0, 300, train=False)
    assert "error" in bad.trajectory.segments[1][1] and "tool error" in task.verify(bad)


# --- absurd command lines: one line naming the value, nothing written ------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (["train.py", "--task", "multiplcation"], "invalid choice: 'multiplcation'"),
    (["train.py", "--train_max_n", "0"], "got 0"),
    (["train.py", "--max_steps", "0"], "must be positive"),
    (["train.py", "--max_length", "3"], "--max_length must be at least 16"),
    (["train.py", "--dataset", "/nonexistent/toolssm"], "/nonexistent/toolssm"),
    (["eval.py", "--model", "runs/no-such-run"], "no such checkpoint folder"),
    (["eval.py", "--model", "checkpoints/addition-lstm-small", "--lengths", "0", "--num-samples", "1"], "got 0"),
    (["dataset_builders/build.py", "addition", "--out", "x", "--train-rows", "-1"], "train_rows must be a non-negative integer"),
    (["dataset_builders/build.py", "addition", "--out", "x", "--test-lengths", "0"], "got 0"),
    (["dataset_builders/build.py", "addition", "--out", "x", "--train-max-n", "0"], "got 0"),  # was silently 5
    (["train.py", "--warmup_steps", "-5"], "--warmup_steps must be >= 0"),
    (["train.py", "--eval_samples", "0"], "--eval_samples must be >= 1"),
    (["train.py", "--eval_lengths", "abc"], "--eval_lengths must be comma-separated integers"),
    (["train.py", "--init_from", "/nonexistent/ckpt"], "no such checkpoint folder"),
    (["eval.py", "--model", "checkpoints/addition-lstm-small/config.json"], "a file, not a checkpoint folder"),  # was: "the Hub did not provide it"
])
def test_absurd_values_fail_in_one_line(tmp_path, args, message):
    if args[0] == "train.py":
        args = [*args, "--output_dir", str(tmp_path / "run"), "--report_to", "none", "--num_workers", "0"]
    r = cli(*args, timeout=120)
    last = r.stderr.strip().splitlines()[-1]
    assert r.returncode != 0 and message in last and "Traceback" not in r.stderr, r.stderr[-1500:]
    assert not os.path.exists(tmp_path / "run" / "model.safetensors") and not os.path.exists(os.path.join(ROOT, "x"))


# --- prompts and host memory -------------------------------------------------------------------------------------------

def test_a_broken_config_file_is_named(tmp_path):
    bad = tmp_path / "run.json"
    bad.write_text('{"max_steps": 3,\n')
    r = cli("train.py", str(bad), timeout=120)
    assert r.returncode == 2 and f"config file {str(bad)!r}" in r.stderr and "line 2" in r.stderr and "Traceback" not in r.stderr


def test_checkpoint_refuses_invalid_prompts_and_sizes_its_budget():
    from transformers import AutoModelForCausalLM

    import toolssm  # noqa: F401

    model = AutoModelForCausalLM.from_pretrained(os.path.join(ROOT, "checkpoints", "addition-lstm-small")).eval()
    for bad, what in [("1.5+2=", "'.'"), ("-5+3=", "'-'"), ("12+34=\n", "end with '='"), ("12+34", "end with '='"), ("007+1=", "leading zero")]:
        with pytest.raises(ValueError, match="prompt 0") as e:
            model.generate_with_tools([bad])
        assert what in str(e.value)
    (r,) = model.generate_with_tools(["99999999999999999999+1="])  # no budget given: derived from the problem
    assert r.finished and not r.truncated and r.output == str(99999999999999999999 + 1)


def test_a_row_past_its_derived_budget_is_called_wrong_not_short_of_budget():
    """Garbage from an untrained model runs into the budget derived from the problem: the warning says the model left
    the algorithm (more tokens would not help); with a budget the caller chose it says to raise it."""
    import warnings

    import toolssm  # noqa: F401
    from toolssm.models import build_model

    torch.manual_seed(0)
    model = build_model("lstm-tiny").eval()
    model.set_tool_spec({"task": "addition", "variant": "tool"})
    with pytest.warns(UserWarning, match="left the algorithm") as rec:
        res = model.generate_with_tools(["12+34=", "5+6="])
    assert all(r.truncated for r in res) and not any("raise max_new_tokens" in str(w.message) for w in rec)
    with pytest.warns(UserWarning, match="raise max_new_tokens"):
        model.generate_with_tools(["12+34="], max_new_tokens=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a row that finishes warns of nothing
        from transformers import AutoModelForCausalLM

        AutoModelForCausalLM.from_pretrained(os.path.join(ROOT, "checkpoints", "addition-lstm-small")).eval().generate_with_tools(["12+34="])


def test_evaluation_refuses_a_problem_larger_than_the_host():
    from toolssm.evaluation import plan_batch

    assert plan_batch(10_000, 16, available=2**34) == 16
    assert plan_batch(10_000_000, 16, available=2**33) == 1
    with pytest.raises(ValueError, match="needs about 14.0 GiB of host memory and 8.0 GiB are available"):
        plan_batch(30_000_000, 16, available=8 * 2**30)
