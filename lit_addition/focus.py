"""Focused epochs: once the model has trained on every problem a few times, each epoch shows the problems it found
hardest and a random share of the rest, instead of every problem again.

By the middle of a 3-digit fit nearly every training problem is answered right with a loss near zero; what is left
to learn sits in a few thousand problems, the rarest formats and the longest carries. A full epoch spends nearly all
of its steps on problems already known. :class:`HardestProblems` keeps, for every training problem, the loss it had
the last time the model trained on it (free: the training step computes it anyway), and from epoch ``after`` on
picks each epoch's problems from those losses: the ``hardest`` share with the highest, and ``others``, a random
share of the rest, so that known problems are still revisited and a forgotten one is found and moved up.

Every rank must train on the same selection. Each rank records the losses of its own share of an epoch; at the
start of the next epoch the records are summed over the ranks (each problem was trained on by one rank), so every
rank holds the same losses and makes the same choice. The state goes into the data module's checkpoint, so a
resumed run picks the same problems as one that was never interrupted.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from lit_addition.runtime.errors import InputError

Reduce = Callable[[torch.Tensor], torch.Tensor]


class HardestProblems:
    """The training problems of each epoch, chosen by the losses the model last had on them.

    Args:
        problems: how many training problems (examples, repeats and swapped orders counted) there are.
        after: epochs that show every problem before the first focused one.
        hardest: share of the problems a focused epoch takes by highest last loss.
        others: share of the problems a focused epoch draws at random from the rest.
        seed: seed of the random share; epoch ``e`` draws from ``numpy.random.default_rng([seed, e, 1])``.
    """

    def __init__(self, problems: int, after: int, hardest: float, others: float, seed: int) -> None:
        self.problems = problems
        self.after = after
        self.hardest = round(hardest * problems)
        self.others = round(others * problems)
        self.seed = seed
        # The last loss of each problem, over all ranks; infinite until it has been trained on.
        self.losses = torch.full((problems,), math.inf)
        self._new_losses = torch.zeros(problems)  # this epoch's records on this rank, not yet merged
        self._recorded = torch.zeros(problems)
        self.epoch = -1  # the epoch whose choice the losses were last merged for
        self._chosen: tuple[int, torch.Tensor] | None = None

    def size(self, epoch: int) -> int:
        """How many problems ``epoch`` shows, over all ranks."""
        return self.problems if epoch < self.after else self.hardest + self.others

    def record(self, indices: torch.Tensor, losses: torch.Tensor) -> None:
        """Note the losses of the problems at ``indices`` of the training split, as this rank trained on them."""
        if self._new_losses.device != losses.device:  # kept where the losses are made: no copy to the host per step
            self._new_losses, self._recorded = self._new_losses.to(losses.device), self._recorded.to(losses.device)
        self._new_losses[indices] = losses.detach().float()
        self._recorded[indices] = 1.0

    def start(self, epoch: int, reduce_sum: Reduce) -> torch.Tensor | None:
        """The problems of ``epoch`` (see :meth:`chosen`), once every rank's records of the epochs before are merged.
        Collective: every rank calls it at the start of every epoch. An epoch taken up again after a resume keeps
        the choice it started with: its own records so far wait for the next epoch."""
        if epoch != self.epoch:
            self.merge(reduce_sum)
            self.epoch = epoch
        return self.chosen(epoch)

    def merge(self, reduce_sum: Reduce) -> None:
        """Fold every rank's records since the last merge into :attr:`losses` (``reduce_sum``: a sum over ranks,
        collective; every rank must call it)."""
        recorded = reduce_sum(self._recorded)
        new_losses = reduce_sum(self._new_losses)
        self.losses = torch.where(recorded > 0, new_losses / recorded.clamp(min=1), self.losses.to(recorded.device))
        self._new_losses = torch.zeros_like(self.losses)
        self._recorded = torch.zeros_like(self.losses)

    def chosen(self, epoch: int) -> torch.Tensor | None:
        """Indices of the problems ``epoch`` shows, ascending, or None where it shows every problem. The same for
        every call with the same epoch and losses, on every rank."""
        if epoch < self.after:
            return None
        if self._chosen is None or self._chosen[0] != epoch:
            # A stable sort, so that ties (repeats of one problem) are broken the same way on every rank.
            by_loss = torch.argsort(self.losses.cpu(), descending=True, stable=True)
            rest = by_loss[self.hardest :].numpy()
            drawn = np.random.default_rng([self.seed, epoch, 1]).choice(len(rest), self.others, replace=False)
            indices = np.concatenate([by_loss[: self.hardest].numpy(), rest[drawn]])
            self._chosen = (epoch, torch.from_numpy(np.sort(indices)))
        return self._chosen[1]

    def state_dict(self, reduce_sum: Reduce) -> dict[str, Any]:
        """The losses and this epoch's records so far, over every rank (collective)."""
        return {
            "epoch": self.epoch,
            "losses": self.losses.cpu(),
            "new_losses": reduce_sum(self._new_losses).cpu(),
            "recorded": reduce_sum(self._recorded).cpu(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if len(state["losses"]) != self.problems:
            raise InputError(
                f"the checkpoint's focused epochs kept the losses of {len(state['losses'])} training problems, but "
                f"this data has {self.problems}: resume with the data settings the run started with"
            )
        self.epoch = state["epoch"]
        self.losses = state["losses"].clone()
        # Every rank holds the sums; merge() divides by the summed counts, so they still count once.
        self._new_losses, self._recorded = state["new_losses"].clone(), state["recorded"].clone()
        self._chosen = None
