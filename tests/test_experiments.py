"""Experiments as data: a study file, the launcher end to end on CPU (train, evaluate, pack, file), the filed layout."""

import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time

import pytest

from conftest import python_path
from toolssm.experiments import Eval, Job, Run, Study, load_study, read_run, read_study, studies

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAUNCH = os.path.join(ROOT, "scripts", "launch.py")

STUDY_FILE = '''
from toolssm.experiments import Eval, Job, Run, Study

STUDY = Study(
    name="smoke",
    claim="the launcher trains, evaluates, packs and files a run",
    runs=[
        Run("add-tiny-s0", dict(preset="mamba-tiny", task="addition", max_steps=3, batch_size=4, eval_every=0, save_every=1000,
                                report_to="none", num_workers=0, eval_samples=1, eval_lengths="2", seed=0),
            evals=(Eval("test", (2,), num_samples=2), Eval("stress", (3,), split="stress", num_samples=2)), after=("hello",)),
        Job("hello", "sleep 2; echo hello > $RUN_DIR/hello.txt"),
    ],
    parallel=1,
)
'''


def test_every_shipped_study_loads_and_builds_its_commands():
    names = studies()
    assert names, "experiments/ holds no study"
    for name in names:
        study = load_study(name)
        assert study.claim and study.runs
        for e in study.runs:
            if isinstance(e, Run):
                argv = e.train_argv(f"runs/{name}/{e.name}")
                assert argv[0] == "train.py" and argv[-2:] == ["--output-dir", f"runs/{name}/{e.name}"]
                import train

                train.parse_args(argv[1:])  # every option is one train.py knows
                for ev in e.evals:
                    assert ev.argv("m", "o")[:3] == ["eval.py", "--model", "m"]
            else:  # a job that evaluates a shipped checkpoint names one that exists
                for ckpt in re.findall(r"checkpoints/([\w.-]+)", e.command):
                    assert os.path.isdir(os.path.join(ROOT, "checkpoints", ckpt)), f"{name}/{e.name}: no checkpoints/{ckpt}"


def test_study_rejects_repeated_and_unsafe_names_and_unknown_patterns():
    with pytest.raises(ValueError, match="unique"):
        Study("s", "c", runs=[Job("a", "true"), Job("a", "true")])
    with pytest.raises(ValueError, match="plain folder names"):
        Study("s", "c", runs=[Job("../x", "true")])
    with pytest.raises(ValueError, match="no run matches"):
        Study("s", "c", runs=[Job("a", "true")]).select("b*")
    with pytest.raises(ValueError, match="set by the launcher"):
        Run("r", {"output_dir": "x"}).train_argv("y")
    with pytest.raises(ValueError, match="'after' names no entry"):
        Study("s", "c", runs=[Job("a", "true", after=("b",))])
    with pytest.raises(ValueError, match="no study"):
        load_study("no-such-study")


def test_launcher_trains_evaluates_packs_and_files_a_run(tmp_path):
    study_file = tmp_path / "smoke.py"
    study_file.write_text(STUDY_FILE)
    out, runs = tmp_path / "out", tmp_path / "runs"
    # not the outer launcher's TOOLSSM_* (on the GPU machine the suite itself runs as a job: its TOOLSSM_CALL_START
    # would count this launcher's deadline from the outer call's start, 2026-12-02)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLSSM_") and k != "RUN_DIR"}
    env.update(PYTHONPATH=python_path(), TOOLSSM_JOB="test-job", HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, LAUNCH, "run", str(study_file), "--runs", str(runs), "--out", str(out), "--deadline", "300",
                        "--poll", "1", "--max-files", "8"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=420)
    assert r.returncode == 0, r.stdout + r.stderr
    if "add-tiny-s0  trained; test done, stress done" not in r.stdout:  # say why: every console log of the run
        logs = sorted((runs / "smoke" / "add-tiny-s0" / ".launch").glob("*.log"))
        pytest.fail(r.stdout + "".join(f"\n--- {p.name}\n{p.read_text()[-3000:]}" for p in logs))
    # the run waited for the job it names in `after`: it started once hello.txt existed
    assert os.path.getmtime(runs / "smoke" / "hello" / "hello.txt") <= os.path.getmtime(runs / "smoke" / "add-tiny-s0" / ".launch" / "train.pid")
    packed = tarfile.open(out / "smoke.tgz").getnames()
    assert sorted(p for p in packed if not p.endswith((".log", ".cmd", ".rc"))) == ["smoke/add-tiny-s0/config.json",
                              "smoke/add-tiny-s0/eval/stress/results.json", "smoke/add-tiny-s0/eval/test/results.json",
                              "smoke/add-tiny-s0/metrics.jsonl", "smoke/add-tiny-s0/run.json", "smoke/add-tiny-s0/training_args.json",
                              "smoke/hello/hello.txt", "smoke/hello/run.json"]
    assert "smoke/add-tiny-s0/train.log" in tarfile.open(out / "smoke.tgz").getnames()  # the console logs travel with it
    assert not (out / "smoke-rescue.tgz").exists()  # every evaluation finished: no weights to rescue
    assert json.loads((runs / ".returned.json").read_text())  # trimmed (nothing to remove): what the call returns, recorded

    results = tmp_path / "results"
    r = subprocess.run([sys.executable, LAUNCH, "unpack", str(out / "smoke.tgz"), "--results", str(results)], capture_output=True,
                       text=True, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr
    (run,) = [x for x in read_study(str(results / "smoke")) if x["name"] == "add-tiny-s0"]
    assert run["study"] == "smoke" and run["args"]["steps_completed"] == 3
    prov = run["provenance"]
    assert (prov["study"], prov["run"], prov["job"], prov["program"]) == ("smoke", "add-tiny-s0", "test-job", "train.py")
    assert set(run["evals"]) == {"test", "stress"}
    stress = run["evals"]["stress"]
    assert stress["split"] == "stress" and stress["lengths"][0]["n"] == 3 and stress["lengths"][0]["num_samples"] == 2
    assert stress["provenance"]["run"] == "add-tiny-s0" and stress["provenance"]["end"]
    # unpack wrote the run's card from its filed files: the filed config, both evaluations, the weights note
    card = (results / "smoke" / "add-tiny-s0" / "README.md").read_text()
    assert "**Weights not filed.**" in card and "config in `config.json`" in card
    assert "## Length generalization" in card and "<!-- stress:start -->" in card and "Not evaluated yet" not in card
    assert not (results / "smoke" / "hello" / "README.md").exists()  # a job is no training run: no card
    # a job's folder says what produced it: its command, the study and run, and its end and exit status
    jp = read_run(str(results / "smoke" / "hello"))["provenance"]
    assert (jp["study"], jp["run"], jp["job"]) == ("smoke", "hello", "test-job") and jp["argv"][:2] == ["bash", "-c"]
    assert "hello.txt" in jp["argv"][2] and jp["end"] and jp["exit_status"] == 0

    # a second call finds everything done: it starts nothing and packs the same files
    r = subprocess.run([sys.executable, LAUNCH, "run", str(study_file), "--runs", str(runs), "--out", str(out), "--deadline", "60"],
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert r.returncode == 0 and "job done" in r.stdout, r.stdout + r.stderr
    with open(runs / "smoke" / "add-tiny-s0" / ".launch" / "train.rc") as f:
        assert f.read().strip() == "0"

    # `finish` evaluates here what a lease left undone, from the filed folder and its (rescued) weights
    filed = results / "smoke" / "add-tiny-s0"
    os.remove(filed / "eval" / "stress" / "results.json")
    finish = [sys.executable, LAUNCH, "finish", str(study_file), "add-*", "--results", str(results), "--", "--device", "cpu"]
    r = subprocess.run(finish, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert r.returncode == 0 and "stress [3] not evaluated, and no weights here" in r.stdout, r.stdout + r.stderr
    for f in ("model.safetensors", "generation_config.json", "tokenizer.json", "tokenizer_config.json"):
        if (runs / "smoke" / "add-tiny-s0" / f).exists():
            (filed / f).write_bytes((runs / "smoke" / "add-tiny-s0" / f).read_bytes())
    r = subprocess.run(finish, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(filed / "eval" / "stress-finish" / "results.json") as f:
        res = json.load(f)
    assert res["split"] == "stress" and [L["n"] for L in res["lengths"]] == [3] and res["lengths"][0]["num_samples"] == 2
    r = subprocess.run(finish, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert r.returncode == 0 and r.stdout == "", r.stdout  # nothing left to do
    launch = _launch_module()  # a later finish never writes over an earlier one's folder (its results may be partial)
    (rest,) = launch.missing_evals(Run("x", {}, (Eval("stress", (3, 4), split="stress"),)), str(filed))
    assert (rest.tag, rest.lengths) == ("stress-finish-2", (4,))


def test_unpack_refuses_paths_outside_a_study(tmp_path):
    bad = tmp_path / "bad.tgz"
    evil = tmp_path / "evil.txt"
    evil.write_text("x")
    with tarfile.open(bad, "w:gz") as tar:
        tar.add(evil, arcname="../../evil.txt")
    r = subprocess.run([sys.executable, LAUNCH, "unpack", str(bad), "--results", str(tmp_path / "results")], capture_output=True, text=True,
                       cwd=ROOT, env=dict(os.environ, PYTHONPATH=python_path()))
    assert r.returncode != 0 and "refusing member" in r.stderr
    assert not (tmp_path.parent / "evil.txt").exists()


def test_unpack_files_the_kernel_build_log_beside_the_runs(tmp_path):
    """pack() puts the kernel build's log at <study>/kernel-build.log: unpack files it (2026-12-03: it refused its own
    logs archive), and still refuses any other file outside a run's folder."""
    log, other = tmp_path / "build.log", tmp_path / "x.json"
    log.write_text("built mamba-ssm")
    other.write_text("{}")
    good, bad = tmp_path / "logs.tgz", tmp_path / "bad.tgz"
    with tarfile.open(good, "w:gz") as tar:
        tar.add(log, arcname="smoke/kernel-build.log")
        tar.add(log, arcname="smoke/add-tiny-s0/train.log")
    with tarfile.open(bad, "w:gz") as tar:
        tar.add(other, arcname="smoke/x.json")
    env = dict(os.environ, PYTHONPATH=python_path())
    results = tmp_path / "results"
    r = subprocess.run([sys.executable, LAUNCH, "unpack", str(good), "--results", str(results)], capture_output=True, text=True, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr
    assert (results / "smoke" / "kernel-build.log").read_text() == "built mamba-ssm"
    assert (results / "smoke" / "add-tiny-s0" / "train.log").exists()
    r = subprocess.run([sys.executable, LAUNCH, "unpack", str(bad), "--results", str(results)], capture_output=True, text=True, cwd=ROOT, env=env)
    assert r.returncode != 0 and "refusing member 'smoke/x.json'" in r.stderr
    assert not (results / "smoke" / "x.json").exists()


def test_unpack_keeps_earlier_job_records_of_a_run(tmp_path):
    """A job filed twice (two leases) keeps both records in run.json; a record filed again (the same job and start,
    now with its end) replaces its earlier copy instead of being listed twice."""
    env = dict(os.environ, PYTHONPATH=python_path())
    results = tmp_path / "results"

    def file_records(name, runs):
        rec = tmp_path / "run.json"
        rec.write_text(json.dumps({"runs": runs}))
        tgz = tmp_path / f"{name}.tgz"
        with tarfile.open(tgz, "w:gz") as tar:
            tar.add(rec, arcname="push/ckpt/run.json")
        r = subprocess.run([sys.executable, LAUNCH, "unpack", str(tgz), "--results", str(results)], capture_output=True, text=True, cwd=ROOT, env=env)
        assert r.returncode == 0, r.stderr
        return json.loads((results / "push" / "ckpt" / "run.json").read_text())["runs"]

    first = {"program": "scripts/launch.py job", "job": "push@vm:1", "start": "t1", "end": "t2", "exit_status": 0}
    second = {"program": "scripts/launch.py job", "job": "push@vm:2", "start": "t3", "end": None}
    assert file_records("a", [first]) == [first]
    assert file_records("b", [second]) == [first, second]
    done = dict(second, end="t4", exit_status=1)
    assert file_records("c", [done]) == [first, done]


def test_checkpoints_record_the_registry_config():
    """Checkpoints record {task, config}: the registry's name for what was trained."""
    from toolssm.tasks import get_task, task_from_spec

    t = get_task("multiplication", "n_x_2_aligned")
    assert t.spec() == {"task": "multiplication", "config": "n_x_2_aligned"}
    assert task_from_spec({"task": "multiplication", "variant": "aligned", "k": 2}).config == "n_x_2_aligned"  # an old checkpoint
    assert task_from_spec(t.spec()).k == 2


def _launch_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("toolssm_launch", LAUNCH)
    launch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launch)
    return launch


@contextlib.contextmanager
def _running(launch_dir, what: str):
    """A live process recorded as ``<what>.pid`` in a run's .launch folder; on exit it ends with status 0."""
    launch_dir.mkdir(parents=True)
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        (launch_dir / f"{what}.pid").write_text(str(sleeper.pid))
        yield
    finally:
        sleeper.kill()
        sleeper.wait()
    (launch_dir / f"{what}.rc").write_text("0\n")


def test_an_alone_study_waits_while_any_study_trains(tmp_path):
    """Study(alone=True) starts nothing while a training of another study runs (2026-12-03: evaluations started
    beside four trainings timed out with no size done), says which one it waits for, and starts once it ended."""
    launch = _launch_module()
    runs = tmp_path / "runs"
    study = Study("evals", "c", runs=[Job("probe", "echo hi > $RUN_DIR/hi.txt")], alone=True)
    with _running(runs / "trainers" / "big-run" / ".launch", "train"):
        states = launch.step(study, study.runs, str(runs / "evals"), job="t")
        assert states["probe"] == (True, "waiting for the GPU: 1 training(s) running (trainers/big-run)")
        assert not (runs / "evals" / "probe" / ".launch" / "job.pid").exists()
        # a study that is not marked alone starts beside it
        free = Study("free", "c", runs=[Job("probe", "true")])
        assert launch.step(free, free.runs, str(runs / "free"), job="t")["probe"] == (True, "job running")
    assert launch.step(study, study.runs, str(runs / "evals"), job="t")["probe"] == (True, "job running")


def test_an_alone_study_waits_for_another_studys_evaluations(tmp_path):
    """2026-12-04: the jobs of two evaluation-only studies (claimed_sizes, push_length) started at once and none
    finished in 540 s. An alone study now also waits while a job or evaluation of another study runs, not for its own."""
    launch = _launch_module()
    runs = tmp_path / "runs"
    study = Study("evals_b", "c", runs=[Job("one", "true"), Job("two", "true")], parallel_jobs=2, alone=True)
    with _running(runs / "evals_a" / "long-eval" / ".launch", "job"):
        states = launch.step(study, study.runs, str(runs / "evals_b"), job="t")
        assert states["one"] == (True, "waiting for the GPU: 1 process(es) of other studies running (evals_a/long-eval (job))")
        assert not (runs / "evals_b" / "one" / ".launch" / "job.pid").exists()
    states = launch.step(study, study.runs, str(runs / "evals_b"), job="t")
    assert states["one"] == (True, "job running") and states["two"] == (True, "job running")  # its own jobs run together


def test_rehearse_runs_each_path_and_names_what_failed(tmp_path, monkeypatch, capsys):
    """``launch.py rehearse``: a run's own command for 4 steps (a save at each: the rotation runs), killed after 3 and
    resumed, then its evaluation on one problem; a run whose command fails is named with its exit status; a job is
    listed, not run; a GPU-only Mamba path is rehearsed on the CPU's. (That the rehearsal catches the 2026-12-07
    rotation bug was checked by hand on the old train.py.)"""
    launch = _launch_module()
    monkeypatch.setenv("PYTHONPATH", python_path())
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    study = Study("r", "c", runs=[
        Run("good", dict(preset="mamba-tiny", task="addition", max_steps=2000, report_to="none", eval_lengths="2", save_every=100000,
                         mamba_path="triton"),
            (Eval("test", (3, 2), num_samples=16),)),
        Run("bad", dict(preset="mamba-tiny", task="addition", learning_rate=-1.0)),
        Run("real", dict(preset="mamba-tiny", task="addition")),
        Job("data", "exit 1")])
    (tmp_path / "r" / "real").mkdir(parents=True)  # --runs pointed at real runs: a trained run is never erased
    (tmp_path / "r" / "real" / "model.safetensors").write_bytes(b"weights")
    failures = launch.rehearse(study, study.runs, str(tmp_path))
    assert len(failures) == 2 and failures[0].startswith("bad: train to step 3, killed (exit ") and "exit 3)" not in failures[0]
    assert failures[1] == f"real: {tmp_path / 'r' / 'real'} is not a rehearsal's folder"
    assert (tmp_path / "r" / "real" / "model.safetensors").read_bytes() == b"weights"
    assert launch.rehearse(study, study.runs[1:2], str(tmp_path))[0].startswith("bad: train")  # its own folder: replaced
    good = tmp_path / "r" / "good"
    # saves at steps 1-3, checkpoint-1 rotated away; step 4 (after the resume) is the final save, into the run folder
    assert sorted(n for n in os.listdir(good) if n.startswith("checkpoint-")) == ["checkpoint-2", "checkpoint-3"]
    assert (good / "model.safetensors").exists()
    res = json.loads((good / "eval" / "test" / "results.json").read_text())
    assert [(L["n"], L["num_samples"]) for L in res["lengths"]] == [(2, 1)]  # the smallest size, one problem
    assert not (tmp_path / "r" / "data").exists()
    assert "good: Mamba path triton needs a GPU: rehearsed with --mamba-path auto" in capsys.readouterr().out


def settle(folder):
    """Wait for a training the launcher started with the stand-in "python" (true), which exits at once, to record it."""
    for _ in range(200):
        if (folder / ".launch" / "train.rc").exists():
            return
        time.sleep(0.05)


def test_a_failed_training_resumes_once_from_each_checkpoint(tmp_path):
    """A run whose training ended badly with a finished checkpoint on disk starts again with --resume (2026-12-07: six
    runs died at step 1,500 of 2,000 with checkpoint-1500 saved, and stayed failed). The failed attempt's log and status
    are kept as train-1.*; a second failure from the same checkpoint is left failed; a run without a finished
    checkpoint, or one whose final save exists, is not resumed."""
    launch = _launch_module()
    runs = tmp_path / "runs" / "s"
    names = ("crashed", "unsaved", "saved-final")
    study = Study("s", "c", runs=[Run(n, {"max_steps": 4}, ()) for n in names])
    for n in names:
        (runs / n / ".launch").mkdir(parents=True)
        (runs / n / ".launch" / "train.rc").write_text("1\n")
        (runs / n / ".launch" / "train.log").write_text("Traceback: boom\n")
        (runs / n / ".launch" / "train.cmd").write_text("python train.py\n")
        c = runs / n / "checkpoint-2"
        c.mkdir()
        if n != "unsaved":
            (c / "trainer_state.json").write_text('{"step": 2, "final": false}')
    (runs / "saved-final" / "model.safetensors").write_bytes(b"\0")

    states = launch.step(study, study.runs, str(runs), job="t", python="true")
    assert states["crashed"] == (True, "training (resumed from step 2 after the run ended badly)")
    assert states["unsaved"][1].startswith("training failed") and states["saved-final"][1].startswith("training failed")
    cmd = (runs / "crashed" / ".launch" / "train.cmd").read_text()
    assert cmd.split()[0] == "true" and cmd.split()[-1] == "--resume" and "--output-dir" in cmd
    assert (runs / "crashed" / ".launch" / "train-1.log").read_text() == "Traceback: boom\n"
    assert (runs / "crashed" / ".launch" / "train-1.rc").read_text() == "1\n"
    settle(runs / "crashed")
    (runs / "crashed" / ".launch" / "train.rc").write_text("1\n")  # it failed again, from the same checkpoint
    assert launch.step(study, study.runs, str(runs), job="t", python="true")["crashed"][1].startswith("training failed")
    (runs / "crashed" / "checkpoint-3").mkdir()  # ... but it got further: tried once more from there
    (runs / "crashed" / "checkpoint-3" / "trainer_state.json").write_text('{"step": 3, "final": false}')
    again = launch.step(study, study.runs, str(runs), job="t", python="true")["crashed"][1]
    assert again == "training (resumed from step 3 after the run ended badly)"
    settle(runs / "crashed")
    assert (runs / "crashed" / ".launch" / "train.resumed").read_text() == "2\n3\n"
    assert sorted(f for f in os.listdir(runs / "crashed" / ".launch") if f.startswith("train-")) == [
        "train-1.cmd", "train-1.log", "train-1.rc", "train-2.cmd", "train-2.log", "train-2.rc"]


def test_pack_splits_weights_into_archives_the_device_returns(tmp_path, capsys):
    """The device returns files of at most 16 MiB: on 2026-12-03 one 21.6 MB weights archive of four runs was left
    behind. weight_groups keeps whole runs together, in order, under the bound, and warns of a run above it."""
    launch = _launch_module()
    runs = []
    for name, size in (("a", 6), ("b", 6), ("c", 4), ("d", 20)):  # + 2 bytes of config each
        w, c = tmp_path / f"{name}.safetensors", tmp_path / f"{name}.json"
        w.write_bytes(b"\0" * size)
        c.write_text("{}")
        runs.append([(str(w), f"s/{name}/model.safetensors"), (str(c), f"s/{name}/config.json")])
    groups = launch.weight_groups(runs, limit=16)
    assert [sorted({arc.split("/")[1] for _, arc in g}) for g in groups] == [["a", "b"], ["c"], ["d"]]
    assert all(sum(os.path.getsize(src) for src, _ in g) <= 16 for g in groups[:2])
    assert "s/d: weights of" in capsys.readouterr().err
    assert launch.weight_groups([]) == []


def test_trim_keeps_what_the_device_returns_results_first(tmp_path):
    """The device returns 8 files a call, the first in name order: on 2026-12-06 three launchers in one call packed 11
    and the results of two studies were left behind (their weights, already returned, came back instead). trim keeps
    the results, then rescued weights, then weights no earlier call returned, then the rest, and removes the others."""
    launch = _launch_module()
    out, record = tmp_path / "out", str(tmp_path / "returned.json")
    out.mkdir()

    def archive(name: str, payload: bytes) -> None:
        with tarfile.open(out / name, "w:gz") as tar:
            info = tarfile.TarInfo(f"s/r/{name}.bin")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))

    for i in range(4):
        archive(f"a{i}-weights.tgz", b"old%d" % i)
    kept, removed = launch.trim(str(out), record, call="1", limit=3)
    assert kept == ["a0-weights.tgz", "a1-weights.tgz", "a2-weights.tgz"] and removed == ["a3-weights.tgz"]
    assert sorted(os.listdir(out)) == kept
    # the next call: the same weights (packed again, new gzip time stamps) go last, new weights before them, results first
    for f in os.listdir(out):
        os.remove(out / f)
    for i in range(4):
        archive(f"a{i}-weights.tgz", b"old%d" % i)
    archive("b-weights.tgz", b"new")
    archive("b-rescue.tgz", b"rescue")
    archive("a-trained.tgz", b"evaluated")  # the last call's weights of fully evaluated runs: after new weights
    archive("z_study.tgz", b"results")
    archive("b.tgz", b"results")
    kept, removed = launch.trim(str(out), record, call="2", limit=7)
    assert kept == ["b.tgz", "z_study.tgz", "b-rescue.tgz", "a3-weights.tgz", "b-weights.tgz", "a-trained.tgz", "a0-weights.tgz"]
    assert removed == ["a1-weights.tgz", "a2-weights.tgz"]
    # a second trim in the same call (another launcher) replaces that call's entry, not the earlier call's
    kept2, removed2 = launch.trim(str(out), record, call="2", limit=7)
    assert kept2 == kept and removed2 == []
    assert set(json.load(open(record))) == {"1", "2"}


def test_runs_start_from_their_filed_folders_without_training_again(tmp_path):
    """run --from-results: a filed run carried with its weights is copied into runs/, marked trained, its evaluations
    filed whole marked done, one filed in part narrowed to the sizes it lacks (into eval/<tag>-finish/), one never
    filed run as the study has it, the same answer in every call; a run with no weights filed, or already under
    runs/, is left as it is."""
    launch = _launch_module()
    results, runs_root = tmp_path / "results", tmp_path / "runs" / "s"
    evs = (Eval("stress", (20,), split="stress"), Eval("test", (10, 100)), Eval("runs", (20,), split="runs"), Eval("test-long", (1000,)))
    entries = [Run(n, {}, evs) for n in ("filed", "no-weights", "here")]
    for name in ("filed", "no-weights", "here"):
        d = results / "s" / name
        for tag, res in (("stress", {"split": "stress", "lengths": [{"n": 20}]}),
                         ("test", {"split": "test", "complete": False, "lengths": [{"n": 10}]}),  # cut after 10
                         ("runs", {"split": "runs", "complete": False, "lengths": []})):  # cut before its first size
            (d / "eval" / tag).mkdir(parents=True)
            (d / "eval" / tag / "results.json").write_text(json.dumps(res))
        if name != "no-weights":
            (d / "model.safetensors").write_bytes(b"\0")
    (runs_root / "here").mkdir(parents=True)
    study = Study(name="s", claim="c", runs=entries)
    assert launch.seed_from_results(study, entries, str(results), str(runs_root)) == ["filed"]
    assert (runs_root / "filed" / "model.safetensors").exists()
    assert sorted(p.name for p in (runs_root / "filed" / ".launch").iterdir()) == ["eval-stress.rc", "seeded", "train.rc"]
    resumed = launch.from_results_entries(entries, str(runs_root))
    want = [("stress", (20,)), ("test-finish", (100,)), ("runs-finish", (20,)), ("test-long", (1000,))]
    assert [(ev.tag, ev.lengths) for ev in resumed[0].evals] == want
    assert resumed[1:] == entries[1:]  # not seeded here: as the study has them
    states = launch.step(study, resumed[:1], str(runs_root), job="t")  # the rest of its evaluations start
    assert states["filed"][1].startswith("trained; stress done, test-finish running"), states["filed"]
    assert launch.seed_from_results(study, entries, str(results), str(runs_root)) == []  # once
    # a later call of the lease: the filed folder decides, not what this machine has written since
    (runs_root / "filed" / "eval" / "test-finish").mkdir(parents=True, exist_ok=True)
    assert [(ev.tag, ev.lengths) for ev in launch.from_results_entries(entries, str(runs_root))[0].evals] == want


def test_pack_rescues_weights_of_trained_runs_left_unevaluated(tmp_path):
    """A lease can end with runs trained but not (fully) evaluated: their weights come back in <study>-rescue.tgz (one
    archive, whole runs in table order under the bound), so eval.py can finish them here; runs that keep weights, runs
    still training and fully evaluated runs are not in it."""
    launch = _launch_module()
    runs = tmp_path / "runs" / "s"
    ev = (Eval("test", (2,)),)
    entries = [Run(n, {}, ev, keep_weights=(n == "kept")) for n in ("done", "failed", "big", "unevaluated", "training", "kept")]
    states = {"done": ("0", "0"), "failed": ("0", "124"), "big": ("0", None), "unevaluated": ("0", None), "training": (None, None),
              "kept": ("0", None)}
    for name, (train_rc, eval_rc) in states.items():
        d = runs / name / ".launch"
        d.mkdir(parents=True)
        (runs / name / "model.safetensors").write_bytes(b"\0" * (40 if name == "big" else 8))
        (runs / name / "config.json").write_text("{}")
        for what, rc in (("train", train_rc), ("eval-test", eval_rc)):
            if rc is not None:
                (d / f"{what}.rc").write_text(rc + "\n")
    launch.MAX_ARCHIVE_BYTES = 30
    study = Study(name="s", claim="c", runs=entries)
    launch.pack(study, entries, str(tmp_path / "runs" / "s"), str(tmp_path / "out"))
    rescued = sorted(tarfile.open(tmp_path / "out" / "s-rescue.tgz").getnames())
    assert rescued == ["s/failed/config.json", "s/failed/model.safetensors", "s/unevaluated/config.json", "s/unevaluated/model.safetensors"]
    assert sorted(tarfile.open(tmp_path / "out" / "s-weights.tgz").getnames()) == ["s/kept/config.json", "s/kept/model.safetensors"]
    assert not (tmp_path / "out" / "s-trained.tgz").exists()
    # the lease's last call also sends the weights of the fully evaluated run ("done"), to look into here
    # (2026-12-07: one of three n x 2 Mambas came back without its weights because its evaluations had all finished)
    launch.pack(study, entries, str(tmp_path / "runs" / "s"), str(tmp_path / "out2"), last_call=True)
    assert sorted(tarfile.open(tmp_path / "out2" / "s-trained.tgz").getnames()) == ["s/done/config.json", "s/done/model.safetensors"]
    assert sorted(tarfile.open(tmp_path / "out2" / "s-rescue.tgz").getnames()) == rescued


def test_last_call_packs_the_newest_checkpoint_of_runs_still_training(tmp_path):
    """At the lease's last call (--last-call) a run still training sends its newest finished checkpoint (model files
    and settings, not the optimizer state) in <study>-cut.tgz, filed by unpack as <run>/checkpoint-<step>/; a save that
    had not finished (no trainer_state.json) and finished runs are skipped; without --last-call nothing is cut. Runs
    that do not fit one archive go in the next (``-cut-2.tgz``: six small Mambas need three), a run larger than any
    archive in none."""
    launch = _launch_module()
    runs = tmp_path / "runs" / "s"
    names = ("training", "trained", "unsaved", "second", "huge")
    entries = [Run(n, {}, (Eval("test", (2,)),)) for n in names]
    for name in names:
        (runs / name / ".launch").mkdir(parents=True)
    (runs / "trained" / ".launch" / "train.rc").write_text("0\n")
    (runs / "huge" / "checkpoint-500").mkdir()
    (runs / "huge" / "checkpoint-500" / "model.safetensors").write_bytes(b"\1" * 64)
    (runs / "huge" / "checkpoint-500" / "trainer_state.json").write_text("{}")
    for name, step, finished in (("training", 500, True), ("training", 1000, False), ("trained", 500, True), ("unsaved", 500, False),
                                 ("second", 500, True)):
        c = runs / name / f"checkpoint-{step}"
        (c / "accelerate_state").mkdir(parents=True)
        (c / "accelerate_state" / "optimizer.bin").write_bytes(b"\0" * 16)
        (c / "model.safetensors").write_bytes(b"\1" * 8)
        (c / "config.json").write_text("{}")
        (c / "training_args.json").write_text("{}")
        if finished:
            (c / "trainer_state.json").write_text(json.dumps({"step": step, "final": False}))
    study = Study(name="s", claim="c", runs=entries)
    launch.pack(study, entries, str(runs), str(tmp_path / "out"))
    assert not (tmp_path / "out" / "s-cut.tgz").exists()
    launch.MAX_ARCHIVE_BYTES = 60  # a checkpoint's files here are ~42 bytes: one per archive
    launch.pack(study, entries, str(runs), str(tmp_path / "out"), last_call=True)
    assert sorted(tarfile.open(tmp_path / "out" / "s-cut.tgz").getnames()) == [
        "s/training/checkpoint-500/config.json", "s/training/checkpoint-500/model.safetensors",
        "s/training/checkpoint-500/trainer_state.json", "s/training/checkpoint-500/training_args.json"]
    assert sorted(tarfile.open(tmp_path / "out" / "s-cut-2.tgz").getnames()) == [
        "s/second/checkpoint-500/config.json", "s/second/checkpoint-500/model.safetensors",
        "s/second/checkpoint-500/trainer_state.json", "s/second/checkpoint-500/training_args.json"]
    assert sorted(os.listdir(tmp_path / "out")) == ["s-cut-2.tgz", "s-cut.tgz", "s.tgz"]  # "huge" (64 bytes) in none
    written = launch.unpack(str(tmp_path / "out" / "s-cut.tgz"), str(tmp_path / "results"))
    assert os.path.join(str(tmp_path / "results"), "s", "training", "checkpoint-500", "model.safetensors") in written


def test_a_cut_run_reads_its_settings_from_its_newest_checkpoint(tmp_path):
    """A run filed without its final save (cut by a lease's end; launch.py --last-call sent its newest checkpoint) reads
    its settings from that checkpoint's training_args.json, and a metrics line cut by the packing is skipped."""
    d = tmp_path / "s" / "cut-run"
    for step, lr in ((500, 1e-3), (1500, 2e-3)):
        (d / f"checkpoint-{step}").mkdir(parents=True)
        (d / f"checkpoint-{step}" / "training_args.json").write_text(json.dumps({"train": {"learning_rate": lr}}))
    (d / "checkpoint-x").mkdir()
    (d / "metrics.jsonl").write_text(json.dumps({"step": 10, "loss": 1.0}) + "\n\n" + '{"step": 2')
    run = read_run(str(d))
    assert run["args"] == {"train": {"learning_rate": 2e-3}} and run["metrics"] == [{"step": 10, "loss": 1.0}]
    (d / "training_args.json").write_text(json.dumps({"train": {"learning_rate": 5e-4}}))
    assert read_run(str(d))["args"]["train"]["learning_rate"] == 5e-4  # the final save's settings first


def test_two_launchers_of_one_study_pack_the_union(tmp_path):
    """Two selections of one study in one call write the same <study>.tgz: each launcher packs every run of the study
    that has a folder on the machine, so the archive packed last holds both selections (and no run never started)."""
    launch = _launch_module()
    runs = tmp_path / "runs" / "s"
    ev = (Eval("test", (2,)),)
    entries = [Run(n, {}, ev) for n in ("a1", "a2", "b1", "never")]
    for name in ("a1", "a2", "b1"):
        d = runs / name
        (d / ".launch").mkdir(parents=True)
        (d / ".launch" / "train.rc").write_text("0\n")
        (d / "metrics.jsonl").write_text("{}\n")
        (d / ".launch" / "train.log").write_text(name + "\n")
    study = Study(name="s", claim="c", runs=entries)
    out = tmp_path / "out"
    for selection in (entries[:2], entries[2:3]):  # launcher A ('a*'), then launcher B ('b*'), one $OUT
        launch.pack(study, launch.packed_entries(study, selection, str(runs)), str(runs), str(out))
    names = tarfile.open(out / "s.tgz").getnames()
    assert {n.split("/")[1] for n in names} == {"a1", "a2", "b1"}, names
    assert [e.name for e in launch.packed_entries(study, entries[2:3], str(runs))] == ["b1", "a1", "a2"]


def test_a_training_out_of_gpu_memory_starts_again_when_fewer_run(tmp_path):
    """A training that died of CUDA out-of-memory before its first checkpoint (2026-12-07: the seventh of seven graph
    runs on an 80 GB H100) waits, reported as waiting, until fewer trainings run than when it failed, then starts again
    from scratch (--overwrite-output-dir), its failed log kept; a failure of another kind, or one beside no other
    training, stays failed; restarts stop after MAX_OOM_RESTARTS."""
    launch = _launch_module()
    runs = tmp_path / "runs" / "s"
    names = ("a", "b", "oom", "other")
    study = Study("s", "c", runs=[Run(n, {"max_steps": 4}, ()) for n in names], parallel=4)
    for n in names:
        (runs / n / ".launch").mkdir(parents=True)
    for n in ("a", "b"):  # two trainings still running: a long sleep as their process
        (runs / n / ".launch" / "train.pid").write_text(str(subprocess.Popen(["sleep", "60"]).pid))
    oom_log = "Traceback ...\ntorch.OutOfMemoryError: CUDA out of memory. Tried to allocate 226.00 MiB.\n"
    for n, log in (("oom", oom_log), ("other", "Traceback: boom\n")):
        (runs / n / ".launch" / "train.rc").write_text("1\n")
        (runs / n / ".launch" / "train.log").write_text(log)
        (runs / n / ".launch" / "train.cmd").write_text("python train.py\n")
    try:
        states = launch.step(study, study.runs, str(runs), job="t", python="true")
        assert states["oom"] == (True, "training failed: out of GPU memory beside 2 training(s), starts again when fewer run")
        assert states["other"] == (False, "training failed, no model saved")
        assert launch.step(study, study.runs, str(runs), job="t", python="true")["oom"][0]  # still two: it waits
        assert not (runs / "oom" / ".launch" / "train-1.log").exists()
        os.kill(int((runs / "a" / ".launch" / "train.pid").read_text()), signal.SIGKILL)
        (runs / "a" / ".launch" / "train.rc").write_text("0\n")
        states = launch.step(study, study.runs, str(runs), job="t", python="true")
        assert states["oom"] == (True, "training (started again: it ran out of GPU memory beside other runs)")
        cmd = (runs / "oom" / ".launch" / "train.cmd").read_text()
        assert cmd.split()[0] == "true" and cmd.split()[-1] == "--overwrite-output-dir"
        assert (runs / "oom" / ".launch" / "train-1.log").read_text() == oom_log
        assert (runs / "oom" / ".launch" / "train.oom").read_text() == "failed 2\nrestarted\n"
        settle(runs / "oom")  # the restarted one (the stand-in "python", true) ends at once: say it died the same way
        (runs / "oom" / ".launch" / "train.rc").write_text("1\n")
        (runs / "oom" / ".launch" / "train.log").write_text(oom_log)
        assert launch.step(study, study.runs, str(runs), job="t", python="true")["oom"][0]  # beside b: waits again
        (runs / "b" / ".launch" / "train.rc").write_text("0\n")
        assert launch.step(study, study.runs, str(runs), job="t", python="true")["oom"][1].startswith("training (started again")
        settle(runs / "oom")
        (runs / "oom" / ".launch" / "train.rc").write_text("1\n")  # out of memory with no other training: fewer cannot run
        (runs / "oom" / ".launch" / "train.log").write_text(oom_log)
        assert launch.step(study, study.runs, str(runs), job="t", python="true")["oom"] == (False, "training failed, no model saved")
        assert (runs / "oom" / ".launch" / "train.oom").read_text() == "failed 2\nrestarted\nfailed 1\nrestarted\nfailed 0\n"
        (runs / "oom" / ".launch" / "train.oom").write_text("failed 5\nrestarted\n" * launch.MAX_OOM_RESTARTS + "failed 5\n")
        assert launch.step(study, study.runs, str(runs), job="t", python="true")["oom"] == (False, "training failed, no model saved")
    finally:
        for n in ("a", "b"):
            try:
                os.kill(int((runs / n / ".launch" / "train.pid").read_text()), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass


def test_a_curriculum_stage_starts_from_the_stage_before_it_wherever_the_runs_live():
    """``{runs}`` in a training value is the folder the study's runs train in: the graph curriculum's second stage
    (table1_full graph-*-cur-*) starts from its first stage's weights on the GPU machine and in a rehearsal alike."""
    second = Run("b", {"init_from": "{runs}/a", "max_steps": 2}, after=("a",))
    assert second.train_argv("runs/s/b")[1:3] == ["--init-from", "runs/s/a"]
    assert second.train_argv("/tmp/rehearse/s/b/")[2] == "/tmp/rehearse/s/a"
    study = load_study("table1_full")
    cur = {r.name: r for r in study.runs}["graph-lstm-cur-s0"]
    assert cur.after == ("graph-lstm-n5-s0",) and cur.train["train_max_n"] == 10 and cur.train["max_steps"] == 2000
    assert "runs/table1_full/graph-lstm-n5-s0" in cur.train_argv("runs/table1_full/graph-lstm-cur-s0")


def test_a_run_cut_by_a_lease_continues_in_the_next_from_its_carried_state(tmp_path, capsys):
    """Across leases (a run longer than a lease: iterative Hanoi, ~375M padded tokens): the last call's --carry-state
    packs a cut run's whole newest checkpoint (model, optimizer, scheduler, RNG, checksums); filed here and carried to
    the next lease, --from-results sets the run up to continue and the launcher trains it on with --resume to its
    schedule's end, metrics kept. A state filed in part is named and not continued; the default cut is a model only."""
    launch = _launch_module()
    study = Study("s", "c", runs=[Run("r", dict(preset="mamba-tiny", task="addition", max_steps=4, batch_size=4, eval_every=0,
                                               save_every=2, log_every=1, report_to="none", num_workers=0, eval_samples=1, eval_lengths="2",
                                               seed=0), ())])
    run = study.runs[0]
    env = dict(os.environ, PYTHONPATH=python_path())
    # lease 1: the training is cut after step 2 (train.py --stop-after: a save, then an exit as if killed) while the
    # launcher still sees it running (a live pid) at the lease's last call
    lease1 = tmp_path / "lease1" / "s"
    folder = lease1 / "r"
    rc = subprocess.run([sys.executable, *run.train_argv(str(folder)), "--stop-after", "2"], cwd=ROOT, env=env,
                        capture_output=True, text=True).returncode
    assert rc == 3 and (folder / "checkpoint-2" / "accelerate_state").is_dir() and not (folder / "model.safetensors").exists()
    (folder / ".launch").mkdir()
    (folder / ".launch" / "train.pid").write_text(str(os.getpid()))
    assert launch._state(str(folder), "train") == "running"

    plain = launch.pack(study, study.runs, str(lease1), str(tmp_path / "out-plain"), last_call=True)
    with tarfile.open(tmp_path / "out-plain" / "s-cut.tgz") as tar:
        assert not any("accelerate_state" in n for n in tar.getnames())  # the default: a model to evaluate, no state
    out = tmp_path / "out"
    written = launch.pack(study, study.runs, str(lease1), str(out), last_call=True, carry_state=True)
    assert sorted(os.path.basename(p) for p in written) == ["s-cut-01.tgz", "s.tgz"] and len(plain) == 2
    with tarfile.open(out / "s-cut-01.tgz") as tar:
        names = tar.getnames()
    assert "s/r/checkpoint-2/model.safetensors" in names and names[-1] == "s/r/checkpoint-2/checksums.json"
    assert any(n.startswith("s/r/checkpoint-2/accelerate_state/optimizer") for n in names)
    assert "s/r/checkpoint-2/accelerate_state/model.safetensors" not in names  # the model's bytes again: restored on arrival

    # a state with a file larger than an archive (a 130M model's optimizer) cannot come back: its model goes alone
    import unittest.mock

    with unittest.mock.patch.object(launch, "MAX_ARCHIVE_BYTES", 120_000):  # the optimizer here: ~187 kB
        small = launch.pack(study, study.runs, str(lease1), str(tmp_path / "out-small"), last_call=True, carry_state=True)
    with tarfile.open(next(p for p in small if "-cut" in p)) as tar:
        assert "s/r/checkpoint-2/model.safetensors" in tar.getnames() and not any("accelerate_state" in n for n in tar.getnames())
    assert "its training state cannot come back, its model is packed alone" in capsys.readouterr().err

    results = tmp_path / "results"
    for p in written:
        launch.unpack(p, str(results))

    # a state filed in part (an archive left behind) is refused, with the file it lacks named
    broken = tmp_path / "broken"
    shutil.copytree(results, broken)
    opt = next((broken / "s" / "r" / "checkpoint-2" / "accelerate_state").glob("optimizer*"))
    opt.unlink()
    assert launch.continue_from(str(broken / "s" / "r")) is None
    assert f"accelerate_state/{opt.name} is missing" in capsys.readouterr().err
    assert launch.seed_from_results(study, study.runs, str(broken), str(tmp_path / "lease-x" / "s")) == []
    assert "r: checkpoint-2 is filed without a whole training state" in capsys.readouterr().err  # said, not silent
    model_only = tmp_path / "model-only"
    launch.unpack(next(p for p in plain if p.endswith("-cut.tgz")), str(model_only))
    assert launch.seed_from_results(study, study.runs, str(model_only), str(tmp_path / "lease-y" / "s")) == []
    assert "this run trains from step 0 here" in capsys.readouterr().err

    # lease 2: continued from step 2 to the schedule's end
    lease2 = tmp_path / "lease2" / "s"
    assert launch.seed_from_results(study, study.runs, str(results), str(lease2)) == ["r"]
    states = launch.step(study, study.runs, str(lease2), job="t", python=sys.executable)
    assert states["r"] == (True, "training (continued from step 2, carried from an earlier lease)")
    for _ in range(600):
        if (lease2 / "r" / ".launch" / "train.rc").exists():
            break
        time.sleep(0.2)
    log = (lease2 / "r" / ".launch" / "train.log").read_text()
    assert (lease2 / "r" / ".launch" / "train.rc").read_text().strip() == "0", log[-2000:]
    assert "resumed from" in log and "at step 2" in log
    assert "--resume" in (lease2 / "r" / ".launch" / "train.cmd").read_text()
    assert (lease2 / "r" / "model.safetensors").exists()
    with open(lease2 / "r" / "training_args.json") as f:
        assert json.load(f).get("steps_completed", 4) == 4
    steps = [json.loads(line)["step"] for line in (lease2 / "r" / "metrics.jsonl").read_text().splitlines() if '"loss"' in line]
    assert steps == [1, 2, 3, 4]  # lease 1's rows kept, none repeated
    assert launch.step(study, study.runs, str(lease2), job="t", python=sys.executable)["r"][1].startswith("trained")


def test_carried_states_are_cut_by_run_and_trimmed_to_what_the_device_returns(tmp_path, capsys):
    """The device returns 8 files and 64 MiB a call: run_chunks cuts each run's state into archives of its own under
    the per-file bound (a run with one file above it is left out, named); trim keeps a prefix of its order under the
    byte bound too, so a run's second half is never kept while its first is dropped, nor a later run kept past it."""
    launch = _launch_module()
    runs = []
    for name, sizes in (("a", (6, 6, 3)), ("b", (4,)), ("c", (20, 1))):
        files = []
        for i, size in enumerate(sizes):
            p = tmp_path / f"{name}{i}"
            p.write_bytes(b"\0" * size)
            files.append((str(p), f"s/{name}/checkpoint-2/f{i}"))
        runs.append(files)
    chunks = launch.run_chunks(runs, limit=12)
    assert [[arc.split("/")[1] + arc[-1] for _, arc in c] for c in chunks] == [["a0", "a1"], ["a2"], ["b0"]]
    assert "s/c/checkpoint-2/f0: " in capsys.readouterr().err
    out = tmp_path / "out"
    out.mkdir()
    for name, size in (("s.tgz", 10), ("s-cut-01.tgz", 40), ("s-cut-02.tgz", 40), ("s-cut-03.tgz", 10)):
        with tarfile.open(out / name, "w:gz") as tar:
            payload = os.urandom(size * 100)  # incompressible: the archive's size follows the payload
            info = tarfile.TarInfo(f"s/r/{name}.bin")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    sizes = {f: os.path.getsize(out / f) for f in os.listdir(out)}
    budget = sizes["s.tgz"] + sizes["s-cut-01.tgz"] + sizes["s-cut-03.tgz"]  # room for cut-03, not for cut-02
    kept, removed = launch.trim(str(out), str(tmp_path / "rec.json"), call="1", max_bytes=budget)
    assert kept == ["s.tgz", "s-cut-01.tgz"] and removed == ["s-cut-02.tgz", "s-cut-03.tgz"]
    assert sorted(os.listdir(out)) == ["s-cut-01.tgz", "s.tgz"]
