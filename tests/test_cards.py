"""Model cards are filled from training_args.json: a continued run (--init_from) says so and its command has it."""

import os
import shutil

from toolssm.cards import write_model_card

ROOT = os.path.join(os.path.dirname(__file__), "..")
ALIGNED = os.path.join(ROOT, "results", "multiplication", "aligned")


def _card(tmp_path, run):
    d = tmp_path / os.path.basename(run)
    d.mkdir()
    for f in ("training_args.json", "config.json"):
        shutil.copy(os.path.join(run, f), d / f)
    return write_model_card(str(d))


def test_card_of_a_continued_run_names_its_start(tmp_path):
    text = _card(tmp_path, os.path.join(ALIGNED, "mul2a-mamba-s2-cont"))
    assert "continued from `runs/s5a/mul2a-mamba-s2`" in text
    assert "--init_from runs/s5a/mul2a-mamba-s2 --warmup_steps 50" in text
    assert "678 steps (of 1000 planned" in text


def test_card_of_a_fresh_run_has_no_init_from(tmp_path):
    text = _card(tmp_path, os.path.join(ALIGNED, "mul2a-mamba-s2"))
    assert "--init_from" not in text and "continued from" not in text
    assert "900 steps," in text and "--seed 2 --data_seed 2" in text
