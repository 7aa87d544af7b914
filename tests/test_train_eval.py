"""End to end on CPU: build a tiny dataset, train a tiny model, kill and resume it, evaluate it.
Accuracy is not asserted (a few CPU steps learn nothing); every artifact must exist and be well-formed."""

import csv
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

import toolssm
from conftest import python_path
from toolssm.data import BuildSpec, build_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=python_path(), TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1")
# Two processes on the CPU, also on a machine with a GPU: `accelerate launch --multi_gpu` on the one-GPU H200 machine made
# both ranks MULTI_GPU despite ACCELERATE_USE_CPU=1 (accelerate 1.15 there), and rank 1's barrier asked for cuda:1
# (2026-12-02, results/gpu_tests/). Hiding the GPU is what "on CPU" means here.
CPU_TWO_PROCESSES = dict(ENV, ACCELERATE_USE_CPU="1", CUDA_VISIBLE_DEVICES="")


def _free_port() -> str:
    """A port nobody listens on: two-process runs on the default 29500 hung once when it was taken."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def run(args, check=True):
    r = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=600)
    if check and r.returncode != 0:
        raise AssertionError(f"{args} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


COMMON = ["--preset", "mamba-tiny", "--task", "addition", "--batch_size", "4", "--num_workers", "0", "--eval_every", "0",
          "--eval_samples", "2", "--eval_lengths", "2", "--warmup_steps", "1", "--log_every", "1", "--max_steps", "6"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("ds")
    build_config(BuildSpec("addition", "tool", seed=0, train_rows=64, validation_rows=8, test_rows=2, train_max_n=3, test_lengths=[4]), str(out), progress=False)
    return str(out)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, dataset):
    base = tmp_path_factory.mktemp("runs")
    straight, killed = str(base / "straight"), str(base / "killed")
    run(["train.py", *COMMON, "--dataset", dataset, "--output_dir", straight, "--save_every", "3"])
    r = run(["train.py", *COMMON, "--dataset", dataset, "--output_dir", killed, "--save_every", "3", "--stop_after", "4"], check=False)
    assert r.returncode == 3, r.stderr[-2000:]
    r = run(["train.py", *COMMON, "--dataset", dataset, "--output_dir", killed, "--save_every", "3", "--resume"])
    return straight, killed, r


def test_checkpoints_rotate_past_save_total_limit(tmp_path, dataset):
    """The third save removes the oldest step checkpoint (--save_total_limit 2). Until 2026-12-07 the rotation raised
    NameError (a local `import shutil` in one branch of main shadowed the module's), which no run had reached
    (save_every was larger than max_steps): six table1_full runs saving every 500 steps died at step 1,500."""
    out = str(tmp_path / "rot")
    args = [a for a in COMMON if a not in ("--max_steps", "6")]
    run(["train.py", *args, "--max_steps", "5", "--dataset", dataset, "--output_dir", out, "--save_every", "1", "--save_total_limit", "2"])
    # steps 1-4 save a checkpoint each (step 5 is the final save, into the run's folder): the newest two stay
    assert sorted(n for n in os.listdir(out) if n.startswith("checkpoint-")) == ["checkpoint-3", "checkpoint-4"]
    assert os.path.exists(os.path.join(out, "model.safetensors"))


def test_checkpoint_artifacts(runs):
    straight, _, _ = runs
    for f in ["model.safetensors", "config.json", "generation_config.json", "tokenizer.json", "training_args.json", "README.md", "metrics.jsonl"]:
        assert os.path.exists(os.path.join(straight, f)), f
    assert os.path.isdir(os.path.join(straight, "checkpoint-3", "accelerate_state"))
    recs = [json.loads(line) for line in open(os.path.join(straight, "metrics.jsonl"))]
    assert [r["step"] for r in recs if "loss" in r] == [1, 2, 3, 4, 5, 6]
    assert all(r["loss"] > 0 for r in recs if "loss" in r)
    assert any("val_token_accuracy" in r and "val_exact_match_n2" in r for r in recs)
    args = json.load(open(os.path.join(straight, "training_args.json")))
    assert args["train"]["max_steps"] == 6 and args["data"]["dataset"]
    assert os.path.isdir(os.path.join(straight, "tensorboard"))
    (prov,) = json.load(open(os.path.join(straight, "run.json")))["runs"]  # provenance written by the program itself
    assert prov["program"] == "train.py" and "--max_steps" in prov["argv"] and prov["seed"] == 0 and prov["end"]
    assert prov["versions"]["transformers"] and prov["steps_completed"] == 6 and "git_commit" in prov
    m = toolssm.ToolMambaForCausalLM.from_pretrained(straight)
    assert m.tool_spec == {"task": "addition", "config": "tool"} and m.tokenizer is not None
    from transformers import MambaForCausalLM

    MambaForCausalLM.from_pretrained(straight)  # plain transformers loads it too


def test_resume_continues_the_same_run(runs):
    straight, killed, r = runs
    assert "resumed from" in r.stdout + r.stderr
    assert [x["program"] for x in json.load(open(os.path.join(killed, "run.json")))["runs"]] == ["train.py", "train.py"]
    a, b = load_file(os.path.join(straight, "model.safetensors")), load_file(os.path.join(killed, "model.safetensors"))
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)
    steps = [json.loads(line)["step"] for line in open(os.path.join(killed, "metrics.jsonl")) if "loss" in line]
    assert steps == [1, 2, 3, 4, 5, 6]  # rows past the checkpoint were dropped, not written twice


def test_a_run_batched_by_length_resumes_to_the_same_weights(dataset, tmp_path):
    """--group_by_length through train.py: killed after step 3 (inside a window of 2 steps' examples) and resumed, the
    run ends with the weights of the run never stopped; the option is recorded, so a resume without it is refused."""
    args = [*COMMON, "--dataset", dataset, "--group_by_length", "2", "--save_every", "3"]
    straight, killed = str(tmp_path / "straight"), str(tmp_path / "killed")
    run(["train.py", *args, "--output_dir", straight])
    assert run(["train.py", *args, "--output_dir", killed, "--stop_after", "3"], check=False).returncode == 3
    r = run(["train.py", *COMMON, "--dataset", dataset, "--save_every", "3", "--output_dir", killed, "--resume"], check=False)
    assert r.returncode != 0 and "data.group_by_length: 2 -> 0" in r.stderr
    run(["train.py", *args, "--output_dir", killed, "--resume"])
    a, b = load_file(os.path.join(straight, "model.safetensors")), load_file(os.path.join(killed, "model.safetensors"))
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)
    assert json.load(open(os.path.join(straight, "training_args.json")))["data"]["group_by_length"] == 2


def test_resume_refuses_another_run(runs, dataset):
    _, killed, _ = runs
    args = [a if a != "4" else "8" for a in COMMON]  # --batch_size 4 -> 8
    r = run(["train.py", *args, "--dataset", dataset, "--output_dir", killed, "--resume", "--learning_rate", "0.01"], check=False)
    assert r.returncode != 0
    err = r.stderr.strip().splitlines()[-1]
    assert "belongs to another run" in err and "train.batch_size: 4 -> 8" in err and "Traceback" not in r.stderr


def test_a_folder_holding_a_run_is_never_trained_over_by_accident(runs, dataset, tmp_path):
    """train.py into a folder that holds a run: refused without --resume (the run's weights untouched); with --resume and
    no step checkpoint, a finished run is left alone ('nothing to do'), another run's arguments are refused; only
    --overwrite_output_dir replaces it (2026-12-05: both first cases silently trained a new run over the old one)."""
    import shutil

    straight = str(tmp_path / "straight")  # a copy: the other tests compare with the module's run
    shutil.copytree(runs[0], straight)
    before = open(os.path.join(straight, "model.safetensors"), "rb").read()
    r = run(["train.py", *COMMON, "--dataset", dataset, "--output_dir", straight, "--learning_rate", "0.01"], check=False)
    assert r.returncode != 0 and "holds a run (training_args.json, model.safetensors" in r.stderr and "--resume" in r.stderr
    assert "Traceback" not in r.stderr and open(os.path.join(straight, "model.safetensors"), "rb").read() == before
    out = str(tmp_path / "finished")  # a finished run without step checkpoints
    run(["train.py", *COMMON, "--dataset", dataset, "--output_dir", out, "--save_every", "100"])
    weights = open(os.path.join(out, "model.safetensors"), "rb").read()
    r = run(["train.py", *COMMON, "--dataset", dataset, "--output_dir", out, "--save_every", "100", "--resume"])
    assert "nothing to do" in r.stdout and open(os.path.join(out, "model.safetensors"), "rb").read() == weights
    r = run(["train.py", *COMMON, "--dataset", dataset, "--output_dir", out, "--save_every", "100", "--resume", "--seed", "5"], check=False)
    assert r.returncode != 0 and "holds another run (train.seed: 0 -> 5)" in r.stderr
    r = run(["train.py", *COMMON, "--dataset", dataset, "--output_dir", out, "--resume", "--overwrite_output_dir"], check=False)
    assert r.returncode != 0 and "contradict" in r.stderr
    run(["train.py", *COMMON, "--dataset", dataset, "--output_dir", straight, "--overwrite_output_dir", "--seed", "5", "--save_every", "100"])
    assert not [d for d in os.listdir(straight) if d.startswith("checkpoint-")]  # the old run's step checkpoints went with it
    steps = [json.loads(line)["step"] for line in open(os.path.join(straight, "metrics.jsonl")) if "loss" in line]
    assert steps == [1, 2, 3, 4, 5, 6] and open(os.path.join(straight, "model.safetensors"), "rb").read() != before


@pytest.mark.parametrize("damage", ["model.safetensors", "accelerate_state/random_states_0.pkl"])
def test_resume_falls_back_past_a_damaged_checkpoint(runs, dataset, tmp_path, damage):
    """A corrupt newest checkpoint (weights, or a truncated RNG state that Accelerate alone would ignore): the resume
    takes the one before it and ends bit-identical to the uninterrupted run."""
    straight, _, _ = runs
    out = str(tmp_path / "run")
    r = run(["train.py", *COMMON, "--dataset", dataset, "--output_dir", out, "--save_every", "3", "--stop_after", "4"], check=False)
    assert r.returncode == 3
    path = os.path.join(out, "checkpoint-4", damage)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    r = run(["train.py", *COMMON, "--dataset", dataset, "--output_dir", out, "--save_every", "3", "--resume"])
    assert f"skipping {os.path.join(out, 'checkpoint-4')}" in r.stdout and "resumed from" in r.stdout and "checkpoint-3 at step 3" in r.stdout
    a, b = load_file(os.path.join(straight, "model.safetensors")), load_file(os.path.join(out, "model.safetensors"))
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)


def test_eval_writes_json_csv_plot_and_card(runs, tmp_path):
    straight, killed, _ = runs
    out = str(tmp_path / "ev")
    before = open(os.path.join(killed, "README.md")).read()
    run(["eval.py", "--model", straight, "--lengths", "2", "--num-samples", "1", "--out", str(tmp_path / "no_card")])
    assert "| 2 |" not in open(os.path.join(straight, "README.md")).read()  # without --card the checkpoint is left alone
    run(["eval.py", "--model", straight, killed, "--labels", "a,b", "--lengths", "2,4", "--num-samples", "3", "--batch-size", "2", "--out", out, "--card"])
    assert open(os.path.join(killed, "README.md")).read() != before
    res = json.load(open(os.path.join(out, "results.json")))
    assert [r["label"] for r in res] == ["a", "b"]
    for r in res:
        assert r["task"] == "addition" and r["architecture"] == "ToolMambaForCausalLM" and r["training_seed"] == 0
        for L, n in zip(r["lengths"], [2, 4]):
            assert L["n"] == n and L["num_samples"] == 3
            for key in ("exact_match", "answer_accuracy", "token_accuracy"):
                lo, hi = L[f"{key}_ci"]
                assert 0 <= lo <= L[key] <= hi <= 1
    rows = list(csv.DictReader(open(os.path.join(out, "results.csv"))))
    assert len(rows) == 4
    assert json.load(open(os.path.join(out, "run.json")))["runs"][-1]["program"] == "eval.py"
    assert os.path.getsize(os.path.join(out, "accuracy_vs_length.png")) > 1000
    card = open(os.path.join(straight, "README.md")).read()
    assert "| 4 |" in card and "Not evaluated yet" not in card and "toolssm/addition" in card
    # the reference decoding path (model forward + cache) scores the same items identically
    out2 = str(tmp_path / "ev_cache")
    run(["eval.py", "--model", straight, "--lengths", "2,4", "--num-samples", "3", "--batch-size", "2", "--decode", "cache", "--no-card", "--out", out2])
    res2 = json.load(open(os.path.join(out2, "results.json")))
    assert res2["decode"] == "cache" and res[0]["decode"] == "auto"
    for a, b in zip(res[0]["lengths"], res2["lengths"]):
        assert (a["exact_match"], a["answer_accuracy"], a["tokens_per_sample"]) == (b["exact_match"], b["answer_accuracy"], b["tokens_per_sample"])


def test_unknown_option_and_config_file(tmp_path):
    r = run(["train.py", "--no_such_option", "1"], check=False)
    assert r.returncode != 0 and "no_such_option" in r.stderr
    cfg = tmp_path / "c.yaml"
    cfg.write_text("preset: mamba-tiny\nmax_steps: 1\nbatch_size: 2\nnum_workers: 0\neval_every: 0\neval_samples: 1\n"
                   f"eval_lengths: '2'\nreport_to: none\noutput_dir: {tmp_path / 'o'}\n")
    run(["train.py", str(cfg)])
    assert os.path.exists(tmp_path / "o" / "model.safetensors")
    bad = tmp_path / "bad.yaml"
    bad.write_text("preset: mamba-tiny\nmax_stepz: 1\n")
    assert run(["train.py", str(bad)], check=False).returncode != 0


def test_lora_adapts_a_checkpoint_to_another_task(runs, tmp_path):
    straight, _, _ = runs
    out = str(tmp_path / "lora")
    run(["train.py", "--init_from", straight, "--lora", "--task", "multiplication", "--config", "n_x_1", "--train_max_n", "3",
         "--max_steps", "2", "--batch_size", "2", "--num_workers", "0", "--eval_every", "0", "--eval_samples", "1",
         "--eval_lengths", "2", "--report_to", "none", "--output_dir", out])
    assert os.path.exists(os.path.join(out, "adapter", "adapter_config.json"))
    m = toolssm.ToolMambaForCausalLM.from_pretrained(out)
    assert m.tool_spec["task"] == "multiplication"
    card = open(os.path.join(out, "README.md")).read()
    assert "adapted with LoRA" in card and "trained from scratch" not in card and f"base_model: {straight}" in card
    assert "More Information Needed" not in open(os.path.join(out, "adapter", "README.md")).read()
    # the card's parameter count is the merged model's, not base + adapters; the adapters are counted apart
    args = json.load(open(os.path.join(out, "training_args.json")))
    assert args["n_params"] == sum(p.numel() for p in m.parameters()) and 0 < args["n_trainable_params"] < args["n_params"]
    assert f"{args['n_params'] / 1e6:.2f}M parameters" in card


def test_two_processes_on_cpu(tmp_path):
    out = str(tmp_path / "ddp")
    r = subprocess.run(["accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--main_process_port", _free_port(), "--mixed_precision", "no",
                        "--dynamo_backend", "no", "train.py", *COMMON, "--max_steps", "6", "--warmup_steps", "3", "--report_to", "none",
                        "--output_dir", out], capture_output=True, text=True, cwd=ROOT, env=CPU_TWO_PROCESSES, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "processes: 2" in r.stdout + r.stderr
    assert os.path.exists(os.path.join(out, "model.safetensors"))
    # the warm-up lasts --warmup_steps optimizer steps whatever the process count (it once peaked at half of it)
    lr = {rec["step"]: rec["lr"] for rec in map(json.loads, open(os.path.join(out, "metrics.jsonl"))) if "lr" in rec}
    assert lr[1] < lr[2] < lr[3] and max(lr.values()) == lr[3], lr


def test_exact_match_metric_module_loads_offline():
    import evaluate

    em = evaluate.load(os.path.join(ROOT, "metrics", "trajectory_exact_match"))
    assert em.compute(predictions=[[1, 2], [3]], references=[[1, 2], [4]])["exact_match"] == 0.5
    assert em.compute(predictions=["ab"], references=["ab"])["exact_match"] == 1.0


def test_mixture_and_step_dataset_are_deterministic_and_weighted():
    from toolssm.training import Mixture, StepDataset, TaskSource

    main = TaskSource("multiplication", "n_x_2", 4, seed=0)
    aux = TaskSource("addition", "tool", 3, seed=1)
    mix = Mixture([main, aux], [2.0, 1.0], seed=0)
    picks = [mix[i]["input_ids"] == main[i]["input_ids"] for i in range(300)]
    assert 0.55 < sum(picks) / len(picks) < 0.8  # ~2/3 from the main task
    assert [mix[i]["input_ids"] for i in range(20)] == [Mixture([main, aux], [2.0, 1.0], seed=0)[i]["input_ids"] for i in range(20)]
    # two processes see disjoint halves of each global batch; a resumed stream continues the same order
    r0, r1 = StepDataset(aux, 0, 4, 0, 2, None), StepDataset(aux, 0, 4, 1, 2, None)
    later = StepDataset(aux, 1, 4, 0, 2, None)
    assert r0[4]["input_ids"] == later[0]["input_ids"] and r0[0]["input_ids"] != r1[0]["input_ids"]
    with pytest.raises(ValueError):
        Mixture([main], [0.0], seed=0)


def test_group_by_length_batches_the_same_examples_by_length_and_resumes_exactly():
    """--group_by_length W: the examples of W steps, every process's share, re-batched by length. The same multiset of
    examples as without it (no item lost or repeated), each process a disjoint slice of its step's batch, a resumed
    stream (start_step inside a window) the same rows, and fewer padded tokens: on recursive Hanoi (lengths ~10x apart)
    by more than 2x."""
    from toolssm.training import StepDataset, TaskSource

    src = TaskSource("hanoi", "recursive", 7, seed=0)
    W, B, world, steps = 4, 4, 2, 8  # 8 steps: two windows

    def rows(ds, n_steps):  # [step][position] -> input_ids, as the DataLoader asks (k = step * B + position)
        return [[tuple(ds[s * B + j]["input_ids"]) for j in range(B)] for s in range(n_steps)]

    plain = [rows(StepDataset(src, 0, B, r, world, None), steps) for r in range(world)]
    grouped = [rows(StepDataset(src, 0, B, r, world, None, group_by_length=W), steps) for r in range(world)]
    flat = lambda per_rank, lo, hi: sorted(x for r in per_rank for s in range(lo, hi) for x in r[s])  # noqa: E731
    for lo in (0, W):  # per window: the same examples
        assert flat(grouped, lo, lo + W) == flat(plain, lo, lo + W)
    assert grouped != plain
    for s in range(steps):  # a step's global batch: the ranks' slices are disjoint and of like length
        batch = grouped[0][s] + grouped[1][s]
        assert len(set(batch)) == len(batch) == B * world
    later = StepDataset(src, 5, B, 1, world, None, group_by_length=W)  # resumed at step 5, inside the second window
    assert rows(later, 3) == grouped[1][5:8]
    # padding: each step pads its batch to its longest row
    padded = lambda per_rank: sum(max(len(x) for r in per_rank for x in r[s]) * B * world for s in range(steps))  # noqa: E731
    assert padded(plain) > 2 * padded(grouped)
    assert StepDataset(src, 0, B, 0, 1, None, group_by_length=1)[3]["input_ids"] == StepDataset(src, 0, B, 0, 1, None)[3]["input_ids"]
    # the loss weights: a step's share of its window's label tokens, times W (so every token of a window weighs the same)
    ds = StepDataset(src, 0, B, 0, 1, None, group_by_length=W)
    scored = [sum(sum(1 for t in ds[s * B + j]["labels"] if t != -100) for j in range(B)) for s in range(W)]
    weights = [ds[s * B]["loss_weight"] for s in range(W)]
    assert all(ds[s * B + j]["loss_weight"] == weights[s] for s in range(W) for j in range(B))
    assert sum(weights) == pytest.approx(W) and weights == pytest.approx([W * k / sum(scored) for k in scored])
    assert max(weights) > 2 * min(weights)  # batches of short and of long problems
    from toolssm.trajectory import collate

    assert float(collate([ds[j] for j in range(B)])["loss_weight"]) == pytest.approx(weights[0])
    assert "loss_weight" not in collate([StepDataset(src, 0, B, 0, 1, None)[j] for j in range(B)])


def test_loss_tokens_digits_keeps_only_the_digit_labels_and_weighs_windows_by_them():
    """--loss_tokens digits (a copy curriculum's first stage): the same inputs, labels only on trained digit tokens (on
    the logical graph: the copied names); with --group_by_length the window's loss weights count those labels."""
    from toolssm import vocab as V
    from toolssm.training import StepDataset, TaskSource

    src = TaskSource("logical_graph", "default", 10, seed=0)
    full, digits = StepDataset(src, 0, 4, 0, 1, None), StepDataset(src, 0, 4, 0, 1, None, loss_tokens="digits")
    for k in range(8):
        a, b = full[k], digits[k]
        assert a["input_ids"] == b["input_ids"]
        kept = [i for i, t in enumerate(b["labels"]) if t != -100]
        assert kept == [i for i, t in enumerate(a["labels"]) if t != -100 and V.VOCAB[t].isdigit()]
        assert kept and all(b["labels"][i] == a["labels"][i] for i in kept)
        text = "".join(V.VOCAB[t] if t != -100 else " " for t in a["labels"])
        assert len(kept) == 4 * len(re.findall(r"v\d{4}", text))  # every written name's four digits, nothing else
    grouped = StepDataset(src, 0, 4, 0, 1, None, group_by_length=2, loss_tokens="digits")
    scored = [sum(sum(1 for t in grouped[s * 4 + j]["labels"] if t != -100) for j in range(4)) for s in range(2)]
    assert [grouped[s * 4]["loss_weight"] for s in range(2)] == pytest.approx([2 * k / sum(scored) for k in scored])
    with pytest.raises(ValueError, match="loss_tokens"):
        StepDataset(src, 0, 4, 0, 1, None, loss_tokens="names")


def test_loss_tokens_with_nothing_to_learn_stops_before_the_first_step(tmp_path, monkeypatch):
    """A --loss_tokens kind the task's trained tokens never hold would make every step's loss empty (NaN): refused."""
    import importlib.util

    import toolssm.training

    spec = importlib.util.spec_from_file_location("toolssm_train_script", os.path.join(ROOT, "train.py"))
    train = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    monkeypatch.setitem(toolssm.training.LOSS_TOKENS, "digits", frozenset({-5}))  # no token id: nothing kept
    with pytest.raises(SystemExit, match="loss_tokens digits.*nothing to learn"):
        train.main(["--task", "addition", "--preset", "lstm-tiny", "--max_steps", "1", "--batch_size", "2", "--num_workers", "0",
                    "--eval_every", "0", "--report_to", "none", "--loss_tokens", "digits", "--output_dir", str(tmp_path / "run")])
    assert not os.path.exists(tmp_path / "run" / "model.safetensors")


def test_mixture_option_sets_the_auxiliary_size_and_rejects_bad_entries():
    import importlib.util

    spec = importlib.util.spec_from_file_location("toolssm_train_script", os.path.join(ROOT, "train.py"))
    train = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # dataclasses look their module up
    spec.loader.exec_module(train)
    DataArguments = train.DataArguments

    src = train.build_source(DataArguments(task="multiplication", config="n_x_2", train_max_n=20, mixture="addition:tool:1.5:20"))
    assert [s.train_max_n for s in src.sources] == [20, 20] and src.weights == pytest.approx([0.4, 0.6])
    src = train.build_source(DataArguments(task="multiplication", config="n_x_2", train_max_n=20, mixture="addition:tool:0.5"))
    assert src.sources[1].train_max_n == 5  # the task's own training maximum
    for bad in ("addition:tool", "addition:tool:x", "addition:tool:1:20:3", "addition:tool:1:big"):
        with pytest.raises(ValueError, match="task:config:weight"):
            train.build_source(DataArguments(task="multiplication", config="n_x_2", train_max_n=20, mixture=bad))


def test_stress_fraction_mixes_verified_stress_problems_into_generated_training_data():
    """--stress_fraction p: about that share of the generated items are stress problems (runs of 9s, unequal operands...)
    at training sizes, each a pure function of (seed, index), replaying against its tool; the rest are exactly the items
    of the plain stream. Refused with --dataset, outside [0, 1], and for a task without stress classes."""
    import importlib.util

    from toolssm.training import TaskSource

    plain = TaskSource("multiplication", "n_x_2_aligned", 6, seed=3)
    mixed = TaskSource("multiplication", "n_x_2_aligned", 6, seed=3, stress_fraction=0.3)
    items = [mixed.item(i) for i in range(300)]
    stress = [it for it in items if "stress" in it.problem]
    assert 0.2 < len(stress) / len(items) < 0.4
    for i, it in enumerate(items):  # the rest: the very items of the plain stream
        if "stress" not in it.problem:
            assert mixed[i]["input_ids"] == plain[i]["input_ids"]
    assert [mixed[i]["input_ids"] for i in range(40)] == [TaskSource("multiplication", "n_x_2_aligned", 6, 3, stress_fraction=0.3)[i]["input_ids"]
                                                         for i in range(40)]
    for it in stress:  # each within the training sizes, replaying against its tool with the right answer (Python's)
        assert 1 <= it.n <= 6 and mixed.task.verify(it) is None and it.answer == str(it.problem["a"] * it.problem["b"])
    # every class drawn, among them what a plain draw almost never makes: a multiplicand of all 9s, 0-runs
    assert {it.problem["stress"] for it in stress} == set(mixed.task.stress_classes)
    assert any(set(str(it.problem["a"])) == {"9"} and it.n >= 3 for it in stress)
    longer = TaskSource("multiplication", "n_x_2_aligned", 6, seed=3, stress_fraction=0.3, stress_max_n=30)
    sizes = [longer.item(i).n for i in range(300) if "stress" in longer.item(i).problem]
    assert max(sizes) > 6 and max(sizes) <= 30 and all(longer.item(i).n <= 6 for i in range(300) if "stress" not in longer.item(i).problem)
    with pytest.raises(ValueError, match="needs stress_fraction"):
        TaskSource("addition", "tool", 5, 0, stress_max_n=20)
    with pytest.raises(ValueError, match="stress_fraction must be in"):
        TaskSource("addition", "tool", 5, 0, stress_fraction=1.5)
    with pytest.raises(ValueError, match="no stress classes"):
        TaskSource("code_fixing", "interactive", None, 0, stress_fraction=0.2)
    spec = importlib.util.spec_from_file_location("toolssm_train_script", os.path.join(ROOT, "train.py"))
    train = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    with pytest.raises(ValueError, match="with --dataset, build the dataset"):
        train.build_source(train.DataArguments(dataset="somewhere", stress_fraction=0.2))
    from toolssm.training import RUN_DEFINING_ARGS

    assert "stress_fraction" in RUN_DEFINING_ARGS["data"]  # a resume that changes it is refused


def test_stress_family_runs_trains_long_runs_of_one_digit():
    """--stress_family runs: the stress items come from the runs classes (long runs of one digit), replaying with
    Python's answers; 'stress,runs' draws from both; the default stream is the stress one, unchanged by the option;
    refused without --stress_fraction or for a task without runs classes."""
    from toolssm.training import RUN_DEFINING_ARGS, TaskSource

    task_kw = ("multiplication", "n_x_2_aligned", 6)
    runs = TaskSource(*task_kw, seed=3, stress_fraction=0.3, stress_max_n=40, stress_family="runs")
    both = TaskSource(*task_kw, seed=3, stress_fraction=0.3, stress_max_n=40, stress_family="stress,runs")
    default = TaskSource(*task_kw, seed=3, stress_fraction=0.3, stress_max_n=40)
    same = TaskSource(*task_kw, seed=3, stress_fraction=0.3, stress_max_n=40, stress_family="stress")
    items = [runs.item(i) for i in range(300)]
    drawn = [it for it in items if "stress" in it.problem]
    assert {it.problem["stress"] for it in drawn} == set(runs.task.runs_classes)
    for it in drawn:
        assert runs.task.verify(it) is None and it.answer == str(it.problem["a"] * it.problem["b"])
    assert any(it.n >= 20 and "0" * (it.n // 2) in str(it.problem["a"]) for it in drawn)  # a zero run of half the number
    mixed = {both.item(i).problem.get("stress") for i in range(300)} - {None}
    assert mixed & set(both.task.runs_classes) and mixed & set(both.task.stress_classes)
    assert [default[i]["input_ids"] for i in range(60)] == [same[i]["input_ids"] for i in range(60)]
    with pytest.raises(ValueError, match="needs stress_fraction"):
        TaskSource("addition", "tool", 5, 0, stress_family="runs")
    with pytest.raises(ValueError, match="has no 'runs' classes"):
        TaskSource("hanoi", "recursive", None, 0, stress_fraction=0.2, stress_family="runs")
    assert TaskSource("code_fixing", "single_turn", None, 0).item(0).n >= 1  # no stress classes: the default trains plain
    assert "stress_family" in RUN_DEFINING_ARGS["data"]


def test_eval_shards_samples_over_two_processes(tmp_path):
    out = str(tmp_path / "ev2")
    r = subprocess.run(["accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--main_process_port", _free_port(), "--mixed_precision", "no",
                        "--dynamo_backend", "no", "eval.py", "--model", os.path.join(ROOT, "checkpoints", "addition-lstm-small"),
                        "--lengths", "5,12", "--num-samples", "5", "--batch-size", "3", "--no-card", "--out", out],
                       capture_output=True, text=True, cwd=ROOT, env=CPU_TWO_PROCESSES, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    import json as _json

    res = _json.load(open(os.path.join(out, "results.json")))
    assert res["num_processes"] == 2
    assert [L["num_samples"] for L in res["lengths"]] == [5, 5]  # 3 + 2 samples gathered from the two ranks


def test_eval_keeps_finished_lengths_when_it_dies(runs, tmp_path, monkeypatch):
    """results.json/csv are rewritten after every length: a timeout or crash at a long length keeps the short ones."""
    import importlib.util

    import toolssm.evaluation as E

    spec = importlib.util.spec_from_file_location("toolssm_eval_script", os.path.join(ROOT, "eval.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    real, calls = E.evaluate_items, []

    def dies_on_second_length(*a, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("simulated crash at the second length")
        return real(*a, **kw)

    monkeypatch.setattr(E, "evaluate_items", dies_on_second_length)
    out = str(tmp_path / "ev")
    with pytest.raises(RuntimeError, match="simulated"):
        mod.main(["--model", runs[0], "--lengths", "2,4", "--num-samples", "2", "--batch-size", "2", "--out", out, "--no-card", "--device", "cpu"])
    res = json.load(open(os.path.join(out, "results.json")))
    assert res["complete"] is False and [L["n"] for L in res["lengths"]] == [2]
    assert len(list(csv.DictReader(open(os.path.join(out, "results.csv"))))) == 1


def test_train_rejects_bad_eval_lengths_before_training(tmp_path):
    r = run(["train.py", "--preset", "mamba-tiny", "--task", "logical_graph", "--eval_lengths", "3", "--max_steps", "1",
             "--num_workers", "0", "--output_dir", str(tmp_path / "r")], check=False)
    assert r.returncode != 0 and "--eval_lengths" in r.stderr and "4..9000" in r.stderr
    assert not os.path.exists(tmp_path / "r" / "metrics.jsonl")


def _snapshot(folder):
    import hashlib

    out = {}
    for base, _, files in os.walk(folder):
        for f in files:
            p = os.path.join(base, f)
            out[os.path.relpath(p, folder)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return out


def test_eval_never_writes_into_a_checkpoint_folder_unless_asked(tmp_path):
    """A shipped checkpoint's files (card, plot, results) stay as they are, after a good and a refused evaluation; the
    results go to eval_results/<checkpoint>/<split> under the current folder."""
    ckpt = os.path.join(ROOT, "checkpoints", "addition-lstm-small")
    before = _snapshot(ckpt)
    r = subprocess.run([sys.executable, os.path.join(ROOT, "eval.py"), "--model", ckpt, "--lengths", "0", "--num-samples", "1"],
                       capture_output=True, text=True, cwd=tmp_path, env=ENV, timeout=600)
    assert r.returncode != 0 and "got 0" in r.stderr
    r = subprocess.run([sys.executable, os.path.join(ROOT, "eval.py"), "--model", ckpt, "--lengths", "3", "--num-samples", "1",
                        "--no-token-accuracy"], capture_output=True, text=True, cwd=tmp_path, env=ENV, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert _snapshot(ckpt) == before
    res = json.load(open(tmp_path / "eval_results" / "addition-lstm-small" / "test" / "results.json"))
    assert res["lengths"][0]["n"] == 3 and res["provenance"]["program"] == "eval.py" and res["provenance"]["end"]


def test_eval_never_replaces_an_earlier_evaluation_by_accident(tmp_path):
    """A second evaluation into a folder holding finished results is refused (the results untouched) unless
    --overwrite; a partial results.json that an interrupted evaluation left is replaced."""
    ckpt = os.path.join(ROOT, "checkpoints", "addition-lstm-small")
    out = str(tmp_path / "ev")
    cmd = ["eval.py", "--model", ckpt, "--lengths", "3", "--num-samples", "1", "--no-token-accuracy", "--out", out]
    run(cmd)
    first = open(os.path.join(out, "results.json")).read()
    r = run(cmd[:4] + ["4"] + cmd[5:], check=False)
    assert r.returncode != 0 and "holds an earlier evaluation's results" in r.stderr and "[3]" in r.stderr and "--overwrite" in r.stderr
    assert open(os.path.join(out, "results.json")).read() == first
    run(cmd[:4] + ["4"] + cmd[5:] + ["--overwrite"])
    assert [L["n"] for L in json.load(open(os.path.join(out, "results.json")))["lengths"]] == [4]
    partial = json.load(open(os.path.join(out, "results.json")))
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(dict(partial, complete=False), f)
    run(cmd)  # what an interrupted evaluation left is not a result to keep
    assert [L["n"] for L in json.load(open(os.path.join(out, "results.json")))["lengths"]] == [3]


def test_the_readme_launch_line_warns_about_nothing(tmp_path):
    """`accelerate launch --config_file configs/accelerate/one_process.yaml train.py ...` (the README's line) runs one
    process without accelerate's 'values were not passed ... defaults used instead' warning."""
    r = subprocess.run(["accelerate", "launch", "--config_file", os.path.join(ROOT, "configs", "accelerate", "one_process.yaml"),
                        "train.py", *COMMON, "--max_steps", "2", "--report_to", "none", "--output_dir", str(tmp_path / "one")],
                       capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "processes: 1" in r.stdout + r.stderr
    assert "defaults used instead" not in r.stderr and "were not passed" not in r.stderr


def _eval_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("toolssm_eval_script", os.path.join(ROOT, "eval.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_eval_decodes_two_splits_in_one_loop_as_two_runs_would(tmp_path):
    """`--split test,stress` decodes both splits' problems in shared batches and writes each split's folder ('{split}'
    in --out); every per-sample figure equals the split evaluated alone. The checkpoint is exact at 12 digits, so a
    mix-up of rows between the splits (a wrong reference) would show as failures."""
    mod = _eval_script()
    ckpt = os.path.join(ROOT, "checkpoints", "addition-lstm-small")
    common = ["--model", ckpt, "--lengths", "3,12", "--num-samples", "8", "--no-token-accuracy", "--device", "cpu"]
    mod.main([*common, "--split", "test,stress", "--batch-size", "6", "--out", str(tmp_path / "both" / "{split}-x")])
    for sp in ("test", "stress"):
        mod.main([*common, "--split", sp, "--batch-size", "8", "--out", str(tmp_path / "alone" / sp)])
        both = json.load(open(tmp_path / "both" / f"{sp}-x" / "results.json"))
        alone = json.load(open(tmp_path / "alone" / sp / "results.json"))
        assert both["split"] == sp and both["decoded_with"] == ["test", "stress"] and "decoded_with" not in alone
        keys = ("n", "num_samples", "exact_match", "answer_accuracy", "tokens_per_sample", "finished", "by_class")
        assert [{k: L.get(k) for k in keys} for L in both["lengths"]] == [{k: L.get(k) for k in keys} for L in alone["lengths"]]
        assert [L["exact_match"] for L in both["lengths"]] == [1.0, 1.0]
        assert os.path.exists(tmp_path / "both" / f"{sp}-x" / "run.json")


def test_eval_two_splits_without_a_pattern_write_one_folder_each(tmp_path):
    mod = _eval_script()
    ckpt = os.path.join(ROOT, "checkpoints", "addition-lstm-small")
    mod.main(["--model", ckpt, "--lengths", "4", "--num-samples", "2", "--no-token-accuracy", "--device", "cpu",
              "--split", "stress,test", "--out", str(tmp_path / "o")])
    assert sorted(os.listdir(tmp_path / "o")) == ["stress", "test"]
    assert json.load(open(tmp_path / "o" / "stress" / "results.json"))["lengths"][0]["by_class"]


def test_eval_card_files_each_stress_family_in_its_own_section(tmp_path):
    """--split stress,runs --card writes each family's section and model-index rows and leaves the card's test
    results (its table and model-index rows) as they were (before 2026-12-06 a stress evaluation with --card was
    written over the test table as if it were the test split); the runs classes are the runs split's."""
    import yaml

    from toolssm.tasks import get_task

    mod = _eval_script()
    ckpt = shutil.copytree(os.path.join(ROOT, "checkpoints", "addition-lstm-small"), tmp_path / "ck")
    before = open(ckpt / "README.md").read()
    mod.main(["--model", str(ckpt), "--lengths", "12", "--num-samples", "10", "--no-token-accuracy", "--device", "cpu",
              "--split", "stress,runs", "--out", str(tmp_path / "o"), "--card"])
    runs = json.load(open(tmp_path / "o" / "runs" / "results.json"))
    assert set(runs["lengths"][0]["by_class"]) == set(get_task("addition").runs_classes)
    text = open(ckpt / "README.md").read()
    assert "<!-- runs:start -->" in text and "## Runs split: long runs of one digit" in text and "<!-- stress:start -->" in text
    split_of = lambda t: [r["dataset"]["split"] for r in yaml.safe_load(t.split("---")[1])["model-index"][0]["results"]]  # noqa: E731
    assert [s for s in split_of(text) if s.startswith("test_")] == [s for s in split_of(before) if s.startswith("test_")]
    assert "runs_12" in split_of(text) and "stress_12" in split_of(text)
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    if start in before:
        assert text.split(start)[1].split(end)[0] == before.split(start)[1].split(end)[0]


@pytest.mark.parametrize("bad", ["train", "test,test", "test,", "stress;test", "runs,runs"])
def test_eval_refuses_a_bad_split_list(bad):
    r = run(["eval.py", "--model", os.path.join(ROOT, "checkpoints", "addition-lstm-small"), "--split", bad], check=False)
    assert r.returncode == 2 and "--split" in r.stderr and repr(bad) in r.stderr


def test_hide_input_trains_and_evaluates_a_checkpoint_that_runs_that_way(tmp_path, dataset):
    """train.py --hide_input, on the fly and from a built dataset of whole prompts: the model is trained on '=' and the
    trace (the input lives in the tool), the checkpoint records it, and eval.py runs it that way unless told
    --no-hide-input; a task whose tool cannot hold the input is refused before training."""
    from toolssm import vocab as V
    from toolssm.training import DatasetSource, TaskSource

    eq = V.TOKEN_TO_ID["="]
    assert TaskSource("addition", "lockstep", 3, 0, hide_input=True)[5]["input_ids"][0] == eq
    src = DatasetSource(dataset, "tool", "train", 0, hide_input=True)
    assert src[0]["input_ids"][0] == eq and DatasetSource(dataset, "tool", "train", 0)[0]["input_ids"][0] != eq
    for name, extra in (("fly", []), ("ds", ["--dataset", dataset])):
        out = str(tmp_path / name)
        r = run(["train.py", *COMMON, *extra, "--hide_input", "--output_dir", out])
        assert "(input hidden)" in r.stdout + r.stderr
        with open(os.path.join(out, "generation_config.json")) as f:
            assert json.load(f)["toolssm"] == {"task": "addition", "config": "tool", "hide_input": True}
    out = str(tmp_path / "fly")
    for flag, hidden in (([], True), (["--no-hide-input"], False)):
        run(["eval.py", "--model", out, "--lengths", "3", "--num-samples", "2", "--no-token-accuracy", "--out", str(tmp_path / f"ev{hidden}"), *flag])
        with open(tmp_path / f"ev{hidden}" / "results.json") as f:
            assert json.load(f)["hide_input"] is hidden
    r = run(["train.py", "--preset", "mamba-tiny", "--task", "logical_graph", "--hide_input", "--max_steps", "1", "--num_workers", "0",
             "--output_dir", str(tmp_path / "graph")], check=False)
    assert r.returncode != 0 and "only a pointer-memory tool can hold the input" in r.stderr
