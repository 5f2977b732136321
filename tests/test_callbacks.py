"""The callbacks: SamplePredictions (the reference's line format, correctness marks, colour rules, output from a real
model), EpochLines (one line per epoch off a terminal) and TrainingTime (``time/train_s``). What they write to
TensorBoard, with RunSummary's HParams: test_tensorboard.py."""

import re

import lightning as L
import numpy as np
import pytest
from helpers import assert_epoch_lines

from lit_addition import AdditionModel, SamplePredictions
from lit_addition.callbacks import TIME_METRIC, EpochLines, TrainingTime, colour_enabled, sample_lines
from lit_addition.runtime.encoding import Encoding

LINE = re.compile(r"^Q (\d+)\+(\d+) +T (\d+) +(☑|☒) (\S*)$")


def test_lines_follow_the_reference_layout():
    encoding = Encoding(digits=3)
    a, b = np.array([535, 99]), np.array([61, 1])
    predicted = encoding.encode_answers(np.array([535, 99]), np.array([61, 10]))  # right, then 109 for 100
    lines = sample_lines(encoding, encoding.encode_questions(a, b), encoding.encode_answers(a, b), predicted)
    assert [line.format(mark="☑" if ok else "☒") for line, ok in lines] == [
        "Q 535+61  T 596  ☑ 596",
        "Q 99+1    T 100  ☒ 109",
    ]


class FakeTerminal:
    def isatty(self):
        return True


def test_colour_only_on_a_terminal_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert colour_enabled(FakeTerminal())
    assert not colour_enabled(object())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not colour_enabled(FakeTerminal())


def test_prints_n_validation_problems_after_each_validation_epoch(small_data, capsys):
    L.seed_everything(0, verbose=False)
    trainer = L.Trainer(
        max_epochs=2,
        limit_train_batches=2,
        callbacks=[SamplePredictions(n=4)],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=2,
    )
    trainer.fit(AdditionModel(digits=2), small_data)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Q ")]
    assert len(lines) == 8  # two epochs of four; the sanity check prints none
    val = set(small_data.problems("val"))
    for line in lines:
        a, b, target, mark, guess = LINE.match(line).groups()
        assert (int(a), int(b)) in val  # shown un-reversed, from the validation split
        assert int(target) == int(a) + int(b)
        assert (mark == "☑") == (guess == target)
    assert lines[:4] != lines[4:]  # each epoch draws its own problems


def test_epoch_lines_give_each_epoch_its_seconds_of_training_time_and_its_figures(small_data, capsys):
    timer = TrainingTime()
    trainer = L.Trainer(
        max_epochs=3,
        limit_train_batches=4,
        callbacks=[EpochLines(), timer],
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(AdditionModel(digits=2), small_data)
    lines = capsys.readouterr().out.splitlines()
    assert_epoch_lines(lines, epochs=3)
    seconds = [float(re.search(r": (\d+\.\d) s, ", line).group(1)) for line in lines if line.startswith("Epoch ")]
    # Each line's seconds are its epoch's share of time/train_s, the seconds since training started.
    total = trainer.callback_metrics[TIME_METRIC].item()
    assert sum(seconds) == pytest.approx(total, abs=0.05 * len(seconds) + 1e-9)
    assert 0 < total <= timer.time_elapsed("train")
