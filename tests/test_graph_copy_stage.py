"""scripts/graph_copy_stage.py: the names-only loss keeps exactly the digits of the names the model writes, and a
saved stage loads as the next stage's start."""

import os
import random
import re
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import graph_copy_stage  # noqa: E402
from toolssm import vocab as V  # noqa: E402
from toolssm.tasks import get_task  # noqa: E402


@pytest.mark.parametrize("config", ["default", "value_lines"])
def test_names_loss_keeps_the_written_name_digits_and_nothing_else(config):
    task = get_task("logical_graph", config)
    full = graph_copy_stage.examples(task, random.Random(5), 6, 8, "all")
    names = graph_copy_stage.examples(task, random.Random(5), 6, 8, "names")  # the same graphs
    for f, n in zip(full, names):
        assert f["input_ids"] == n["input_ids"]
        kept = [i for i, lab in enumerate(n["labels"]) if lab != graph_copy_stage.IGNORE]
        # independent count: every name in the trained (thought / command / output) text, four digits each
        trained_text = "".join(V.VOCAB[lab] if lab != graph_copy_stage.IGNORE else "\x00" for lab in f["labels"])
        written = re.findall(r"v\d{4}", trained_text)
        assert written and len(kept) == 4 * len(written)
        assert all(V.VOCAB[n["labels"][i]].isdigit() and n["labels"][i] == f["labels"][i] for i in kept)
        # nothing of the prompt or the observations (their labels are ignored in the full trace too)
        assert all(f["labels"][i] != graph_copy_stage.IGNORE for i in kept)


def test_a_saved_stage_is_the_next_stages_start(tmp_path, capsys):
    out = tmp_path / "names"
    assert graph_copy_stage.main(["--preset", "gru-small", "--loss", "names", "--steps", "2", "--every", "2",
                                  "--batch-size", "4", "--save", str(out), "--threads", "1"]) == 0
    assert (out / "config.json").exists()
    assert graph_copy_stage.main(["--init-from", str(out), "--loss", "all", "--steps", "1", "--batch-size", "4", "--threads", "1"]) == 0
    log = capsys.readouterr().out
    assert re.search(r"step 2 loss [\d.]+ name digits [\d.]+ names whole", log)
    # the second stage starts from the first one's weights: its step-0 scores are the first stage's last
    first_last = re.findall(r"step 2 loss [\d.]+ name digits ([\d.]+) names whole ([\d.]+) trained tokens ([\d.]+)", log)[0]
    second_start = re.findall(r"step 0 name digits ([\d.]+) names whole ([\d.]+) trained tokens ([\d.]+)", log)[1]
    assert first_last == second_start
