import json
import os
import subprocess
import sys

import pytest
import yaml
from datasets import load_dataset

from toolssm.data import BuildSpec, build_config
from toolssm.tasks import get_task
from toolssm.trajectory import Trajectory

ROOT = __file__.rsplit("/tests/", 1)[0]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("ds")
    build_config(BuildSpec("multiplication", "n_x_2", seed=3, train_rows=40, validation_rows=10, test_rows=4, train_max_n=4, test_lengths=[4, 30]), str(out), num_proc=1, progress=False)
    build_config(BuildSpec("multiplication", "n_x_1", seed=3, train_rows=20, validation_rows=5, test_rows=3, train_max_n=3, test_lengths=[12]), str(out), num_proc=2, progress=False)
    return out


def test_folder_loads_offline_with_load_dataset(built):
    for config, splits in [("n_x_2", ["train", "validation", "test_4", "test_30"]), ("n_x_1", ["train", "validation", "test_12"])]:
        for split in splits:
            ds = load_dataset(str(built), config, split=split)
            assert len(ds) > 0
            assert {"prompt", "answer", "n", "trajectory", "task", "variant", "seed", "index", "version"} <= set(ds.column_names)
    assert load_dataset(str(built), split="test_30")[0]["n"] == 30  # n_x_2 is the default config


def test_every_row_is_verified_and_rebuildable(built):
    task = get_task("multiplication", "n_x_2")
    ds = load_dataset(str(built), "n_x_2", split="test_30")
    for row in ds:
        traj = Trajectory.from_rows(row["prompt"], row["trajectory"])
        a, b = row["prompt"].rstrip("=").split("×")
        assert row["answer"] == str(int(a) * int(b)) == traj.output
        again = task.make_item(row["seed"], row["split"], row["index"], row["n"], train=False)
        assert again.trajectory == traj


def test_splits_never_share_prompts(built):
    prompts = {s: set(load_dataset(str(built), "n_x_2", split=s)["prompt"]) for s in ["train", "validation", "test_4"]}
    assert not (prompts["train"] & prompts["validation"]) and not (prompts["train"] & prompts["test_4"])
    assert not (prompts["validation"] & prompts["test_4"])


def test_card_has_configs_yaml_and_regeneration_commands(built):
    text = (built / "README.md").read_text()
    meta = yaml.safe_load(text.split("---")[1])
    names = {c["config_name"] for c in meta["configs"]}
    assert names == {"n_x_1", "n_x_2"}
    assert "python dataset_builders/build.py multiplication --config n_x_2" in text
    assert "## Schema" in text and "## Example" in text and "[INF]" in text


@pytest.mark.parametrize("args,msg", [
    (["nope", "--out", "x"], "invalid choice"),
    (["addition", "--out", "x", "--config", "sideways"], "no config"),
    (["addition", "--out", "x", "--test-lengths", "5,abc"], "comma-separated"),
    (["hanoi", "--out", "x", "--test-lengths", "40"], "size n must be"),
    (["addition", "--out", "x", "--train-rows", "-3"], "non-negative"),
])
def test_cli_rejects_bad_arguments_before_any_work(tmp_path, args, msg):
    args = [a if a != "x" else str(tmp_path / "never") for a in args]
    r = subprocess.run([sys.executable, f"{ROOT}/dataset_builders/build.py", *args], capture_output=True, text=True)
    assert r.returncode == 2 and msg in r.stderr
    assert not (tmp_path / "never").exists()


def test_cli_builds_a_small_dataset(tmp_path):
    r = subprocess.run([sys.executable, f"{ROOT}/dataset_builders/build.py", "logical_graph", "--out", str(tmp_path), "--train-rows", "8",
                        "--validation-rows", "2", "--test-rows", "2", "--test-lengths", "10,40", "--num-proc", "1", "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    ds = load_dataset(str(tmp_path), "default", split="test_40")
    assert len(ds) == 2 and all(row["n"] == 40 for row in ds)


def test_the_design_cards_hub_id_loads_offline(tmp_path, monkeypatch):
    """`load_dataset("toolssm/addition")`, the design card's line, works offline once the dataset is built into a
    folder of that relative path (datasets resolves a local folder before the Hub): README's documented way."""
    build_config(BuildSpec("addition", "lockstep", seed=0, train_rows=6, validation_rows=2, test_rows=2, train_max_n=3,
                           test_lengths=[7], stress_rows=8), str(tmp_path / "toolssm" / "addition"), progress=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ds = load_dataset("toolssm/addition", "lockstep", split="stress_7")
    assert len(ds) == 8 and sorted(json.loads(p)["stress"] for p in ds["problem"]) == sorted(get_task("addition", "lockstep").stress_classes)
    assert load_dataset("toolssm/addition", "lockstep", split="test_7")[0]["n"] == 7


def test_runs_split_builds_loads_and_is_named_in_the_card(tmp_path):
    """--runs-rows: a runs_<n> split per test length, its classes in turn, every row Python's answer; the card names
    the split and the regenerate command carries --runs-rows; a build from before runs splits (no runs_rows in its
    build.json) still counts as the same build."""
    import datasets

    from toolssm.data import check_same_build

    spec = BuildSpec("multiplication", "n_x_2_aligned", train_rows=4, validation_rows=2, test_rows=2, train_max_n=3,
                     test_lengths=[12], stress_rows=0, runs_rows=10)
    build_config(spec, str(tmp_path), progress=False)
    ds = datasets.load_dataset(str(tmp_path), "n_x_2_aligned", split="runs_12")
    task = get_task("multiplication", "n_x_2_aligned")
    assert [json.loads(p)["stress"] for p in ds["problem"]] == list(task.runs_classes) * 2
    for row in ds:
        p = json.loads(row["problem"])
        assert row["answer"] == str(p["a"] * p["b"]) and row["n"] == 12
    card = open(tmp_path / "README.md").read()
    assert "`runs_<n>` splits" in card and "--runs-rows 10" in card
    old = os.path.join(str(tmp_path), "n_x_2_aligned", "build.json")
    with open(old) as f:
        meta = json.load(f)
    no_runs = dict(spec.__dict__, runs_rows=0)
    meta["spec"] = {k: v for k, v in no_runs.items() if k != "runs_rows"}
    with open(old, "w") as f:
        json.dump(meta, f)
    check_same_build(os.path.join(str(tmp_path), "n_x_2_aligned"), no_runs)  # no error
    with pytest.raises(ValueError, match="runs_rows 0 -> 10"):
        check_same_build(os.path.join(str(tmp_path), "n_x_2_aligned"), dict(no_runs, runs_rows=10))
    with pytest.raises(ValueError, match="has no runs split"):
        BuildSpec("hanoi", "recursive", runs_rows=2).validate()


def test_card_declares_features_and_split_sizes(tmp_path):
    """The card's dataset_info (features, split sizes) is what the parquet files hold: load_dataset_builder reads the
    schema from the card alone."""
    import datasets

    build_config(BuildSpec("addition", "tool", train_rows=8, validation_rows=2, test_rows=2, train_max_n=3, test_lengths=[4], stress_rows=8),
                 str(tmp_path), progress=False)
    info = datasets.load_dataset_builder(str(tmp_path), "tool").info
    ds = datasets.load_dataset(str(tmp_path), "tool", split="stress_4")
    assert info.features == ds.features
    assert {k: v.num_examples for k, v in info.splits.items()} == {"train": 8, "validation": 2, "test_4": 2, "stress_4": 8}
