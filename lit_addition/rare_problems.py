"""Draws of the problems that the reference's draw and a uniform one rarely give, which a model gets right last: carry
chains into a new digit (``999+1``), the same through the columns a short operand lacks (``1+99999``), columns
summing to 9 below any carry (``10+589``), 9s in the highest columns of both operands (``998+996``), and 0s in the
lowest columns of both (``400+300``). Each returns ``count`` ordered pairs, repeats possible; ``sample_problems``
(:mod:`lit_addition.problems`) takes its share of them, unique, as the data options ``carry_share``,
``short_chain_share``, ``nines_share``, ``top_nines_share`` and ``zeros_share`` ask. Last, the formats too small
to learn from a sample of themselves (``8+1``, ``9+11``), which the data option ``train_small_formats`` draws whole,
all in training.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lit_addition.runtime.encoding import count_digits

_GENERATE = np.array([(x, y) for x in range(10) for y in range(10) if x + y >= 10])
_PROPAGATE = np.array([(x, 9 - x) for x in range(10)])


def _from_columns(digits: int, count: int, column_pairs: Callable[[int], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The operands whose digits in each column, units first, are the ``(count, 2)`` digit pairs that
    ``column_pairs(column)`` gives."""
    a = np.zeros(count, dtype=np.int64)
    b = np.zeros(count, dtype=np.int64)
    for column in range(digits):
        pair = column_pairs(column)
        a += pair[:, 0] * 10**column
        b += pair[:, 1] * 10**column
    return a, b


def carry_chain_pairs(digits: int, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``count`` ordered pairs (repeats possible) whose written addition carries from one column through every
    column above it into a new leading digit, as in ``99999+1``, ``5+995`` or ``901+999``.

    The chain starts at a column drawn uniformly from the ``digits`` columns. Columns below it get uniform digits;
    the start column a digit pair that carries on its own (sum 10 or more); every column above it, with even
    chances, a pair summing to exactly 9, which only passes the carry on (the long chains of ``99999+1``), or one that
    carries on its own. Leading zeros make shorter operands (``00001`` is 1).
    """
    start = rng.integers(0, digits, count)

    def column_pairs(column: int) -> np.ndarray:
        uniform = rng.integers(0, 10, (count, 2))
        generate = _GENERATE[rng.integers(0, len(_GENERATE), count)]
        propagate = _PROPAGATE[rng.integers(0, len(_PROPAGATE), count)]
        above = np.where((rng.random(count) < 0.5)[:, None], propagate, generate)
        return np.where((column < start)[:, None], uniform, np.where((column == start)[:, None], generate, above))

    return _from_columns(digits, count, column_pairs)


def short_chain_pairs(digits: int, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``count`` ordered pairs (repeats possible) of a short operand and a long one whose carry runs on through
    every column the short one lacks into a new digit, as in ``1+99999``, ``57+99950`` or ``99996+8``: the short
    operand has 1 to ``digits - 1`` digits (a length drawn uniformly), the long one 9 in every column above those,
    and its lower columns carry out with the short operand. The other draws hold few of those with the shortest
    operands (the 5-digit config's held 1 or 2 of the 45 problems ``x+9999y`` with a 1-digit ``x``, seeds 1234 and
    201), yet ``1+99999`` is the first problem a person tries. Either order is equally likely."""
    length = rng.integers(1, digits, count)
    scale = 10**length
    short = rng.integers(np.where(length == 1, 1, scale // 10), scale)  # a carry out needs a nonzero short operand
    low = rng.integers(scale - short, scale)  # the long operand's low columns: short + low >= scale carries out
    long = 10**digits - scale + low
    swap = rng.random(count) < 0.5
    return np.where(swap, long, short), np.where(swap, short, long)


def nines_pairs(digits: int, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``count`` ordered pairs (repeats possible) whose lowest columns, from the units up to a column drawn uniformly,
    each sum to exactly 9, so that no carry runs through them, as in ``10+589`` or ``98+901``; the columns above
    are uniform. A model that has learned to carry through a 9 tends to carry through these too: they are the last
    problems it gets right."""
    top = rng.integers(0, digits, count)

    def column_pairs(column: int) -> np.ndarray:
        nine = _PROPAGATE[rng.integers(0, len(_PROPAGATE), count)]
        return np.where((column <= top)[:, None], nine, rng.integers(0, 10, (count, 2)))

    return _from_columns(digits, count, column_pairs)


def top_nines_pairs(digits: int, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``count`` ordered pairs (repeats possible) of two ``digits``-digit operands whose highest columns, from the top
    down to a column drawn uniformly, are 9 in both, as in ``998+996`` or ``95+97``; the columns below are uniform.
    With a carry from below, each such column sums to 19 and carries again. This is the top corner of the space,
    which the other draws hardly reach (a uniform draw gives two operands of the form ``99x`` once in 10,000
    problems), and where the last errors of 3-digit models trained on other seeds gathered (``998+998 = 1896``)."""
    bottom = rng.integers(0, digits, count)  # the lowest column of the nines
    return _from_columns(
        digits, count, lambda column: np.where((column >= bottom)[:, None], 9, rng.integers(0, 10, (count, 2)))
    )


def zeros_pairs(digits: int, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``count`` ordered pairs (repeats possible) whose lowest columns, from the units up to a column drawn uniformly
    below the highest, are 0 in both operands, as in ``400+300``, ``590+320`` or ``900+0``; the columns above are
    uniform. Written in turns (``data.interleave``), such a question opens with ``0+0`` columns, as a short problem's
    leading zeros make it end with them, but here real digits follow: a uniform draw gives both operands a 0 in their
    two lowest columns once in 10,000 problems, and 3-digit models trained for four epochs on some seeds answered
    ``400+300`` and ``900+0`` one hundred off."""
    top = rng.integers(0, max(digits - 1, 1), count)  # the highest column of the zeros
    return _from_columns(
        digits, count, lambda column: np.where((column <= top)[:, None], 0, rng.integers(0, 10, (count, 2)))
    )


def format_sizes(numbers: np.ndarray) -> np.ndarray:
    """How many numbers have as many digits as each of ``numbers`` (10 of one digit, 0 among them; 90 of two, ...):
    the ordered problems of a format, the digit counts of both operands, are the product of its two sizes."""
    digits = count_digits(np.asarray(numbers))
    return np.where(digits == 1, 10, 9 * 10 ** (digits - 1))


def small_format_pairs(digits: int, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Every problem ``a <= b`` (once up to order) of the formats with at most ``limit`` ordered problems, the
    operands' digit counts up to ``digits``: at 3 digits, 1,000 gives the 55 problems of two 1-digit operands and the
    900 of a 1-digit beside a 2-digit one."""
    first = [0, 0, *(10 ** np.arange(1, digits))]  # the smallest number of each digit count (index 1 on)
    pairs = [
        np.meshgrid(np.arange(first[short], 10**short), np.arange(first[long], 10**long), indexing="ij")
        for short in range(1, digits + 1)
        for long in range(short, digits + 1)
        if (10**short - first[short]) * (10**long - first[long]) <= limit  # how many numbers have each count
    ]
    a = np.concatenate([np.ravel(pair[0]) for pair in pairs] or [np.empty(0, np.int64)]).astype(np.int64)
    b = np.concatenate([np.ravel(pair[1]) for pair in pairs] or [np.empty(0, np.int64)]).astype(np.int64)
    return a[a <= b], b[a <= b]
