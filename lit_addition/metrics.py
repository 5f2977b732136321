"""The answer accuracies, scored from one comparison per batch, and the running totals a mid-epoch checkpoint carries.

:class:`AnswerAccuracy` compares predicted and true answer token ids once per batch and keeps three sums, from which
it computes every accuracy the model logs:

* ``char_acc``: the share of answer characters right, padding included (the reference's "accuracy");
* ``seq_acc``: the share of answers right in every character, the figure a user of a calculator cares about;
* ``pos_acc/<i>``: the share right at answer position ``i``, which says which digit, and so which carry, is wrong.

Position ``i`` is the ``i``-th character of the answer as the model writes it (``digits + 1`` characters):

* ``reverse_answer=True`` (the default): units first, so position ``i`` is always the ``10**i`` digit; the last
  position is the digit that only a final carry produces, blank when the sum is shorter;
* ``reverse_answer=False``: most significant digit first, left-aligned, so position 0 is the leading digit of every
  sum, whatever its length, and the last positions are blanks for short sums.

Every answer has the same number of characters, so ``char_acc`` is the mean of the positions. One metric rather than
a collection of torchmetrics classifiers: at small batches each extra metric update is a measurable share of a step.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric


class AnswerAccuracy(Metric):
    """Per-character, exact-sequence and per-position accuracy of answers, as token ids ``(batch, length)``.

    The states are sums (answers right at each position, answers right throughout, answers seen), so DDP ranks
    reduce by adding them and the result equals one process scoring every answer.

    Args:
        length: characters per answer.
        positions: whether :meth:`compute` includes ``pos_acc/<i>`` for every position.
    """

    full_state_update = False
    higher_is_better = True

    def __init__(self, length: int, positions: bool = True) -> None:
        super().__init__()
        self.positions = positions
        self.add_state("position_correct", torch.zeros(length, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("sequence_correct", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("total", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, predicted: torch.Tensor, target: torch.Tensor) -> None:
        right = predicted == target
        self.position_correct += right.sum(0)
        self.sequence_correct += right.all(1).sum()
        self.total += len(target)

    def compute(self) -> dict[str, torch.Tensor]:
        scores = {
            "char_acc": self.position_correct.sum() / (self.total * len(self.position_correct)),
            "seq_acc": self.sequence_correct / self.total,
        }
        if self.positions:
            scores.update({f"pos_acc/{i}": correct / self.total for i, correct in enumerate(self.position_correct)})
        return scores


def synced_states(metric: Metric) -> dict[str, torch.Tensor]:
    """The metric's states reduced over all ranks (every rank must call this); the metric is left as it was."""
    with metric.sync_context():
        return {key: value.detach().clone() for key, value in metric.metric_state.items()}


def restore_states(metric: Metric, states: dict[str, torch.Tensor]) -> None:
    """Set the metric's states to ``states`` (from :func:`synced_states`), on the metric's own device."""
    for key, value in states.items():
        setattr(metric, key, value.to(metric.device))
