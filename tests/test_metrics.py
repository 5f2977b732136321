"""Accuracy metrics on hand-made predictions whose per-character, per-position and exact-sequence accuracy are
known, and the saving and restoring of their running states."""

import pytest
import torch

from lit_addition.encoding import VOCAB
from lit_addition.metrics import position_metrics, restore_states, synced_states
from lit_addition.model import accuracy_metrics


def ids(*texts: str) -> torch.Tensor:
    return torch.tensor([[VOCAB.index(c) for c in text] for text in texts])


def test_char_and_sequence_accuracy_on_known_predictions():
    metrics = accuracy_metrics("val/")
    target = ids("596 ", "1998", "15  ")
    predicted = ids("596 ", "1988", "51 7")  # all right; one character wrong; three wrong
    values = metrics(predicted, target)
    assert values["val/char_acc"].item() == pytest.approx(8 / 12)
    assert values["val/seq_acc"].item() == pytest.approx(1 / 3)


def test_accumulates_over_batches_of_different_sizes():
    metrics = accuracy_metrics("test/")
    metrics.update(ids("10 ", "11 "), ids("10 ", "12 "))  # 5/6 characters, 1/2 sequences
    metrics.update(ids("99 "), ids("99 "))  # 3/3, 1/1
    values = metrics.compute()
    assert values["test/char_acc"].item() == pytest.approx(8 / 9)
    assert values["test/seq_acc"].item() == pytest.approx(2 / 3)


def test_position_accuracy_scores_each_answer_character():
    positions = position_metrics("val/", 4)
    target = ids("596 ", "1998", "15  ")
    predicted = ids("596 ", "1988", "55 7")  # wrong: the third answer at 0, the second at 2, the third at 3
    values = positions(predicted, target)
    assert {k: v.item() for k, v in values.items()} == pytest.approx(
        {"val/pos_acc/0": 2 / 3, "val/pos_acc/1": 1.0, "val/pos_acc/2": 2 / 3, "val/pos_acc/3": 2 / 3}
    )
    # Every answer has the same length, so the mean over positions is the per-character accuracy.
    char_acc = accuracy_metrics("val/")(predicted, target)["val/char_acc"]
    assert torch.stack(list(values.values())).mean().item() == pytest.approx(char_acc.item())


def test_states_saved_mid_epoch_restore_into_fresh_metrics():
    metrics = accuracy_metrics("train/")
    metrics.update(ids("10 ", "11 "), ids("10 ", "12 "))
    states = synced_states(metrics)  # one process: the states as they are
    assert metrics.compute()["train/seq_acc"].item() == 0.5  # left usable
    restored = accuracy_metrics("train/")
    restore_states(restored, states)
    restored.update(ids("99 "), ids("99 "))
    metrics.update(ids("99 "), ids("99 "))
    assert {k: v.item() for k, v in restored.compute().items()} == {k: v.item() for k, v in metrics.compute().items()}


def test_positions_that_agree_on_the_first_batch_are_still_scored_apart():
    positions = position_metrics("test/", 3)
    positions.update(ids("12 "), ids("12 "))  # every position right
    positions.update(ids("95 "), ids("15 "))  # only position 0 wrong
    values = {k: v.item() for k, v in positions.compute().items()}
    assert values == {"test/pos_acc/0": 0.5, "test/pos_acc/1": 1.0, "test/pos_acc/2": 1.0}
