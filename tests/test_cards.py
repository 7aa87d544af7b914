"""Model cards are filled from training_args.json: a continued run (--init_from) says so and its command has it."""

import glob
import json
import os
import shutil

import pytest

from conftest import not_carried
from toolssm.cards import write_model_card

ROOT = os.path.join(os.path.dirname(__file__), "..")
RUNS = os.path.join(ROOT, "results", "multiplication")
SHIPPED = os.path.join(ROOT, "checkpoints", "multiplication-n_x_2_aligned-mamba-small")  # = run mul2a-mamba-s2-cont
# the GPU machine's copy may leave results/ behind (scripts/gpu/slim.sh: the 64 MiB transfer cap)
needs_results = pytest.mark.skipif(not os.path.isdir(RUNS) or not_carried("results"), reason="results/ is not in this copy of the repo")


def _card(tmp_path, run):
    d = tmp_path / os.path.basename(run)
    d.mkdir()
    shutil.copy(os.path.join(run, "training_args.json"), d / "training_args.json")
    shutil.copy(os.path.join(SHIPPED, "config.json"), d / "config.json")  # results/ files no model config: the same shape
    return write_model_card(str(d))


def test_card_of_a_continued_run_names_its_start(tmp_path):
    text = _card(tmp_path, SHIPPED)
    assert "continued from `runs/s5a/mul2a-mamba-s2`" in text
    assert "--preset mamba-small --init-from runs/s5a/mul2a-mamba-s2 --task multiplication" in text and "--warmup-steps 50" in text
    assert "678 steps (of 1000 planned" in text
    assert "base_model" not in text  # a run folder of the training machine is no base model a reader can resolve


@needs_results
def test_card_of_a_fresh_run_has_no_init_from(tmp_path):
    text = _card(tmp_path, os.path.join(RUNS, "mul2a-mamba-s2"))
    assert "--init-from" not in text and "continued from" not in text
    assert "900 steps," in text and "--seed 2 --data-seed 2" in text


@needs_results
def test_card_command_keeps_what_shapes_the_data(tmp_path):
    """A stress fine-tune's card command carries --stress-fraction and --stress-max-n (without them it trains another
    model); a run with the input hidden carries --hide-input."""
    run = os.path.join(ROOT, "results", "stress_training", "mul2a-stress30-ft-s0")
    text = _card(tmp_path, run)
    assert "--init-from checkpoints/multiplication-n_x_2_aligned-mamba-small" in text and "--stress-fraction 0.25 --stress-max-n 30" in text
    assert "--hide-input" not in text
    args = json.load(open(os.path.join(run, "training_args.json")))
    args["data"]["hide_input"] = True
    d = tmp_path / "hidden"
    d.mkdir()
    (d / "training_args.json").write_text(json.dumps(args))
    shutil.copy(os.path.join(SHIPPED, "config.json"), d / "config.json")
    assert "--hide-input true --stress-fraction 0.25 --stress-max-n 30" in write_model_card(str(d))


def _row(n, k):
    return {"n": n, "num_samples": k, "exact_match": 1.0, "exact_match_ci": [0.8, 1.0], "answer_accuracy": 1.0,
            "answer_accuracy_ci": [0.8, 1.0], "token_accuracy": None, "tokens_per_sample": 10.0}


def test_results_table_says_how_many_problems_per_length():
    from toolssm.cards import results_table

    same = results_table({"task": "addition", "lengths": [_row(5, 16), _row(10, 16)]})
    assert "16 problems per length" in same and "| problems |" not in same
    mixed = results_table({"task": "addition", "lengths": [_row(5, 16), _row(2000, 8)]})
    assert "16 problems per length" not in mixed and "| problems |" in mixed
    assert mixed.rstrip().endswith("| 8 |")


CHECKPOINTS = os.path.join(ROOT, "checkpoints")


@pytest.mark.parametrize("name", sorted(os.listdir(CHECKPOINTS)))
def test_every_shipped_cards_usage_snippet_runs(name, capsys, tmp_path):
    """The card's own 'How to use' code, on a copy of the folder (as a user who downloaded it would run it, with
    toolssm installed): it loads the right class (an LSTM card once built a random Mamba) and answers its example
    prompt correctly."""
    import re

    import yaml

    from toolssm.tasks import task_from_spec

    if not_carried(f"checkpoints/{name}"):
        pytest.skip(f"checkpoints/{name} was not carried to this machine (.slimmed, scripts/gpu/slim.sh)")
    text = open(os.path.join(CHECKPOINTS, name, "README.md")).read()
    meta = yaml.safe_load(text.split("---")[1])
    assert meta["library_name"] == "transformers" and meta["pipeline_tag"] == "text-generation" and meta["datasets"]
    results = meta["model-index"][0]["results"]  # huggingface_hub's model-index: exact match per split and size
    assert results and all(r["metrics"][0]["type"] == "exact_match" and 0 <= r["metrics"][0]["value"] <= 1 for r in results)
    config = json.load(open(os.path.join(CHECKPOINTS, name, "generation_config.json")))["toolssm"]
    task = task_from_spec(config)
    if name != "addition-mamba-small" and getattr(task, "stress_classes", ()):  # every other card of a task with a stress split carries its results
        assert any(r["dataset"]["split"].startswith("stress_") for r in results)
    code = re.search(r"## How to use\n\n```python\n(.*?)```", text, re.S).group(1)
    copy = shutil.copytree(os.path.join(CHECKPOINTS, name), tmp_path / name)
    exec(compile(code.replace("PATH_OR_REPO", str(copy)), f"{name}/README.md", "exec"), {})
    printed = capsys.readouterr().out.strip().split("\n")[-1]
    if "task.score(" in code:  # a task scored from the workspace (code fixing): the snippet prints whether the repair runs
        assert printed == "True", printed
        return
    prompt = json.loads('"' + re.search(r'generate_with_tools\(\["(.*?)"\]\)', code).group(1) + '"')  # its \\n escapes; a × stays a ×
    assert task.check(task.parse_prompt(prompt), printed), (prompt, printed)


def test_a_mamba_class_refuses_an_lstm_checkpoint():
    from toolssm import ToolMambaForCausalLM

    with pytest.raises(ValueError, match="holds a 'toolssm_rnn' model"):
        ToolMambaForCausalLM.from_pretrained(os.path.join(CHECKPOINTS, "addition-lstm-small"))


FILED_RUN = os.path.join(ROOT, "results", "paper_scale", "add-tool-mamba-130m-2k-s1")


def _filed_copy(tmp_path, run_dir):
    """A copy of a filed run's own files (not its card), in a folder named like it under a study folder."""
    d = tmp_path / os.path.basename(os.path.dirname(run_dir)) / os.path.basename(run_dir)
    shutil.copytree(run_dir, d, ignore=shutil.ignore_patterns("README.md"))
    return d


@needs_results
def test_card_of_a_filed_run_without_weights(tmp_path):
    from toolssm.cards import write_run_card

    d = _filed_copy(tmp_path, FILED_RUN)
    text = write_run_card(str(d))
    assert text == (d / "README.md").read_text()
    assert "**Weights not filed.**" in text and "bash scripts/gpu/run.sh paper_scale add-tool-mamba-130m-2k-s1" in text
    assert "752 steps (of 2000 planned" in text and "preset `mamba-130m`" in text and "90.62M parameters" in text
    assert "| 1000 | 1.000 [0.806, 1.000] |" in text  # the test evaluation
    assert "| 1000 | 0.562 [" in text and "`1_plus_long` 2/2" in text  # the stress section
    assert "value: 0.5625" in text  # and the stress result in the card's metadata
    assert not (d / "config.json").exists()  # the preset's config was only borrowed


def test_card_of_a_folder_that_is_no_training_run_fails_by_name(tmp_path):
    from toolssm.cards import write_run_card

    with pytest.raises(FileNotFoundError, match="no training_args.json"):
        write_run_card(str(tmp_path))


@needs_results
@pytest.mark.parametrize("run_dir", sorted(os.path.dirname(p) for p in glob.glob(os.path.join(ROOT, "results", "*", "*", "README.md"))
                                           if os.path.exists(os.path.join(os.path.dirname(p), "training_args.json"))))
def test_every_filed_run_card_is_what_its_files_say(run_dir, tmp_path):
    """A run card under results/ is regenerated from the run's filed files alone (python -m toolssm.cards)."""
    from toolssm.cards import write_run_card

    assert write_run_card(str(_filed_copy(tmp_path, run_dir))) == open(os.path.join(run_dir, "README.md")).read()


ALL_ARGS = sorted(glob.glob(os.path.join(ROOT, "checkpoints", "*", "training_args.json"))
                  + glob.glob(os.path.join(ROOT, "results", "*", "*", "training_args.json")))


@pytest.mark.parametrize("path", ALL_ARGS, ids=[os.path.relpath(os.path.dirname(p), ROOT) for p in ALL_ARGS])
def test_reproduce_command_parses_back_to_the_recorded_run(path):
    """The oracle is train.py's own parser: the command a card prints, parsed, gives every option that shapes the
    weights exactly as training_args.json recorded it (an option the record lacks at today's default)."""
    import shlex
    from dataclasses import asdict

    import train
    from toolssm.arguments import NOT_SHAPING, SECTIONS, reproduce_command

    recorded = json.load(open(path))
    argv = shlex.split(reproduce_command(recorded))
    parsed = dict(zip(SECTIONS, (asdict(x) for x in train.parse_args(argv[argv.index("train.py") + 1 :]))))
    fresh = dict(zip(SECTIONS, (asdict(x) for x in train.parse_args([]))))
    for section in SECTIONS:
        for name, value in parsed[section].items():
            if name not in NOT_SHAPING:
                assert value == recorded[section].get(name, fresh[section][name]), (section, name)


def test_reproduce_command_refuses_an_option_train_py_does_not_have():
    from toolssm.arguments import reproduce_command

    args = json.load(open(os.path.join(SHIPPED, "training_args.json")))
    args["data"]["curriculum"] = "ramp"
    with pytest.raises(ValueError, match="curriculum"):
        reproduce_command(args)


@pytest.mark.parametrize("name", sorted(os.listdir(os.path.join(ROOT, "checkpoints"))))
def test_every_shipped_card_prints_the_command_its_training_args_give(name):
    from toolssm.cards import refresh_reproduce_command

    d = os.path.join(ROOT, "checkpoints", name)
    if not_carried(f"checkpoints/{name}") or not os.path.exists(os.path.join(d, "training_args.json")):
        pytest.skip(f"checkpoints/{name} is not in this copy of the repo")
    text = open(os.path.join(d, "README.md")).read()
    assert "## How to reproduce" in text and "accelerate launch --config_file" in text
    assert refresh_reproduce_command(text, json.load(open(os.path.join(d, "training_args.json")))) == text
