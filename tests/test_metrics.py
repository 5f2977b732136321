"""Accuracy metrics on hand-made predictions whose per-character and exact-sequence accuracy are known."""

import pytest
import torch

from lit_addition.encoding import VOCAB
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
