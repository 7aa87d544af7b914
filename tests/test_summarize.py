"""Every results table in the README and in results/ is what scripts/summarize.py builds from the filed results.json."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import summarize  # noqa: E402
import pytest  # noqa: E402
from conftest import not_carried, python_path  # noqa: E402

# the GPU machine's copy may leave results/ behind (scripts/gpu/slim.sh: the 64 MiB transfer cap)
needs_results = pytest.mark.skipif(not os.path.isdir(os.path.join(ROOT, "results")) or not_carried("results"), reason="results/ is not in this copy of the repo")


@pytest.mark.needs_checkpoints  # demo.py / the README's tables read every shipped checkpoint
@needs_results
def test_readme_and_results_tables_equal_the_summarizer_output():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "summarize.py"), "--check"], capture_output=True, text=True,
                       cwd=ROOT, env=dict(os.environ, PYTHONPATH=python_path()))
    assert r.returncode == 0, r.stdout + r.stderr
    readme = open(os.path.join(ROOT, "README.md")).read()
    for name in summarize.README_TABLES:  # every generated table has its place in the README
        assert f"<!-- summarize:{name} -->\n|" in readme, name


def test_merge_takes_the_evaluation_with_most_problems_and_keeps_checkpoints_apart():
    row = lambda n, em, k, **kw: dict(n=n, exact_match=em, num_samples=k, exact_match_ci=[0, 1], **kw)  # noqa: E731
    run = {"evals": {
        "gpu": {"split": "test", "lengths": [row(10, 1.0, 16), row(100, 0.5, 16)]},
        "cpu": {"split": "test", "lengths": [row(100, 0.75, 32)]},
        "log": {"split": "test", "lengths": [row(100, 0.0, 32, source="console log"), row(1000, 0.0, 8, source="console log")]},
        "stress": {"split": "stress", "lengths": [row(100, 0.25, 8)]},
        "checkpoint-250": {"split": "test", "lengths": [row(10, 0.0, 64)]},
    }}
    m = summarize.merged(run)
    assert {n: (r["exact_match"], r["num_samples"]) for n, r in m.items()} == {10: (1.0, 16), 100: (0.75, 32), 1000: (0.0, 8)}
    assert summarize.merged(run, "stress")[100]["exact_match"] == 0.25
    assert summarize.merged(run, checkpoint="checkpoint-250")[10]["num_samples"] == 64


def test_merge_never_mixes_input_modes_per_size():
    """A run trained with the input shown and also evaluated hidden (eval.py --hide-input) has two sets of results:
    merged() keeps the trained mode unless asked for the other, even where the other has more problems (the
    n x n Mamba seed 0: 128 hidden problems at 20 digits beside 16 shown ones)."""
    row = lambda n, em, k: dict(n=n, exact_match=em, num_samples=k, exact_match_ci=[0, 1])  # noqa: E731
    run = {"training": {"hide_input": False}, "evals": {
        "shown": {"split": "stress", "hide_input": False, "lengths": [row(20, 0.5, 16)]},
        "hidden-cpu": {"split": "stress", "hide_input": True, "lengths": [row(20, 1.0, 128), row(50, 1.0, 16)]}}}
    assert {n: r["num_samples"] for n, r in summarize.merged(run, "stress").items()} == {20: 16}
    assert {n: r["exact_match"] for n, r in summarize.merged(run, "stress", hidden=True).items()} == {20: 1.0, 50: 1.0}
    trained_hidden = dict(run, training={"hide_input": True})
    assert summarize.merged(trained_hidden, "stress")[20]["num_samples"] == 128
    no_training = {"evals": run["evals"]}  # an evaluation-only folder: every mode, as before
    assert summarize.merged(no_training, "stress")[20]["num_samples"] == 128


def test_describe_and_paper_notation():
    rows = {n: dict(n=n, exact_match=em, num_samples=k) for n, em, k in [(10, 1.0, 16), (100, 1.0, 32), (1000, 31 / 32, 32), (2000, 0.0, 16)]}
    assert summarize.describe(rows) == "exact at every size from 10 to 100 (16-32 problems each); then 31/32 at 1,000, 0/16 at 2,000"
    assert summarize.paper_notation(5, rows) == "5→1K (97%, 32)"
    assert summarize.paper_notation(5, {10: dict(n=10, exact_match=0.0, num_samples=4)}) == "5→– (0%)"


@needs_results
def test_every_filed_run_has_its_provenance():
    """Every results/<study>/<run>/ holds a run.json, and every evaluation is a results.json with per-size rows."""
    from toolssm.experiments import read_study

    results = os.path.join(ROOT, "results")
    n = 0
    for study in sorted(os.listdir(results)):
        if not os.path.isdir(os.path.join(results, study)):
            continue
        for run in read_study(os.path.join(results, study)):
            n += 1
            assert run["provenance"] is not None, run["folder"]
            for tag, res in run["evals"].items():
                assert res["lengths"] and all({"n", "exact_match", "num_samples"} <= set(L) for L in res["lengths"]), (run["folder"], tag)
    assert n >= 100


@needs_results
def test_checkpoint_evaluations_merge_every_filed_evaluation_of_a_shipped_checkpoint():
    """The card refresh (summarize.py --cards) sees the training run's evaluations, results/stress/ and
    results/push_length/ at once: per size the evaluation with the most problems."""
    runs = summarize.load_runs()
    stress = summarize.checkpoint_evaluations(runs, "addition-lstm-small", "stress")
    by_n = {r["n"]: r for r in stress["lengths"]}
    assert stress["task"] == "addition" and by_n[1000]["num_samples"] == 128 and by_n[10000]["num_samples"] == 16  # 128: stress-perclass-cpu (2026-12-05)
    assert by_n[100000]["num_samples"] == 16  # results/push_length (2026-12-04)
    test = summarize.checkpoint_evaluations(runs, "addition-lstm-small", "test")
    assert [r["n"] for r in test["lengths"]][-3:] == [1000, 10000, 100000]
    assert summarize.checkpoint_evaluations(runs, "code-fixing-mamba-small-sed", "stress") is None  # the task has no stress split
    mamba = summarize.checkpoint_evaluations(runs, "addition-mamba-small", "stress")  # results/stress only (2026-12-07)
    assert [(r["n"], r["num_samples"]) for r in mamba["lengths"]] == [(10, 128), (20, 128), (50, 128)]


@needs_results
def test_a_second_job_on_a_shipped_checkpoint_reads_its_settings():
    """results/claimed_sizes/NAME--perclass: evaluations of checkpoints/NAME filed under a name of their own; their
    table rows name the checkpoint's model and training (they read "?" before)."""
    runs = {(r["study"], r["name"]): r for r in summarize.load_runs()}
    r = runs[("claimed_sizes", "logical-graph-mamba-small--perclass")]
    with open(os.path.join(ROOT, "checkpoints", "logical-graph-mamba-small", "training_args.json")) as f:
        args = json.load(f)
    assert summarize.arch_of(r) == "Mamba-1 4x256"
    assert (r["training"]["task"], r["training"]["steps"], r["training"]["seed"]) == ("logical_graph", args.get("steps_completed", args["train"]["max_steps"]), args["train"]["seed"])
    assert summarize.shipped_name("a--b--c") == "a" and summarize.shipped_name("a-b") == "a-b"


@pytest.mark.needs_checkpoints  # demo.py / the README's tables read every shipped checkpoint
@needs_results
def test_shipped_cards_hold_every_filed_evaluation(tmp_path, monkeypatch):
    """Each shipped card's results and stress tables and model-index are what `summarize.py --cards` writes from every
    evaluation filed under results/: a card cannot fall behind its filed evaluations (2026-12-02: six had, written
    with other names selected). Refreshed on copies without the weights; the plots are not compared (matplotlib)."""
    import shutil

    runs = summarize.load_runs()
    names = sorted(n for n in os.listdir(os.path.join(ROOT, "checkpoints")) if os.path.isfile(os.path.join(ROOT, "checkpoints", n, "README.md")))
    assert len(names) >= 8
    for name in names:
        shutil.copytree(os.path.join(ROOT, "checkpoints", name), tmp_path / "checkpoints" / name, ignore=shutil.ignore_patterns("*.safetensors", "*.bin"))
    monkeypatch.setattr(summarize, "ROOT", str(tmp_path))
    summarize.refresh_cards(runs, names)
    stale = [n for n in names if (tmp_path / "checkpoints" / n / "README.md").read_text() != open(os.path.join(ROOT, "checkpoints", n, "README.md")).read()]
    assert not stale, f"cards behind their filed evaluations: {stale} (python scripts/summarize.py --cards {','.join(stale)})"


def test_job_only_studies_are_indexed_with_each_jobs_exit_status(tmp_path, monkeypatch):
    """A study of jobs only (no training, no evaluation filed) still gets its row in results/README.md and, when it
    has no hand-written README, a generated one that says how each job ended (a timeout shows as 124)."""
    import json

    study = tmp_path / "evals_only"
    for name, rc in (("ok-job", 0), ("slow-job", 124)):
        (study / name).mkdir(parents=True)
        (study / name / "run.json").write_text(json.dumps({"runs": [{"argv": ["bash", "-c", f"python3 eval.py --x {name}"],
                                                                     "start": "2026-12-03T11:18:00", "end": "2026-12-03T11:27:00",
                                                                     "exit_status": rc}]}))
        (study / name / "job.log").write_text("log")
    monkeypatch.setattr(summarize, "RESULTS", str(tmp_path))
    assert summarize.job_studies([]) == ["evals_only"]
    text = summarize.job_study_readme("evals_only", "Does it hold?")
    assert "| `ok-job` | 0 | 2026-12-03T11:18:00 | 2026-12-03T11:27:00 | [job.log](ok-job/job.log) | `python3 eval.py --x ok-job` |" in text
    assert "| `slow-job` | 124 |" in text and summarize.JOB_README_MARK in text
    assert "| [evals_only](evals_only/) | " in summarize.results_index([])  # no README there yet: the folder is linked


def test_code_fixing_tables_count_repaired_programs_not_trajectory_matches():
    """A code-fixing episode succeeds when the repaired program prints the reference's output, whatever path the model
    took: the table shows that count, with the scripted agent's exact trajectory beside it; other tasks keep exact match."""
    row = dict(n=8, exact_match=0.25, answer_accuracy=0.75, num_samples=32)
    assert summarize.cell(row, "code_fixing") == "24/32 (trace 8)"
    assert summarize.cell(row, "addition") == "0.25 (32)"
    assert summarize.cell(dict(row, answer_accuracy=None), "code_fixing") == "0.25 (32)"  # a console-log row has no answer count
    assert summarize.cell(None, "code_fixing") == "-"
    run = {"name": "cf", "study": "code_fixing", "speed": "-", "metrics": [],
           "training": {"task": "code_fixing", "config": "interactive", "preset": "mamba-small", "steps": 10, "batch": 16, "lr": 2e-3, "seed": 0},
           "steps": "10", "evals": {"test": {"split": "test", "size_unit": "functions", "lengths": [dict(row, exact_match_ci=[0, 1])]}}}
    text, plots = summarize.study_readme("code_fixing", [run], "claim")
    assert "24/32 (trace 8)" in text and "reference fix's output" in text
    assert plots[0]["metric"] == "answer_accuracy"


def test_study_rows_say_when_the_input_was_not_shown_the_default_way():
    """A study table names the input mode of a run's evaluations where it is not the plain one: hidden evaluations,
    and shown ones of a checkpoint that runs hidden by default (the lockstep Mamba's results/stress and push_length)."""
    row = lambda n, tag: {n: dict(n=n, tag=tag)}  # noqa: E731
    evals = {"shown": {"hide_input": False}, "hidden": {"hide_input": True}}
    lockstep = "addition-mamba-small-lockstep"  # shipped with "hide_input": true in generation_config.json
    if not os.path.isdir(os.path.join(ROOT, "checkpoints", lockstep)):
        pytest.skip("checkpoints/ is not in this copy")
    assert summarize.input_note({"name": lockstep, "evals": evals}, row(10, "shown")) == " (input shown)"
    assert summarize.input_note({"name": lockstep, "evals": evals}, row(10, "hidden")) == " (input hidden)"
    assert summarize.input_note({"name": "addition-lstm-small", "evals": evals}, row(10, "shown")) == ""
    assert summarize.input_note({"name": "some-run", "evals": evals}, {**row(10, "shown"), **row(20, "hidden")}) == " (input shown and hidden)"


def test_study_rows_name_a_stress_trained_run():
    """A run trained with --stress_fraction (and --stress_max_n) says so in its config column: its numbers are not the
    paper's distribution's."""
    row = dict(n=10, exact_match=1.0, num_samples=32, exact_match_ci=[0.9, 1.0])
    base = {"study": "s", "speed": "-", "metrics": [], "steps": "5", "evals": {"test": {"split": "test", "size_unit": "digits", "lengths": [row]}}}
    training = {"task": "multiplication", "config": "n_x_2_aligned", "preset": "mamba-small", "steps": 5, "batch": 64, "lr": 5e-4, "seed": 0}
    runs = [dict(base, name="plain", training=dict(training, stress_fraction=0)),
            dict(base, name="stress", training=dict(training, stress_fraction=0.25)),
            dict(base, name="stress30", training=dict(training, stress_fraction=0.25, stress_max_n=30))]
    text, _ = summarize.study_readme("s", runs, "claim")
    assert "| `plain` | Mamba-1 4x256 | n_x_2_aligned |" in text
    assert "| `stress` | Mamba-1 4x256 | n_x_2_aligned + 25% stress |" in text
    assert "| `stress30` | Mamba-1 4x256 | n_x_2_aligned + 25% stress to 30 |" in text


def test_code_fixing_pooled_sums_seeds_per_size_with_wilson_intervals():
    """README's code-fixing table pools every run of a model and trace kind per size (successes and codebases summed),
    with the Wilson interval of the pooled rate; a size one seed lacks counts the others only."""
    def run(seed, rates, preset="mamba-small", config="interactive_sed"):
        rows = [{"n": n, "exact_match": 0.0, "answer_accuracy": k / 32, "num_samples": 32} for n, k in rates.items()]
        return {"study": "code_fixing", "name": f"cf-{config}-{preset}-s{seed}", "steps": "800", "metrics": [{"loss": 0.5}],
                "training": {"task": "code_fixing", "config": config, "preset": preset, "seed": seed, "train_max_n": 16, "hide_input": None},
                "evals": {"test": {"split": "test", "lengths": rows}}}

    runs = [run(0, {4: 30, 16: 10}), run(1, {4: 29, 16: 12, 40: 6}), run(0, {4: 7}, preset="pythia-small"),
            dict(run(2, {4: 1}), study="other")]
    pooled = {(g["family"], g["config"]): g for g in summarize.code_fixing_pooled(runs)}
    assert set(pooled) == {("Mamba", "interactive_sed"), ("Pythia", "interactive_sed")}
    mamba = {L["n"]: L for L in pooled[("Mamba", "interactive_sed")]["lengths"]}
    assert (mamba[4]["successes"], mamba[4]["num_samples"]) == (59, 64) and (mamba[40]["successes"], mamba[40]["num_samples"]) == (6, 32)
    assert mamba[16]["answer_accuracy_ci"] == summarize.wilson(22, 64)
    table = summarize.readme_code_fixing(runs)
    assert "59/64 [" in table and "| 7/32 [" in table and "s0 800 steps, loss 0.500; s1 800 steps" in table


def test_failing_classes_names_each_failure_and_summarizes_a_size_where_none_held():
    cls = lambda exact, samples=2: {"exact": exact, "samples": samples}  # noqa: E731
    rows = {20: {"by_class": {"a_nines": cls(2), "a_zero_runs": cls(1), "lead_1_9": cls(2)}},
            100: {"by_class": {"a_nines": cls(0), "a_zero_runs": cls(0), "lead_1_9": cls(0)}}}
    assert summarize.failing_classes(rows) == "20: `a_zero_runs` 1/2; 100: all 3 classes"
    assert summarize.failing_classes({20: rows[20]}) == "20: `a_zero_runs` 1/2"
    assert summarize.failing_classes({20: {"by_class": {"a": cls(2), "b": cls(2)}}}) == "none"
    # two classes both failing are still named: "all 2 classes" would hide which
    assert summarize.failing_classes({5: {"by_class": {"a": cls(0), "b": cls(0)}}}) == "5: `a` 2/2; 5: `b` 2/2"


def test_runs_packed_before_their_training_ended_are_listed_not_tabled(tmp_path):
    """A run folder with a training log but no settings, weights or evaluations (a lease ended mid-training, or the
    training failed) gets a row in its study's list of unfinished runs (last step, steps asked, last in-training
    evaluation, start, how it ended), a line
    cut by the packing is skipped, and a finished run (training_args.json) or a folder without a log is not listed."""
    import json

    cut = tmp_path / "mul1a-mamba-s0"
    cut.mkdir()
    (cut / "metrics.jsonl").write_text(
        json.dumps({"step": 500, "val_token_accuracy": 1.0, "val_exact_match_n10": 1.0, "val_exact_match_n20": 0.875}) + "\n"
        + json.dumps({"step": 510, "loss": 0.1}) + "\n" + '{"step": 52')
    (cut / "train.cmd").write_text("python train.py --max-steps 2000 --preset mamba-small\n")
    (cut / "run.json").write_text(json.dumps({"runs": [{"start": "2026-12-07T01:30:30+0000", "exit_status": None}]}))
    done = tmp_path / "mul1a-lstm-s0"
    done.mkdir()
    (done / "metrics.jsonl").write_text(json.dumps({"step": 2000, "loss": 0.0}) + "\n")
    (done / "training_args.json").write_text("{}")
    (tmp_path / "empty").mkdir()
    crashed = tmp_path / "mul2a-mamba-s0"  # failed: its exit status and the log's last error line
    crashed.mkdir()
    (crashed / "metrics.jsonl").write_text(json.dumps({"step": 1500, "loss": 0.0}) + "\n")
    (crashed / "train.rc").write_text("1\n")
    (crashed / "train.log").write_text("Traceback (most recent call last):\n  File x\nNameError: cannot access free variable 'shutil'\n")
    assert summarize.unfinished_runs(str(tmp_path)) == [
        ["`mul1a-mamba-s0`", "510", "2000", "n=10: 1.00, n=20: 0.88 (step 500)", "2026-12-07T01:30:30+0000", "still training when packed"],
        ["`mul2a-mamba-s0`", "1500", "-", "-", "-", "failed (exit 1): `NameError: cannot access free variable 'shutil'`"]]
    assert summarize.unfinished_runs(str(tmp_path / "missing")) == []


def test_table1_variations_get_rows_of_their_own_and_a_curriculum_first_stage_none():
    """The cell's own recipe, a learning-rate variation and the graph curriculum's second stage are three README rows;
    the curriculum's first stage (trained on 4-5 nodes) is no Table 1 cell. Before, the curriculum's runs were counted
    among the cell's own seeds."""
    ev = lambda em: {"test": {"split": "test", "lengths": [dict(n=n, exact_match=em, num_samples=16, exact_match_ci=[0, 1]) for n in (10, 20)]}}  # noqa: E731
    run = lambda name, seed, em, fam="lstm-small": dict(  # noqa: E731
        study="table1_full", name=name, steps=2000, evals=ev(em), preset=fam,
        training=dict(task="logical_graph", config="default", seed=seed, steps=2000, max_steps=2000, train_max_n=10, preset=fam))
    runs = [run("graph-lstm-s0", 0, 0.0), run("graph-lstm-lr5e-4-s0", 0, 0.0), run("graph-lstm-cur-s0", 0, 1.0),
            run("graph-lstm-n5-s0", 0, 1.0)]
    assert [summarize.lr_variant(r) for r in runs] == ["", "lr5e-4", "cur", "n5"]
    own = summarize.full_budget_cells(runs, "logical_graph", ("default",), 10)
    cur = summarize.full_budget_cells(runs, "logical_graph", ("default",), 10, variant="cur")
    assert list(own.values()) == ["s0: 10→– (0%)"] and list(cur.values()) == ["s0: 10→20 (100%, 16)"]
    assert summarize.variant_label("cur").startswith("curriculum") and summarize.variant_label("lr5e-4") == "lr 5e-4"
    assert summarize.lr_variant(dict(name="hanoi-it-gru-g8-s1")) == "g8" and summarize.variant_label("g8").startswith("batched by length")
    assert summarize.lr_variant(dict(name="graph-lstm-paper-s0")) == "paper" and "4 x 1536" in summarize.variant_label("paper")
    # the copy curriculum (2026-12-08): its second stage a row of its own, its first (loss on the names only) none
    runs += [run("graph-gru-copy-s0", 0, 0.0, "gru-small"), run("graph-gru-copycur-s0", 0, 1.0, "gru-small")]
    assert [summarize.lr_variant(r) for r in runs[-2:]] == ["copy", "copycur"] and "copy" in summarize.FIRST_STAGES
    assert list(summarize.full_budget_cells(runs, "logical_graph", ("default",), 10).values()) == ["s0: 10→– (0%)"]  # the GRU's first stage is not the cell's own seed
    assert summarize.variant_label("copycur").startswith("copy curriculum")


def test_a_cut_run_shows_its_newest_evaluated_checkpoint_and_says_it_was_cut(tmp_path):
    """A run a lease cut before its final save comes back as its newest checkpoint (launch.py --last-call); evaluated
    per split into eval/checkpoint-<step>[-<split>]/, it fills its Table 1 cell with that checkpoint's result and the
    words 'step S of M, cut at C', never as a finished run; its settings come from the checkpoint's training_args.json,
    and its steps are the checkpoint's."""
    from toolssm.experiments import read_run

    run_dir = tmp_path / "table1_full" / "hanoi-rec-gru-s0"
    ckpt = run_dir / "checkpoint-1000"
    ckpt.mkdir(parents=True)
    args = {"model": {"preset": "gru-small"}, "data": {"task": "hanoi", "config": "recursive", "train_max_n": 7},
            "train": {"max_steps": 2000, "batch_size": 16, "learning_rate": 2e-3, "seed": 0}}
    (ckpt / "training_args.json").write_text(json.dumps(args))
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "loss": 1e-6}) + "\n" for s in (10, 1000, 1180)))
    for tag, split, sizes in (("checkpoint-1000", "test", (7, 8, 9, 10)), ("checkpoint-1000-stress", "stress", (7, 8))):
        (run_dir / "eval" / tag).mkdir(parents=True)
        (run_dir / "eval" / tag / "results.json").write_text(json.dumps(
            {"split": split, "lengths": [dict(n=n, exact_match=1.0, num_samples=8) for n in sizes]}))
    r = read_run(str(run_dir))
    assert r["args_from"] == "checkpoint-1000"
    r["training"] = summarize.training_of(r)
    r["steps"] = r["training"]["steps"]
    assert r["training"]["steps"] == 1000 and r["training"]["max_steps"] == 2000
    assert summarize.merged(r) == {}  # no evaluation of a final model
    assert sorted(summarize.merged(r, "stress", checkpoint="checkpoint-1000")) == [7, 8]
    assert sorted(summarize.merged(r, "test", checkpoint="checkpoint-1000")) == [7, 8, 9, 10]
    cells = summarize.full_budget_cells([r], "hanoi", ("recursive",), 7)
    assert cells == {"GRU": "s0: 7→10 (100%, 8) [step 1000 of 2000, cut at 1180]"}
    r["evals"] = {}  # its checkpoint not evaluated yet: said so, never counted as a trained run
    assert summarize.full_budget_cells([r], "hanoi", ("recursive",), 7) == {"GRU": "s0: not evaluated [cut at 1180 of 2000]"}


def test_the_graphs_value_lines_trace_is_a_row_of_its_own_without_the_papers_numbers():
    """table1_full's graph-vl-* runs (the value_lines trace, 2026-12-08) get their own Table 1 row, never pooled with
    the default trace's seeds, and no 'paper' row under them (the paper's numbers are for its own trace)."""
    ev = lambda em: {"test": {"split": "test", "lengths": [dict(n=n, exact_match=em, num_samples=16, exact_match_ci=[0, 1]) for n in (10, 20)]}}  # noqa: E731
    run = lambda name, config, em: dict(  # noqa: E731
        study="table1_full", name=name, steps=2000, evals=ev(em), preset="gru-small",
        training=dict(task="logical_graph", config=config, seed=0, steps=2000, max_steps=2000, train_max_n=10, preset="gru-small"))
    runs = [run("graph-gru-s0", "default", 0.0), run("graph-vl-gru-s0", "value_lines", 1.0)]
    assert summarize.lr_variant(runs[1]) == ""  # the trace is the row, not a variation of the default cell
    lines = summarize.readme_table1(runs).splitlines()
    row = lambda label: next((ln for ln in lines if ln.startswith(f"| {label} |")), None)  # noqa: E731
    assert "10→– (0%)" in row("logical graph, 2,000 steps") and "10→20" not in row("logical graph, 2,000 steps")
    assert "s0: 10→20 (100%, 16)" in row("logical graph, value_lines trace, 2,000 steps")
    assert row("logical graph, paper") is not None and row("logical graph, value_lines trace, paper") is None
    assert row("logical graph, value_lines trace, ours") is None  # no run of the earlier table1 study has this trace
