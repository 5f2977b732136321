"""The data module: split sizes, no leakage, determinism from its own seed, in-memory batches, the splits a pure
function of the data settings (``splits.draw_splits``), and the refusals Python construction makes: sizes that cannot
be drawn together, and more memory than is free. (Values outside their type's range are refused by the command line:
test_cli.py.)"""

import re

import numpy as np
import pytest
import torch

from lit_addition import AdditionDataModule, InputError
from lit_addition.rare_problems import format_sizes
from lit_addition.splits import SPLITS, draw_splits, split_settings


def keys(problems):
    return {(min(a, b), max(a, b)) for a, b in problems}


def test_split_sizes_follow_num_samples_val_fraction_and_test_samples(small_data):
    sizes = {split: len(small_data.problems(split)) for split in ("train", "val", "test")}
    assert sizes == {"train": 1_800, "val": 200, "test": 500}


def test_splits_are_disjoint_even_with_operands_swapped(small_data):
    train, val, test = (keys(small_data.problems(s)) for s in ("train", "val", "test"))
    assert len(train) == 1_800 and len(val) == 200 and len(test) == 500
    assert not train & val and not train & test and not val & test


def test_tensors_spell_the_listed_problems(small_data):
    for split in ("train", "val", "test"):
        dataset = small_data.dataset(split)
        questions = small_data.encoding.decode_questions(dataset.questions.numpy())
        answers = small_data.encoding.decode_answers(dataset.answers.numpy())
        problems = small_data.problems(split)
        assert questions == [f"{a}+{b}" for a, b in problems]
        assert answers == [str(a + b) for a, b in problems]


def test_both_orders_trains_on_each_training_problem_swapped_too_and_leaves_the_rest_alone(small_data):
    data = AdditionDataModule(**{**small_data.hparams, "both_orders": True})
    data.setup()
    problems = data.problems("train")
    assert problems == small_data.problems("train")  # the same draw and split
    swapped = [(b, a) for a, b in problems if a != b]
    questions = data.encoding.decode_questions(data.dataset("train").questions.numpy())
    assert questions == [f"{a}+{b}" for a, b in problems + swapped]
    assert data.encoding.decode_answers(data.dataset("train").answers.numpy()) == [
        str(a + b) for a, b in problems + swapped
    ]
    for split in ("val", "test"):
        assert torch.equal(data.dataset(split).questions, small_data.dataset(split).questions)


def test_same_seed_same_split_other_seed_other_split():
    def splits(seed):
        data = AdditionDataModule(digits=3, num_samples=3_000, test_samples=300, seed=seed)
        data.setup()
        return [data.problems(s) for s in ("train", "val", "test")]

    assert splits(11) == splits(11)
    assert splits(11) != splits(12)


def test_setup_draws_once(small_data):
    before = small_data.dataset("train")
    small_data.setup("validate")
    assert small_data.dataset("train") is before


def test_an_epoch_of_batches_covers_the_training_split_once(small_data):
    seen = []
    for questions, answers in small_data.train_dataloader():
        assert questions.dtype == answers.dtype == torch.int64
        assert questions.shape[1:] == (5,) and answers.shape[1:] == (3,)
        assert len(questions) <= 64
        seen.extend(small_data.encoding.decode_questions(questions.numpy()))
    assert sorted(seen) == sorted(f"{a}+{b}" for a, b in small_data.problems("train"))


def test_evaluation_batches_keep_split_order(small_data):
    loader = small_data.val_dataloader()
    questions = torch.cat([q for q, _ in loader])
    assert torch.equal(questions, small_data.dataset("val").questions)


def test_whole_two_digit_space_fits_exactly():
    data = AdditionDataModule(digits=2, num_samples=5_000, test_samples=50)
    data.setup()
    everything = set().union(*(keys(data.problems(s)) for s in ("train", "val", "test")))
    assert len(everything) == 5_050


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"digits": 2, "num_samples": 5_000, "test_samples": 5_000}, r"only 5,050 distinct problems exist"),
        ({"digits": 0}, r"^digits must be a whole number from 1 to 9, got 0$"),
        ({"num_samples": 3, "val_fraction": 0.1}, r"leaves 0 validation and 3 training problems"),
        ({"num_samples": 2, "val_fraction": 0.9}, r"leaves 2 validation and 0 training problems"),
    ],
)
def test_sizes_that_cannot_be_drawn_are_refused_clearly(kwargs, message):
    with pytest.raises(InputError, match=message):
        AdditionDataModule(**kwargs)


def test_a_data_set_larger_than_free_memory_is_refused_before_anything_is_drawn():
    with pytest.raises(InputError) as refused:
        AdditionDataModule(digits=7, num_samples=100_000_000_000)
    pattern = (
        r"100,000,005,000 problems \(num_samples \+ test_samples\) need about [\d,]+\.\d GiB of memory to draw and "
        r"encode, but this machine has [\d,]+\.\d GiB free: lower data.num_samples"
    )
    assert re.fullmatch(pattern, str(refused.value))


def test_the_splits_are_draw_splits_of_the_data_settings():
    settings = {"digits": 3, "num_samples": 3_000, "val_fraction": 0.2, "test_samples": 300, "seed": 8,
                "uniform_share": 0.5, "carry_share": 0.2, "nines_share": 0.05, "top_nines_share": 0.01,
                "short_chain_share": 0.02, "zeros_share": 0.01, "train_small_formats": 100,
                "val_seen_answers": True}  # fmt: skip
    data = AdditionDataModule(**settings, both_orders=True, batch_size=7)
    data.setup()
    assert split_settings(data.hparams) == settings  # the batch, the orders and the encoding do not draw
    drawn = draw_splits(**settings)
    assert list(drawn) == list(SPLITS)
    for split, (a, b) in drawn.items():
        assert data.problems(split) == list(zip(a.tolist(), b.tolist(), strict=True))
    assert [len(drawn[split][0]) for split in SPLITS] == [2_400, 600, 300]


def test_val_seen_answers_keeps_in_training_every_answer_and_moves_nothing_else():
    """Seed 202 of the 2-digit config holds ``99+99``, the only problem with the answer 198, out for validation: with
    ``val_seen_answers`` it trains on it, and validation takes the last problem that may validate in its place."""
    settings = {"digits": 2, "num_samples": 5_000, "val_fraction": 0.1, "test_samples": 50, "seed": 202}
    plain, seen = draw_splits(**settings), draw_splits(**settings, val_seen_answers=True)
    pairs = {name: {split: set(zip(a.tolist(), b.tolist(), strict=True)) for split, (a, b) in drawn.items()}
             for name, drawn in (("plain", plain), ("seen", seen))}  # fmt: skip
    assert (99, 99) in pairs["plain"]["val"] and (99, 99) in pairs["seen"]["train"]
    assert [len(seen[split][0]) for split in SPLITS] == [4_500, 500, 50]
    assert pairs["seen"]["test"] == pairs["plain"]["test"]
    moved = pairs["plain"]["val"] - pairs["seen"]["val"]
    assert moved == pairs["seen"]["train"] - pairs["plain"]["train"] and (99, 99) in moved
    assert len(moved) == len(pairs["seen"]["val"] - pairs["plain"]["val"])
    answers = set((seen["train"][0] + seen["train"][1]).tolist())
    assert answers >= set((seen["val"][0] + seen["val"][1]).tolist())
    assert answers == set((plain["train"][0] + plain["train"][1]).tolist()) | {198}
    refusal = (
        r"^val_seen_answers=true leaves 24 problems that may validate \(answers shared with an earlier problem\), "
        r"fewer than the 32 asked for: lower val_fraction or raise num_samples$"
    )
    with pytest.raises(InputError, match=refusal):
        draw_splits(digits=1, num_samples=40, val_fraction=0.8, test_samples=0, seed=0, val_seen_answers=True)


@pytest.mark.parametrize("val_seen_answers", [False, True])
def test_train_small_formats_trains_every_problem_of_them_and_keeps_the_split_sizes(val_seen_answers):
    settings = {"digits": 3, "num_samples": 50_000, "val_fraction": 0.1, "test_samples": 5_000, "seed": 23,
                "uniform_share": 0.25, "carry_share": 0.02, "val_seen_answers": val_seen_answers}  # fmt: skip
    drawn = draw_splits(**settings, train_small_formats=1_000)
    assert [len(drawn[split][0]) for split in SPLITS] == [45_000, 5_000, 5_000]
    small = {split: (format_sizes(a) * format_sizes(b) <= 1_000).sum() for split, (a, b) in drawn.items()}
    assert small == {"train": 955, "val": 0, "test": 0}  # 0+0 to 9+99, each once, all in training
    plain = draw_splits(**settings)
    assert sum((format_sizes(a) * format_sizes(b) <= 1_000).sum() for a, b in (plain["val"], plain["test"])) > 0
    with pytest.raises(InputError, match="train_small_formats=1000 puts 955 problems in training, more than the 900"):
        draw_splits(**{**settings, "num_samples": 1_000, "test_samples": 100}, train_small_formats=1_000)


def test_problems_before_setup_and_unknown_split_are_explained():
    data = AdditionDataModule(digits=1, num_samples=20, test_samples=5)
    with pytest.raises(RuntimeError, match="call setup"):
        data.problems("train")
    data.setup()
    with pytest.raises(InputError, match="unknown split 'dev'"):
        data.problems("dev")


def test_empty_test_split_is_explained():
    data = AdditionDataModule(digits=1, num_samples=20, test_samples=0)
    data.setup()
    with pytest.raises(InputError, match="test split is empty"):
        data.test_dataloader()


def test_digit_counts_of_operands_stay_within_bounds(small_data):
    a, b = np.array(small_data.problems("train")).T
    assert a.max() <= 99 and b.max() <= 99 and a.min() >= 0 and b.min() >= 0


def test_uniform_share_keeps_problems_unique_and_the_splits_disjoint():
    data = AdditionDataModule(digits=3, num_samples=3_000, test_samples=300, uniform_share=0.5, seed=6)
    data.setup()
    train, val, test = (keys(data.problems(s)) for s in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (2_700, 300, 300)
    assert not train & val and not train & test and not val & test


def test_carry_share_keeps_problems_unique_and_the_splits_disjoint():
    data = AdditionDataModule(
        digits=3, num_samples=3_000, test_samples=300, uniform_share=0.25, carry_share=0.2, seed=6
    )
    data.setup()
    train, val, test = (keys(data.problems(s)) for s in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (2_700, 300, 300)
    assert not train & val and not train & test and not val & test


def test_the_defaults_draw_as_the_reference_does():
    """No swapped copies, no uniform or carry-chain draws, batch 32: the reference's data (the recipes are in
    configs/)."""
    defaults = AdditionDataModule(digits=2, num_samples=600, test_samples=50)
    explicit = AdditionDataModule(digits=2, num_samples=600, test_samples=50, uniform_share=0.0, carry_share=0.0)
    defaults.setup()
    explicit.setup()
    assert all(defaults.problems(split) == explicit.problems(split) for split in SPLITS)
    assert len(defaults.dataset("train")) == 540  # each problem once
    assert len(next(iter(defaults.train_dataloader()))[0]) == 32
