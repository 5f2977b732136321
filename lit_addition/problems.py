"""Drawing unique addition problems as the reference does, without its Python loop.

The reference draws an operand by picking a digit count ``n`` uniformly in ``1..digits`` and then ``n`` uniform
digits (so ``"07"`` is the number 7). It keeps drawing pairs ``(a, b)`` and skips any whose unordered pair
``{a, b}`` it has seen, until it has enough. That is sampling without replacement, each unordered pair weighted by
its chance of being drawn. Its loop never ends when more problems are asked for than exist.

Sampling without replacement in proportion to weights ``w`` is the same as giving every item a key ``E / w`` with
``E`` standard exponential and keeping the items with the smallest keys (Efraimidis and Spirakis, 2006). A pair's
weight depends only on how many digits its two operands have, so the problem space splits into a few blocks of
equal weight (for 3 digits: 1-digit with 1-digit, 1-digit with 2-digit, ...; pairs of equal operands apart). Inside a
block the keys are independent and identically distributed, so we need only:

1. the smallest keys of each block, generated in increasing order from exponential spacings (Renyi), never the
   whole block;
2. how many of the overall smallest ``count`` keys fall in each block;
3. that many pairs chosen uniformly inside each block.

The cost follows ``count``, not the size of the space, so 550,000 five-digit problems take a fraction of a second
and asking for every one of the 500,500 three-digit problems is as quick as asking for a few.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lit_addition.rare_problems import (
    carry_chain_pairs,
    nines_pairs,
    short_chain_pairs,
    small_format_pairs,
    top_nines_pairs,
    zeros_pairs,
)
from lit_addition.runtime.encoding import MAX_DIGITS, Encoding, count_digits
from lit_addition.runtime.errors import InputError


def count_problems(digits: int) -> int:
    """How many distinct problems exist when operands have up to ``digits`` digits (``a+b`` and ``b+a`` once)."""
    numbers = 10**digits
    return numbers * (numbers + 1) // 2


def digit_count_probabilities(digits: int) -> np.ndarray:
    """Chance that one reference-style draw yields one particular number of ``c`` digits, for ``c = 1..digits``."""
    # A number with c digits comes out of every draw of a digit count n >= c, with chance 10**-n each.
    return np.cumsum(10.0 ** -np.arange(digits, 0, -1))[::-1] / digits


@dataclass(frozen=True)
class _Block:
    """Pairs of equal weight: first operand in ``[start_a, start_a + size_a)``, second likewise for ``b``."""

    start_a: int
    size_a: int
    start_b: int
    size_b: int
    shape: str  # "grid": every (a, b); "triangle": a < b inside one range; "diagonal": a == b
    weight: float

    @property
    def size(self) -> int:
        if self.shape == "grid":
            return self.size_a * self.size_b
        return self.size_a * (self.size_a - 1) // 2 if self.shape == "triangle" else self.size_a

    def pairs(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The pairs at positions ``index`` of this block."""
        if self.shape == "grid":
            return self.start_a + index // self.size_b, self.start_b + index % self.size_b
        if self.shape == "diagonal":
            return self.start_a + index, self.start_a + index
        # Triangle position index = j*(j-1)/2 + i with i < j; float sqrt, then exact integer correction.
        j = ((1 + np.sqrt(1 + 8 * index.astype(np.float64))) // 2).astype(np.int64)
        j -= j * (j - 1) // 2 > index
        j += (j + 1) * j // 2 <= index
        i = index - j * (j - 1) // 2
        return self.start_a + i, self.start_a + j


def _blocks(digits: int, uniform_share: float = 0.0) -> list[_Block]:
    probability = digit_count_probabilities(digits)
    starts = [0] + [10 ** (c - 1) for c in range(2, digits + 1)]
    sizes = [10] + [9 * 10 ** (c - 1) for c in range(2, digits + 1)]
    uniform = 1.0 / 10 ** (2 * digits)  # chance of one ordered pair under a uniform draw

    def pair(x: int, y: int) -> float:
        """Chance that one draw yields one particular ordered pair of an x-digit and a y-digit operand."""
        reference = probability[x] * probability[y]
        return reference if uniform_share == 0 else (1 - uniform_share) * reference + uniform_share * uniform

    blocks = []
    for x in range(digits):
        blocks.append(_Block(starts[x], sizes[x], starts[x], sizes[x], "diagonal", pair(x, x)))
        blocks.append(_Block(starts[x], sizes[x], starts[x], sizes[x], "triangle", 2 * pair(x, x)))
        for y in range(x + 1, digits):
            blocks.append(_Block(starts[x], sizes[x], starts[y], sizes[y], "grid", 2 * pair(x, y)))
    return blocks


def _expected_prefix(sizes: np.ndarray, weights: np.ndarray, count: int) -> np.ndarray:
    """How many of each block's smallest keys to generate so that, almost always, the ``count`` smallest are among
    them: the expected number below the threshold where ``count`` keys are expected, plus a safety margin."""
    low, high = 0.0, 1.0
    while np.sum(-sizes * np.expm1(-weights * high)) < count:
        high *= 2
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (middle, high) if np.sum(-sizes * np.expm1(-weights * middle)) < count else (low, middle)
    expected = -sizes * np.expm1(-weights * high)
    return np.minimum(sizes, np.ceil(expected + 4 * np.sqrt(expected) + 16)).astype(np.int64)


def _smallest_keys(size: int, weight: float, have: np.ndarray, more: int, rng: np.random.Generator) -> np.ndarray:
    """Extend the increasing run ``have`` of a block's smallest keys by ``more`` (the Renyi representation)."""
    start = len(have)
    spacings = rng.standard_exponential(more) / (weight * (size - np.arange(start, start + more)))
    return np.concatenate([have, (have[-1] if start else 0.0) + np.cumsum(spacings)])


def _count_per_block(blocks: list[_Block], count: int, rng: np.random.Generator) -> np.ndarray:
    sizes = np.array([block.size for block in blocks], dtype=np.float64)
    weights = np.array([block.weight for block in blocks])
    keys = [np.empty(0) for _ in blocks]
    target = _expected_prefix(sizes, weights, count)
    while True:
        keys = [
            _smallest_keys(block.size, block.weight, have, wanted - len(have), rng)
            for block, have, wanted in zip(blocks, keys, target, strict=True)
        ]
        owner = np.repeat(np.arange(len(blocks)), [len(k) for k in keys])
        chosen = np.argpartition(np.concatenate(keys), count - 1)[:count]
        taken = np.bincount(owner[chosen], minlength=len(blocks))
        # A block that gave every key it generated may hold more below the threshold: generate more and redo.
        short = (taken == target) & (target < sizes)
        if not short.any():
            return taken
        target = np.where(short, np.minimum(sizes, 2 * target), target).astype(np.int64)


def sample_problems(
    digits: int,
    count: int,
    rng: np.random.Generator,
    uniform_share: float = 0.0,
    carry_share: float = 0.0,
    nines_share: float = 0.0,
    top_nines_share: float = 0.0,
    short_chain_share: float = 0.0,
    small_formats: int = 0,
    zeros_share: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``count`` problems ``a+b``, no two equal up to swapping ``a`` and ``b``, as the reference draws them.

    Args:
        digits: the most digits an operand may have.
        count: how many problems to draw.
        rng: the source of randomness.
        uniform_share: chance that a draw is an ordered pair ``(a, b)`` taken uniformly from all of them instead of
            the reference's draw (which favours short operands); repeats are skipped all the same. 0, the default,
            is the reference's sampling exactly; 1 draws uniformly over the whole problem space.
        carry_share: share of the ``count`` problems that are carry chains (see :func:`carry_chain_pairs`), drawn
            first; the rest are drawn as above from the problems not already taken. 0, the default, draws none.
        nines_share: share of the ``count`` problems whose lowest columns sum to 9 with no carry through them (see
            :func:`nines_pairs`), drawn after the carry chains. 0, the default, draws none.
        top_nines_share: share of the ``count`` problems whose highest columns are 9 in both operands (see
            :func:`top_nines_pairs`), drawn after those. 0, the default, draws none.
        short_chain_share: share of the ``count`` problems whose carry runs through the columns a short operand
            lacks (see :func:`short_chain_pairs`), drawn last. 0, the default, draws none; it needs 2 digits or more.
        small_formats: every problem of the formats (the digit counts of both operands) with at most this many
            ordered problems is drawn, before all the rest (see :func:`small_format_pairs`). 0, the default, draws
            them as any other.
        zeros_share: share of the ``count`` problems whose lowest columns are 0 in both operands (see
            :func:`zeros_pairs`), drawn after the short chains. 0, the default, draws none.

    Returns:
        The operands ``a`` and ``b`` as int64 arrays, in random order.
    """
    Encoding(digits)  # validates digits
    available = count_problems(digits)
    if not 0 <= count <= available:
        raise InputError(
            f"asked for {count:,} problems but only {available:,} distinct problems exist with up to {digits} "
            f"digit(s) per operand (a+b and b+a count once): ask for at most {available:,}, or raise digits"
        )
    check_shares(
        uniform_share=uniform_share,
        carry_share=carry_share,
        nines_share=nines_share,
        top_nines_share=top_nines_share,
        short_chain_share=short_chain_share,
        zeros_share=zeros_share,
    )
    if short_chain_share and digits < 2:
        raise InputError(
            "short_chain_share needs operands of 2 digits or more, a short one beside a long one: set it to 0"
        )
    kinds = [("carry_share", carry_chain_pairs, carry_share), ("nines_share", nines_pairs, nines_share),
             ("top_nines_share", top_nines_pairs, top_nines_share),
             ("short_chain_share", short_chain_pairs, short_chain_share),
             ("zeros_share", zeros_pairs, zeros_share)]  # fmt: skip
    chains = [kind for kind in kinds if kind[2] > 0]
    if chains or small_formats:
        small_a, small_b = small_format_pairs(digits, small_formats)
        if len(small_a) > count:
            raise InputError(
                f"small_formats={small_formats} takes {len(small_a):,} problems, more than the {count:,} asked "
                "for: lower it or ask for more problems"
            )
        swap = rng.random(len(small_a)) < 0.5
        small = np.where(swap, small_b, small_a), np.where(swap, small_a, small_b)
        return _with_chains(digits, count, rng, uniform_share, chains, small)
    if count == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    blocks = _blocks(digits, uniform_share)
    taken = _count_per_block(blocks, count, rng)
    parts = [block.pairs(rng.choice(block.size, n, replace=False)) for block, n in zip(blocks, taken, strict=True) if n]
    a = np.concatenate([part[0] for part in parts])
    b = np.concatenate([part[1] for part in parts])
    # Both orders of a pair are equally likely to be drawn, so the order shown is a fair coin.
    swap = rng.random(count) < 0.5
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    order = rng.permutation(count)
    return a[order], b[order]


# Digit pairs (x, y) whose column sum carries whatever comes in (x + y >= 10), and those that pass an incoming carry
# on (x + y == 9).
def check_shares(**shares: float) -> None:
    """Refuse a share of the draws (``uniform_share``, ``carry_share``, ...) outside 0 to 1, naming it."""
    for name, share in shares.items():
        if not 0 <= share <= 1:
            raise InputError(f"{name} must lie between 0 and 1, got {share}")


def pair_keys(a: np.ndarray, b: np.ndarray, digits: int) -> np.ndarray:
    """One integer per problem, the same for ``a+b`` and ``b+a``."""
    return np.minimum(a, b) * 10**digits + np.maximum(a, b)


def _with_chains(
    digits: int,
    count: int,
    rng: np.random.Generator,
    uniform_share: float,
    chains: list[tuple[str, Callable, float]],
    first: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """The distinct problems ``first``; then for each ``(name, draw, share)`` of ``chains`` in turn,
    ``round(share * count)`` distinct problems that ``draw`` makes, none of them an earlier one; then the rest from
    :func:`sample_problems` without them, shuffled together."""
    a, b = first
    for name, draw, share in chains:
        wanted = len(a) + round(share * count)
        for _ in range(100):
            if len(a) >= wanted:
                break
            more_a, more_b = draw(digits, 2 * (wanted - len(a)) + 64, rng)
            a, b = np.concatenate([a, more_a]), np.concatenate([b, more_b])
            _, first = np.unique(pair_keys(a, b, digits), return_index=True)
            first.sort()  # the first draw of each problem, in the order drawn
            a, b = a[first], b[first]
        if len(a) < wanted:
            raise InputError(f"could not draw {round(share * count):,} distinct problems for {name}: lower {name}")
        a, b = a[:wanted], b[:wanted]
    # Draw as many more as could clash with those, then drop those that do.
    rest_a, rest_b = sample_problems(digits, count, rng, uniform_share)
    fresh = ~np.isin(pair_keys(rest_a, rest_b, digits), pair_keys(a, b, digits))
    rest_a, rest_b = rest_a[fresh][: count - len(a)], rest_b[fresh][: count - len(a)]
    order = rng.permutation(count)
    return np.concatenate([a, rest_a])[order], np.concatenate([b, rest_b])[order]


def format_floor(a: np.ndarray, b: np.ndarray, floor: float) -> np.ndarray:
    """Indices of the problems ``a+b`` such that every format, the digit counts of ``a`` and of ``b`` (a 1-digit
    plus a 2-digit number, say), makes at least ``floor`` of them: each problem once, those of a rarer format
    repeated as many whole times as that takes. The formats of short numbers hold few problems (55 at one digit
    each), and a model sees too few of them to learn their layout."""
    formats = count_digits(np.asarray(a)) * (MAX_DIGITS + 1) + count_digits(np.asarray(b))
    _, inverse, counts = np.unique(formats, return_inverse=True, return_counts=True)
    copies = np.maximum(1, np.ceil(floor * len(formats) / counts)).astype(np.int64)
    return np.repeat(np.arange(len(formats)), copies[inverse])


def problems_at(digits: int, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The problems at positions ``index`` of the whole space listed once each, smaller operand first, by the larger
    then the smaller (``0+0, 0+1, 1+1, 0+2, ...``): ``index`` from 0 to ``count_problems(digits) - 1``.

    Returns:
        The operands ``a <= b`` as int64 arrays.
    """
    numbers = 10**digits
    # The pairs a <= b below `numbers` are the pairs i < j below `numbers + 1`, with a = i and b = j - 1.
    a, j = _Block(0, numbers + 1, 0, numbers + 1, "triangle", 1.0).pairs(np.asarray(index, dtype=np.int64))
    return a, j - 1
