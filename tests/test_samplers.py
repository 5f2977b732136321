"""The samplers: an order from (seed, epoch) alone, equal disjoint shares per rank, exact mid-epoch skips, and
evaluation shards that cover a split exactly once."""

import pytest
import torch

from lit_addition.data import ProblemTensors
from lit_addition.samplers import EvalBatches, TrainBatches


def split_of(size: int) -> ProblemTensors:
    ids = torch.arange(size).unsqueeze(1)
    return ProblemTensors(ids, ids)


def epoch(sampler, number: int) -> list[torch.Tensor]:
    sampler.set_epoch(number)
    return list(sampler)


def test_training_order_depends_only_on_seed_and_epoch():
    def order(seed, number):
        return torch.cat(epoch(TrainBatches(split_of(1_000), batch_size=64, seed=seed), number))

    first = order(5, 0)
    assert sorted(first.tolist()) == list(range(1_000))  # a permutation of the whole split
    assert torch.equal(first, order(5, 0))  # a fresh sampler, as after a restart, gives the same order
    assert not torch.equal(first, order(5, 1))
    assert not torch.equal(first, order(6, 0))


@pytest.mark.parametrize("replicas", [2, 3])
def test_each_rank_trains_on_its_own_equal_share(replicas):
    size, batch = 1_001, 50
    shares = [
        torch.cat(epoch(TrainBatches(split_of(size), batch, seed=1, replicas=replicas, rank=r), 3))
        for r in range(replicas)
    ]
    assert {len(share) for share in shares} == {size // replicas}  # same number of steps on every rank
    together = torch.cat(shares).tolist()
    assert len(set(together)) == len(together) == size - size % replicas  # disjoint, at most replicas-1 left out
    # The shares interleave into the single-process order: every rank cuts the same (seed, epoch) permutation.
    single = torch.cat(epoch(TrainBatches(split_of(size), batch, seed=1), 3))
    assert torch.equal(torch.stack(shares, 1).flatten(), single[: size - size % replicas])


def test_length_counts_the_batches_yielded():
    sampler = TrainBatches(split_of(1_001), batch_size=50, seed=1, replicas=3, rank=2)
    batches = epoch(sampler, 0)
    assert len(sampler) == len(batches) == 7  # 333 problems: six batches of 50 and one of 33
    assert [len(b) for b in batches] == [50] * 6 + [33]


def test_resumed_epoch_continues_with_the_batches_not_yet_taken():
    done = {"batches": 0}
    sampler = TrainBatches(split_of(700), batch_size=64, seed=9, batches_done=lambda: done["batches"])
    whole = epoch(sampler, 4)
    done["batches"] = 5
    rest = epoch(TrainBatches(split_of(700), batch_size=64, seed=9, batches_done=lambda: done["batches"]), 4)
    assert len(rest) == len(whole) - 5
    assert all(torch.equal(a, b) for a, b in zip(rest, whole[5:], strict=True))


@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
@pytest.mark.parametrize("size", [7, 61, 100])
def test_evaluation_shards_cover_the_split_once_in_order(replicas, size):
    dataset = split_of(size)
    seen, lengths = [], []
    for rank in range(replicas):
        sampler = EvalBatches(dataset, batch_size=10, replicas=replicas, rank=rank)
        batches = list(sampler)
        assert len(sampler) == len(batches)
        lengths.append(sum(len(dataset[b][0]) for b in batches))
        seen.extend(dataset[b][0].squeeze(1).tolist() for b in batches)
    assert [i for batch in seen for i in batch] == list(range(size))  # no repeat, no gap
    assert max(lengths) - min(lengths) <= 1
