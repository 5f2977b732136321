"""What a trained model knows, problem by problem: every problem a person can type (or a uniform sample of them),
the split each one came from, where the model is right and how sure it is, and the problems people try first.

A person can type ``a+b`` and ``b+a``, and the model reads them as different questions, so every *ordered* problem
counts: ``10**(2*digits)`` of them. Up to :data:`FULL_SPACE_LIMIT` (3 digits: 1,000,000) every one is asked; larger
spaces are sampled uniformly over all ordered pairs, without replacement. The checkpoint's own split is regenerated
from its data module's hyperparameters, and each problem is labelled with the split of its unordered pair (the data
draws ``a+b`` and ``b+a`` as one problem): ``train``, ``val``, ``test`` or ``never`` (never generated).

The hard problems (:func:`~lit_addition.runtime.text.hard_problems`: all nines, the longest carry chains, zeros,
the first sum that needs a new digit) are always asked, whatever the sample.

Everything is computed on whole arrays: carries, digit counts and split membership are column operations over all
problems, and the model runs in large batches.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lit_addition.problems import pair_keys
from lit_addition.runtime.adder import ANSWER_BATCH_SIZE, Adder
from lit_addition.runtime.encoding import Encoding, count_digits
from lit_addition.runtime.text import hard_problems
from lit_addition.splits import SPLITS

FULL_SPACE_LIMIT = 1_000_000  # spaces up to this many ordered problems are evaluated whole: 2 and 3 digits
SAMPLES = 200_000  # problems drawn from a larger space
SEED = 0
BUCKETS = (*SPLITS, "never")  # where a problem came from; "never": in no split, the model never saw it
BUCKET_NAMES = {"train": "train", "val": "val", "test": "test", "never": "never generated"}  # as reports show them
WORST = 20  # wrong problems listed in the report


@dataclass(frozen=True)
class Evaluation:
    """Every evaluated problem, as asked, with the model's result. Arrays have one row per problem.

    Attributes:
        a, b: the operands (int64).
        bucket: index into :data:`BUCKETS`, or -1 for every problem when the checkpoint records no data module.
        correct: whether the whole answer is right.
        position_correct: whether each answer character (padding included) is right, in the model's output order.
        predicted: the model's answer token ids.
        p_true: the model's probability of the true answer (product over its characters).
        p_answer: the model's probability of its own answer.
        carry_chain: the longest run of consecutive carries in the column addition, 0 to ``digits``.
        whole_space: whether these are all the problems of the space rather than a sample.
        seconds: wall time of the evaluation, regenerating the split included.
        hard: the hard problems, each with the model's answer and whether it is right.
        drawn: how many problems each split drew (each asked as a+b and as b+a), or None without splits.
    """

    encoding: Encoding
    a: np.ndarray
    b: np.ndarray
    bucket: np.ndarray
    correct: np.ndarray
    position_correct: np.ndarray
    predicted: np.ndarray
    p_true: np.ndarray
    p_answer: np.ndarray
    carry_chain: np.ndarray
    whole_space: bool
    seconds: float
    hard: list[dict[str, Any]]
    drawn: dict[str, int] | None = None

    @property
    def space(self) -> int:
        return ordered_problems(self.encoding.digits)


def ordered_problems(digits: int) -> int:
    """How many problems a person can type with operands of up to ``digits`` digits: ``a+b`` and ``b+a`` both count."""
    return 10 ** (2 * digits)


def longest_carry_chain(a: np.ndarray, b: np.ndarray, digits: int) -> np.ndarray:
    """The longest run of consecutive columns that carry when ``a + b`` is added by hand (999+1: 3, 535+61: 0)."""
    carry = np.zeros(len(a), dtype=bool)
    run = np.zeros(len(a), dtype=np.int64)
    longest = np.zeros(len(a), dtype=np.int64)
    for place in range(digits):
        carry = a // 10**place % 10 + b // 10**place % 10 + carry >= 10
        run = np.where(carry, run + 1, 0)
        np.maximum(longest, run, out=longest)
    return longest


def how_many(digits: int, samples: int) -> tuple[int, bool]:
    """How many ordered problems an evaluation asks, and whether they are the whole space."""
    space = ordered_problems(digits)
    return (space, True) if space <= FULL_SPACE_LIMIT else (min(samples, space), False)


def problems_to_ask(
    digits: int, splits: dict[str, tuple[np.ndarray, np.ndarray]] | None, samples: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """The ordered problems to evaluate, ``a`` major, and the bucket of each (the split of its unordered pair).

    Returns:
        ``a``, ``b``, the bucket index of each problem (-1 without ``splits``), and whether this is the whole space.
    """
    count, whole_space = how_many(digits, samples)
    space = ordered_problems(digits)
    index = np.arange(space) if whole_space else np.sort(np.random.default_rng(seed).choice(space, count, False))
    a, b = np.divmod(index, 10**digits)
    return a, b, bucket_of(a, b, digits, splits), whole_space


def bucket_of(
    a: np.ndarray, b: np.ndarray, digits: int, splits: dict[str, tuple[np.ndarray, np.ndarray]] | None
) -> np.ndarray:
    """The index in :data:`BUCKETS` of the split holding each problem's unordered pair; -1 for all without splits."""
    bucket = np.full(len(a), -1, dtype=np.int64)
    if splits is None:
        return bucket
    bucket[:] = BUCKETS.index("never")
    split_a = np.concatenate([splits[split][0] for split in SPLITS])
    split_b = np.concatenate([splits[split][1] for split in SPLITS])
    labels = np.repeat(np.arange(len(SPLITS)), [len(splits[split][0]) for split in SPLITS])
    keys, wanted = pair_keys(split_a, split_b, digits), pair_keys(a, b, digits)
    order = np.argsort(keys)
    position = np.minimum(np.searchsorted(keys, wanted, sorter=order), len(keys) - 1)
    found = keys[order[position]] == wanted
    bucket[found] = labels[order[position[found]]]
    return bucket


def evaluate(
    adder: Adder,
    splits: dict[str, tuple[np.ndarray, np.ndarray]] | None,
    samples: int = SAMPLES,
    seed: int = SEED,
    batch_size: int = ANSWER_BATCH_SIZE,
    progress: Callable[[int], Any] | None = None,
) -> Evaluation:
    """Ask the model every problem of its space (or ``samples`` of them) in batches of ``batch_size``.

    Args:
        adder: the model.
        splits: the checkpoint's train, val and test problems (``CheckpointAdder.splits()``), or None.
        samples: how many problems to draw when the space has more than :data:`FULL_SPACE_LIMIT`.
        seed: seed of the sample.
        batch_size: problems per forward pass.
        progress: called with the number of problems of each batch once it is done.
    """
    start = time.perf_counter()
    encoding = adder.encoding
    a, b, bucket, whole_space = problems_to_ask(encoding.digits, splits, samples, seed)
    questions = encoding.encode_questions(a, b)
    truth = encoding.encode_answers(a, b)
    predicted = np.empty_like(truth, dtype=np.int8)
    log_p_true = np.empty(len(a))
    log_p_answer = np.empty(len(a))
    for rows, log_p in adder.log_probabilities(questions, batch_size):
        predicted[rows] = log_p.argmax(-1)
        log_p_answer[rows] = log_p.max(-1).sum(-1)
        log_p_true[rows] = np.take_along_axis(log_p, truth[rows][..., None], -1).sum((-2, -1))
        if progress is not None:
            progress(len(log_p))
    position_correct = predicted == truth
    return Evaluation(
        hard=ask_hard_problems(adder),
        encoding=encoding,
        a=a,
        b=b,
        bucket=bucket,
        correct=position_correct.all(-1),
        position_correct=position_correct,
        predicted=predicted,
        p_true=np.exp(log_p_true),
        p_answer=np.exp(log_p_answer),
        carry_chain=longest_carry_chain(a, b, encoding.digits),
        whole_space=whole_space,
        seconds=time.perf_counter() - start,
        drawn=None if splits is None else {split: len(splits[split][0]) for split in SPLITS},
    )


def ask_hard_problems(adder: Adder) -> list[dict[str, Any]]:
    """The model's answer to each of the :func:`~lit_addition.runtime.text.hard_problems`, and whether it is right."""
    named = hard_problems(adder.encoding.digits)
    answers = adder.answer([f"{a}+{b}" for _, a, b in named])
    return [
        {"problem": f"{x}+{y}", "what": what, "true": str(x + y), "answer": answer, "right": answer == str(x + y)}
        for (what, x, y), answer in zip(named, answers, strict=True)
    ]


def _tally(correct: np.ndarray, group: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """How many problems, and how many of them right, in each group ``0..groups-1``."""
    return np.bincount(group, minlength=groups), np.bincount(group, weights=correct, minlength=groups)


def _share(part: np.ndarray, whole: np.ndarray) -> list[float | None]:
    with np.errstate(invalid="ignore"):
        return [_number(value) for value in part / whole]


def _rows(name: str, labels: list[Any], counts: np.ndarray, right: np.ndarray) -> list[dict[str, Any]]:
    return [
        {name: label, "problems": int(count), "wrong": int(count - hits), "accuracy": share}
        for label, count, hits, share in zip(labels, counts, right, _share(right, counts), strict=True)
    ]


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def summary(evaluation: Evaluation) -> dict[str, Any]:
    """Every figure of the report, as plain JSON-ready values; accuracies are shares from 0 to 1, None when no
    problem falls in a group."""
    e = evaluation
    digits = e.encoding.digits
    chains = digits + 1
    report: dict[str, Any] = {
        "digits": digits,
        "space": e.space,
        "problems": len(e.a),
        "whole_space": e.whole_space,
        "ordered": True,
        "seconds": e.seconds,
        "wrong": int((~e.correct).sum()),
        "accuracy": float(e.correct.mean()),
        "char_accuracy": float(e.position_correct.mean()),
    }
    known = bool((e.bucket >= 0).all())  # False when the checkpoint records no data module to regenerate
    report["by_split"] = _rows("split", list(BUCKETS), *_tally(e.correct, e.bucket, len(BUCKETS))) if known else None
    for row in report["by_split"] or []:
        row["drawn"] = (e.drawn or {}).get(row["split"])  # None for "never"
    report["by_carry_chain"] = _rows("carry_chain", list(range(chains)), *_tally(e.correct, e.carry_chain, chains))
    for bucket, name in enumerate(BUCKETS if known else ()):
        mine = e.bucket == bucket
        counts, right = _tally(e.correct[mine], e.carry_chain[mine], chains)
        for row, accuracy in zip(report["by_carry_chain"], _share(right, counts), strict=True):
            row[name] = accuracy
    fewer, more = np.sort(np.stack([count_digits(e.a), count_digits(e.b)]), axis=0)
    pairs = [list(pair) for pair in itertools.product(range(1, digits + 1), repeat=2)]
    rows = _rows("digits", pairs, *_tally(e.correct, (fewer - 1) * digits + more - 1, digits * digits))
    report["by_digit_counts"] = [row for row in rows if row["digits"][0] <= row["digits"][1]]
    report["by_position"] = [
        {
            "position": i,
            "place": place,
            "wrong": int((~e.position_correct[:, i]).sum()),
            "accuracy": float(e.position_correct[:, i].mean()),
        }
        for i, place in enumerate(e.encoding.answer_places())
    ]
    new_digit = e.a + e.b >= 10**digits
    report["carry_into_new_digit"] = {
        "problems": int(new_digit.sum()),
        "wrong": int((~e.correct[new_digit]).sum()),
        "accuracy": _number(e.correct[new_digit].mean()) if new_digit.any() else None,
    }
    report["hard"] = e.hard
    report["hard_wrong"] = [row["problem"] for row in e.hard if not row["right"]]
    report["worst"] = worst(e)
    return report


def worst(evaluation: Evaluation, count: int = WORST) -> list[dict[str, Any]]:
    """The wrong problems to which the model gives the true answer the lowest probability, worst first."""
    e = evaluation
    wrong = np.flatnonzero(~e.correct)
    chosen = wrong[np.argsort(e.p_true[wrong], kind="stable")[:count]]
    answers = e.encoding.decode_answers(e.predicted[chosen])
    return [
        {
            "problem": f"{e.a[i]}+{e.b[i]}",
            "true": str(e.a[i] + e.b[i]),
            "answer": answer,
            "p_true": float(e.p_true[i]),
            "p_answer": float(e.p_answer[i]),
            "split": BUCKETS[e.bucket[i]] if e.bucket[i] >= 0 else None,
            "carry_chain": int(e.carry_chain[i]),
        }
        for i, answer in zip(chosen.tolist(), answers, strict=True)
    ]
