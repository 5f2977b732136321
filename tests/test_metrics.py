"""AnswerAccuracy on hand-made predictions whose per-character, per-position and exact-sequence accuracy are known,
and the saving and restoring of its running states."""

import pytest
import torch
from torchmetrics.classification import MulticlassAccuracy, MulticlassExactMatch

from lit_addition.metrics import AnswerAccuracy, restore_states, synced_states
from lit_addition.runtime.encoding import VOCAB, VOCAB_SIZE


def ids(*texts: str) -> torch.Tensor:
    return torch.tensor([[VOCAB.index(c) for c in text] for text in texts])


def scores(metric: AnswerAccuracy) -> dict[str, float]:
    return {name: value.item() for name, value in metric.compute().items()}


def test_char_sequence_and_position_accuracy_on_known_predictions():
    metric = AnswerAccuracy(4)
    target = ids("596 ", "1998", "15  ")
    metric.update(ids("596 ", "1988", "55 7"), target)  # wrong: the third at 0 and 3, the second at 2
    assert scores(metric) == pytest.approx(
        {"char_acc": 9 / 12, "seq_acc": 1 / 3, "pos_acc/0": 2 / 3, "pos_acc/1": 1.0, "pos_acc/2": 2 / 3,
         "pos_acc/3": 2 / 3}
    )  # fmt: skip


def test_accumulates_over_batches_of_different_sizes_and_can_leave_out_positions():
    metric = AnswerAccuracy(3, positions=False)
    metric.update(ids("10 ", "11 "), ids("10 ", "12 "))  # 5/6 characters, 1/2 sequences
    metric.update(ids("99 "), ids("99 "))  # 3/3, 1/1
    assert scores(metric) == pytest.approx({"char_acc": 8 / 9, "seq_acc": 2 / 3})


def test_agrees_with_torchmetrics_classifiers_on_random_answers():
    generator = torch.Generator().manual_seed(0)
    target = torch.randint(0, VOCAB_SIZE, (500, 5), generator=generator)
    predicted = torch.where(torch.rand(500, 5, generator=generator) < 0.9, target, (target + 1) % VOCAB_SIZE)
    values = AnswerAccuracy(5)(predicted, target)
    assert values["char_acc"] == MulticlassAccuracy(VOCAB_SIZE, average="micro")(predicted, target)
    assert values["seq_acc"] == MulticlassExactMatch(VOCAB_SIZE)(predicted, target)
    assert values["char_acc"].item() == pytest.approx(torch.stack([values[f"pos_acc/{i}"] for i in range(5)]).mean())


def test_states_saved_mid_epoch_restore_into_a_fresh_metric():
    metric = AnswerAccuracy(3)
    metric.update(ids("10 ", "11 "), ids("10 ", "12 "))
    states = synced_states(metric)  # one process: the states as they are
    assert metric.compute()["seq_acc"].item() == 0.5  # left usable
    restored = AnswerAccuracy(3)
    restore_states(restored, states)
    restored.update(ids("99 "), ids("99 "))
    metric.update(ids("99 "), ids("99 "))
    assert scores(restored) == scores(metric)
