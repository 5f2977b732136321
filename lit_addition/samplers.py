"""Which problems each DDP rank sees, in which order, batch by batch: exact under DDP and exact across a resume.

Two samplers, each handing the DataLoader whole batches of indices (a tensor or a slice), never single indices:

* :class:`TrainBatches` shuffles the training split with an order that depends only on ``(seed, epoch)``, gives
  each rank its own equal share of it, and, when a run resumes mid-epoch, starts at the first batch the fit loop has
  not taken yet. An interrupted run and an uninterrupted one therefore train on the same batches in the same order.
* :class:`EvalBatches` gives each rank a contiguous slice of an evaluation split, with no problem left out and none
  repeated, so that metrics reduced across ranks equal a single-process evaluation exactly. PyTorch's
  ``DistributedSampler`` would pad the split with repeats up to a multiple of the world size instead.

Both derive from ``DistributedSampler`` only so that Lightning recognises them as already sharded and does not wrap
them in a sampler of its own; they take the world size and rank from the Trainer rather than from
``torch.distributed``, so they work the same in a single process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch
from lightning.pytorch import Trainer
from torch.utils.data import Dataset, DistributedSampler


def data_parallel_shard(trainer: Trainer | None) -> tuple[int, int]:
    """``(replicas, rank)`` of the data-parallel group this process belongs to; ``(1, 0)`` without a Trainer."""
    kwargs = trainer.distributed_sampler_kwargs if trainer is not None else None
    if not kwargs:
        return 1, 0
    return kwargs["num_replicas"], kwargs["rank"]


class TrainBatches(DistributedSampler):
    """Shuffled training batches for one rank: order from ``(seed, epoch)`` only, resumable mid-epoch.

    Each epoch is a fresh permutation of the whole split. With ``replicas`` ranks, the permutation is cut to a
    multiple of ``replicas`` (at most ``replicas - 1`` problems sit the epoch out, different ones each epoch) and
    rank ``r`` takes every ``replicas``-th problem from position ``r``, so all ranks run the same number of steps.

    Args:
        dataset: the training split.
        batch_size: problems per batch on this rank.
        seed: seed of the order; epoch ``e`` is shuffled by ``numpy.random.default_rng([seed, e])``.
        replicas: number of data-parallel ranks.
        rank: this rank.
        batches_done: called when an epoch's first batch is drawn, returns how many batches of that epoch have
            already been trained on (0 unless the run resumed from a checkpoint taken mid-epoch); those are skipped.
        chosen: indices of the problems this epoch shows (focused epochs, :mod:`lit_addition.focus`); None shows
            every problem. The permutation is then of the chosen problems.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        seed: int,
        replicas: int = 1,
        rank: int = 0,
        batches_done: Callable[[], int] | None = None,
        chosen: torch.Tensor | None = None,
    ) -> None:
        super().__init__(dataset, num_replicas=replicas, rank=rank, shuffle=True, seed=seed)
        self.batch_size = batch_size
        self.batches_done = batches_done
        self.chosen = chosen
        self.shown = len(dataset) if chosen is None else len(chosen)
        self.per_rank = self.shown // replicas

    def __len__(self) -> int:
        return self.batches(self.shown, self.batch_size, self.num_replicas)

    @staticmethod
    def batches(problems: int, batch_size: int, replicas: int) -> int:
        """Batches each rank runs in an epoch of ``problems`` problems."""
        return -(-(problems // replicas) // batch_size)

    def epoch_order(self, epoch: int) -> torch.Tensor:
        """Indices this rank trains on in ``epoch``, in order."""
        permutation = np.random.default_rng([self.seed, epoch]).permutation(self.shown)
        share = torch.from_numpy(permutation[self.rank : self.per_rank * self.num_replicas : self.num_replicas])
        return share if self.chosen is None else self.chosen[share]

    def __iter__(self) -> Iterator[torch.Tensor]:
        # A generator: nothing below runs until the first batch is asked for. By then Lightning has called
        # set_epoch() and restored its loop counters from any checkpoint, which is what makes resuming exact.
        order = self.epoch_order(self.epoch)
        skip = self.batches_done() if self.batches_done is not None else 0
        for start in range(skip * self.batch_size, len(order), self.batch_size):
            yield order[start : start + self.batch_size]


class EvalBatches(DistributedSampler):
    """In-order evaluation batches for one rank, from a contiguous slice of the split with nothing repeated.

    Rank ``r`` of ``replicas`` takes problems ``[r*n//replicas, (r+1)*n//replicas)`` of the ``n`` in the split;
    the slices differ in size by at most one, so ranks may run different numbers of batches. That is safe for
    evaluation: nothing is synchronised per batch, and the metrics are reduced once, at the end of the epoch.

    Args:
        dataset: the evaluation split.
        batch_size: problems per batch.
        replicas: number of data-parallel ranks.
        rank: this rank.
    """

    def __init__(self, dataset: Dataset, batch_size: int, replicas: int = 1, rank: int = 0) -> None:
        super().__init__(dataset, num_replicas=replicas, rank=rank, shuffle=False)
        self.batch_size = batch_size
        self.start = rank * len(dataset) // replicas
        self.end = (rank + 1) * len(dataset) // replicas

    def __len__(self) -> int:
        return -(-(self.end - self.start) // self.batch_size)

    def __iter__(self) -> Iterator[slice]:
        for start in range(self.start, self.end, self.batch_size):
            yield slice(start, min(start + self.batch_size, self.end))
