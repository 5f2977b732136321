"""The train, val and test problems of a data set, drawn by a pure function of the data settings: the data module
draws its splits with it, and the inference core regenerates a checkpoint's splits with it, without Lightning.

No problem, and no problem with its operands swapped, is in two splits: all three come from one draw of unique
problems (:func:`~lit_addition.problems.sample_problems`).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from lit_addition.problems import count_problems, sample_problems
from lit_addition.rare_problems import format_sizes
from lit_addition.runtime.encoding import Encoding
from lit_addition.runtime.errors import InputError

SPLITS = ("train", "val", "test")


# Bytes a problem takes while the splits are drawn and encoded, besides its token ids: operands, sort keys and the
# sampler's exponential keys (int64 and float64), measured as about 70 at 5 digits; rounded up.
_DRAWING_BYTES_PER_PROBLEM = 100


def check_memory(problems: int, encoding: Encoding, both_orders: bool) -> None:
    """Refuse, before drawing, a data set whose problems and token ids would not fit in this machine's free memory
    (Linux reports it; elsewhere nothing is checked)."""
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return
    ids = (encoding.question_length + encoding.answer_length) * 8  # int64 token ids of one question and its answer
    needed = problems * (_DRAWING_BYTES_PER_PROBLEM + ids * (2 if both_orders else 1))
    if needed > free:
        raise InputError(
            f"{problems:,} problems (num_samples + test_samples) need about {needed / 2**30:,.1f} GiB of memory to "
            f"draw and encode, but this machine has {free / 2**30:,.1f} GiB free: lower data.num_samples"
        )


def validation_count(digits: int, num_samples: int, val_fraction: float, test_samples: int) -> int:
    """How many of the ``num_samples`` problems are validation problems, once the sizes are known to fit the space.

    Raises:
        InputError: more problems asked for than exist, or a split size that leaves no training or validation problem.
    """
    val_count = round(num_samples * val_fraction)
    if not 0 < val_count < num_samples:
        raise InputError(
            f"num_samples={num_samples} with val_fraction={val_fraction} leaves {val_count} validation and "
            f"{num_samples - val_count} training problems; both need at least one: raise num_samples"
        )
    available = count_problems(digits)
    if num_samples + test_samples > available:
        raise InputError(
            f"num_samples + test_samples = {num_samples:,} + {test_samples:,} = {num_samples + test_samples:,}, "
            f"but only {available:,} distinct problems exist with up to {digits} digit(s) per operand (a+b and "
            f"b+a count once): lower num_samples or test_samples so they add up to at most {available:,}"
        )
    return val_count


def draw_splits(
    digits: int,
    num_samples: int,
    val_fraction: float,
    test_samples: int,
    seed: int,
    uniform_share: float = 0.0,
    carry_share: float = 0.0,
    nines_share: float = 0.0,
    top_nines_share: float = 0.0,
    short_chain_share: float = 0.0,
    train_small_formats: int = 0,
    val_seen_answers: bool = False,
    zeros_share: float = 0.0,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The train, val and test problems of a data set, as operand arrays ``(a, b)``: one draw of ``num_samples +
    test_samples`` unique problems from ``seed``; the last ``val_fraction`` of the first ``num_samples`` is
    validation, the rest test. With ``val_seen_answers``, validation is the last ``val_fraction`` among the problems
    whose answer an earlier problem of the draw has, so every answer of the first ``num_samples`` stays in training.
    With ``train_small_formats``, every problem of the formats with at most that many ordered problems is drawn and
    put first, so all of them train and none validates or tests.
    A pure function of its arguments, so the data module and a checkpoint's inference core, given the same settings,
    get the same problems."""
    val_count = validation_count(digits, num_samples, val_fraction, test_samples)
    rng = np.random.default_rng(seed)
    a, b = sample_problems(
        digits,
        num_samples + test_samples,
        rng,
        uniform_share,
        carry_share,
        nines_share,
        top_nines_share,
        short_chain_share,
        train_small_formats,
        zeros_share,
    )
    small_count = 0
    if train_small_formats:
        small = format_sizes(a) * format_sizes(b) <= train_small_formats
        small_count = int(small.sum())
        if small_count > num_samples - val_count:
            raise InputError(
                f"train_small_formats={train_small_formats} puts {small_count:,} problems in training, more than the "
                f"{num_samples - val_count:,} training problems: lower it or raise num_samples"
            )
        order = np.argsort(~small, kind="stable")  # the small formats' problems first: training's, whatever follows
        a, b = a[order], b[order]
    pool_a, pool_b = a[:num_samples], b[:num_samples]  # training and validation
    in_val = np.zeros(num_samples, dtype=bool)
    if val_seen_answers:
        first_with_answer = np.unique(pool_a + pool_b, return_index=True)[1]
        may_validate = np.ones(num_samples, dtype=bool)
        may_validate[first_with_answer] = False
        may_validate[:small_count] = False
        candidates = np.flatnonzero(may_validate)
        if len(candidates) < val_count:
            raise InputError(
                f"val_seen_answers=true leaves {len(candidates):,} problems that may validate (answers shared with "
                f"an earlier problem), fewer than the {val_count:,} asked for: lower val_fraction or raise num_samples"
            )
        in_val[candidates[-val_count:]] = True
    else:
        in_val[num_samples - val_count :] = True
    return {
        "train": (pool_a[~in_val], pool_b[~in_val]),
        "val": (pool_a[in_val], pool_b[in_val]),
        "test": (a[num_samples:], b[num_samples:]),
    }


def split_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``settings`` (a data module's hyperparameters) that :func:`draw_splits` takes."""
    return {name: settings[name] for name in inspect.signature(draw_splits).parameters if name in settings}
