"""Accuracy per answer position, and the running metric totals that a mid-epoch checkpoint carries.

``PositionAccuracy`` says which answer character the model gets wrong, and so which carry. Position ``i`` is the
``i``-th character of the answer as the model writes it (``digits + 1`` characters, padding included):

* ``reverse_answer=True`` (the default): units first, so position ``i`` is always the ``10**i`` digit; the last
  position is the digit that only a final carry produces, blank when the sum is shorter;
* ``reverse_answer=False``: most significant digit first, left-aligned, so position 0 is the leading digit of every
  sum, whatever its length, and the last positions are blanks for short sums.

The mean over positions is ``char_acc``, since every answer has the same number of characters.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric, MetricCollection


class PositionAccuracy(Metric):
    """Share of answers right at one answer position, from predicted and true token ids ``(batch, length)``.

    The states are sums (answers right at the position, and answers seen), so ranks reduce by adding them.

    Args:
        position: which answer character to score, 0 being the first the model writes.
    """

    full_state_update = False
    higher_is_better = True

    def __init__(self, position: int) -> None:
        super().__init__()
        self.position = position
        self.add_state("correct", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("total", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, predicted: torch.Tensor, target: torch.Tensor) -> None:
        self.correct += (predicted[:, self.position] == target[:, self.position]).sum()
        self.total += len(target)

    def compute(self) -> torch.Tensor:
        return self.correct / self.total


def position_metrics(prefix: str, length: int) -> MetricCollection:
    """``<prefix>pos_acc/<i>`` for every answer position ``i``, ready for ``LightningModule.log_dict``."""
    metrics = {f"pos_acc/{i}": PositionAccuracy(i) for i in range(length)}
    # No compute groups: torchmetrics would merge positions whose states happen to agree after the first batch.
    return MetricCollection(metrics, prefix=prefix, compute_groups=False)


def synced_states(metrics: MetricCollection) -> dict[str, dict[str, torch.Tensor]]:
    """Every metric's states reduced over all ranks (every rank must call this); the metrics are left as they were."""
    states = {}
    for name, metric in metrics.items(keep_base=True):
        with metric.sync_context():
            states[name] = {key: value.detach().clone() for key, value in metric.metric_state.items()}
    return states


def restore_states(metrics: MetricCollection, states: dict[str, dict[str, torch.Tensor]]) -> None:
    """Set the metrics' states to ``states`` (from :func:`synced_states`), on the metrics' own device."""
    for name, metric in metrics.items(keep_base=True):
        for key, value in states[name].items():
            setattr(metric, key, value.to(metric.device))
