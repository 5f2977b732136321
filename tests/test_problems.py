"""Problem sampling: exact counts, uniqueness under commutation, the reference's distribution, clear refusals."""

import numpy as np
import pytest

from lit_addition.problems import (
    _Block,
    count_problems,
    digit_count_probabilities,
    problems_at,
    sample_problems,
)
from lit_addition.rare_problems import (
    carry_chain_pairs,
    format_sizes,
    nines_pairs,
    short_chain_pairs,
    small_format_pairs,
    top_nines_pairs,
    zeros_pairs,
)
from lit_addition.runtime.errors import InputError


def reference_loop(digits: int, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The reference's generator as it is written, one Python draw at a time: the ground truth that
    :func:`sample_problems` is compared against. It never ends if ``count`` is more than exist."""
    seen, problems = set(), []
    while len(problems) < count:
        a, b = (int("".join(rng.choice(list("0123456789"), rng.integers(1, digits + 1)))) for _ in range(2))
        if (min(a, b), max(a, b)) not in seen:
            seen.add((min(a, b), max(a, b)))
            problems.append((a, b))
    a, b = np.array(problems, dtype=np.int64).reshape(-1, 2).T
    return a, b


def unordered(a: np.ndarray, b: np.ndarray) -> set[tuple[int, int]]:
    return set(zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist(), strict=True))


def test_space_sizes_match_the_reference_table_limits():
    assert count_problems(1) == 55
    assert count_problems(2) == 5_050
    assert count_problems(3) == 500_500


@pytest.mark.parametrize("digits", [1, 2, 3, 4])
def test_operand_probabilities_sum_to_one(digits):
    per_number = digit_count_probabilities(digits)
    numbers_per_count = [10] + [9 * 10 ** (c - 1) for c in range(2, digits + 1)]
    assert np.dot(per_number, numbers_per_count) == pytest.approx(1.0)
    # A 1-digit number also comes out of longer draws with leading zeros, so it is the likeliest.
    assert np.all(np.diff(per_number) < 0)


@pytest.mark.parametrize(("digits", "count"), [(1, 30), (2, 4_000), (3, 50_000), (4, 20_000), (5, 20_000), (9, 5_000)])
def test_exact_count_unique_under_commutation_and_within_bounds(digits, count):
    a, b = sample_problems(digits, count, np.random.default_rng(0))
    assert len(a) == len(b) == count
    assert len(unordered(a, b)) == count
    assert a.min() >= 0 and b.min() >= 0
    assert a.max() < 10**digits and b.max() < 10**digits


@pytest.mark.parametrize(("digits", "count"), [(1, 55), (2, 5_050), (3, 500_500)])
def test_the_whole_space_can_be_drawn(digits, count):
    a, b = sample_problems(digits, count, np.random.default_rng(1))
    numbers = range(10**digits)
    assert unordered(a, b) == {(x, y) for x in numbers for y in numbers if x <= y}


def test_near_capacity_draw_is_exact():
    a, b = sample_problems(3, 500_000, np.random.default_rng(2))
    assert len(unordered(a, b)) == 500_000


def test_same_seed_same_problems_other_seed_other_problems():
    first = sample_problems(3, 1_000, np.random.default_rng(7))
    again = sample_problems(3, 1_000, np.random.default_rng(7))
    other = sample_problems(3, 1_000, np.random.default_rng(8))
    assert all(np.array_equal(x, y) for x, y in zip(first, again, strict=True))
    assert unordered(*first) != unordered(*other)


def test_triangle_block_indexing_is_a_bijection():
    block = _Block(start_a=10, size_a=60, start_b=10, size_b=60, shape="triangle", weight=1.0)
    a, b = block.pairs(np.arange(block.size))
    assert set(zip(a.tolist(), b.tolist(), strict=True)) == {(x, y) for x in range(10, 70) for y in range(x + 1, 70)}
    # Large positions, where the float square root alone is not exact.
    big = _Block(start_a=10**8, size_a=9 * 10**8, start_b=10**8, size_b=9 * 10**8, shape="triangle", weight=1.0)
    index = np.array([0, 1, 2, big.size // 3, big.size - 2, big.size - 1], dtype=np.int64)
    i, j = big.pairs(index)
    i, j = i - 10**8, j - 10**8
    assert np.all(i < j) and np.all(j < 9 * 10**8)
    assert np.array_equal(j * (j - 1) // 2 + i, index)


def shares(pairs: np.ndarray) -> np.ndarray:
    a, b = pairs.T
    two_digit = (a >= 10).astype(int) + (b >= 10)
    return np.array([np.mean(two_digit == 0), np.mean(two_digit == 1), np.mean(a == b), np.mean(a < b)])


def test_distribution_matches_the_reference_loop():
    """Means over 60 draws of 1,500 two-digit problems agree within 4 standard errors for: both operands 1-digit,
    exactly one 1-digit, equal operands, and a < b. Seeds are fixed, so the test is deterministic."""
    runs = 60
    reference = np.array(
        [shares(np.column_stack(reference_loop(2, 1_500, np.random.default_rng(s)))) for s in range(runs)]
    )
    ours = np.array([shares(np.column_stack(sample_problems(2, 1_500, np.random.default_rng(s)))) for s in range(runs)])
    standard_error = np.sqrt(reference.var(0) / runs + ours.var(0) / runs) + 1e-9
    assert np.all(np.abs(reference.mean(0) - ours.mean(0)) < 4 * standard_error)
    # The 1-digit x 1-digit block (55 pairs) is exhausted in every run: both samplers take all of it.
    assert np.allclose(reference[:, 0] * 1_500, 55) and np.allclose(ours[:, 0] * 1_500, 55)


def test_asking_for_more_than_exist_is_refused_with_the_count():
    with pytest.raises(InputError, match=r"only 5,050 distinct problems exist with up to 2 digit"):
        sample_problems(2, 5_051, np.random.default_rng(0))


def test_problems_at_lists_the_whole_space_once_smaller_operand_first():
    a, b = problems_at(2, np.arange(count_problems(2)))
    assert list(zip(a[:6].tolist(), b[:6].tolist(), strict=True)) == [(0, 0), (0, 1), (1, 1), (0, 2), (1, 2), (2, 2)]
    assert sorted(zip(a.tolist(), b.tolist(), strict=True)) == [(x, y) for x in range(100) for y in range(x, 100)]
    last = count_problems(9) - 1  # 5 * 10**17: exact in int64, past float64's integers
    a, b = problems_at(9, np.array([last, last - 1, last - 10**9]))  # the last row holds 10**9 problems
    assert list(zip(a.tolist(), b.tolist(), strict=True)) == [
        (999_999_999, 999_999_999), (999_999_998, 999_999_999), (999_999_998, 999_999_998),
    ]  # fmt: skip


def test_uniform_share_zero_is_the_reference_draw():
    reference = sample_problems(3, 5_000, np.random.default_rng(4))
    shared = sample_problems(3, 5_000, np.random.default_rng(4), uniform_share=0.0)
    assert all(np.array_equal(x, y) for x, y in zip(reference, shared, strict=True))


def test_uniform_share_moves_the_draw_towards_the_whole_space():
    def both_long(share):
        a, b = sample_problems(3, 20_000, np.random.default_rng(5), uniform_share=share)
        assert len(unordered(a, b)) == 20_000
        return np.mean((a >= 100) & (b >= 100))

    shares = [both_long(share) for share in (0.0, 0.25, 0.5, 1.0)]
    assert shares == sorted(shares)
    assert shares[0] < 0.25  # the reference's draw favours short operands
    assert shares[-1] == pytest.approx(0.81, abs=0.01)  # 900 * 900 of the 1,000 * 1,000 ordered pairs


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_uniform_share_outside_zero_to_one_is_refused(share):
    with pytest.raises(InputError, match="uniform_share"):
        sample_problems(3, 10, np.random.default_rng(0), uniform_share=share)


@pytest.mark.parametrize("digits", [1, 3, 5])
def test_carry_chains_carry_into_a_new_digit(digits):
    a, b = carry_chain_pairs(digits, 5_000, np.random.default_rng(9))
    assert a.min() >= 0 and b.min() >= 0 and a.max() < 10**digits and b.max() < 10**digits
    assert np.all(a + b >= 10**digits)


def test_carry_chains_include_the_longest():
    a, b = carry_chain_pairs(3, 20_000, np.random.default_rng(10))
    assert np.mean(a + b == 1_000) > 0.01  # carried through every column, as in 999+1 or 500+500
    assert np.mean((a == 999) | (b == 999)) > 0.001


def test_carry_share_takes_its_share_of_unique_problems():
    a, b = sample_problems(3, 20_000, np.random.default_rng(11), uniform_share=0.25, carry_share=0.2)
    assert len(unordered(a, b)) == 20_000
    # The rest also carries into a new digit now and then, so at least the share does.
    assert np.mean(a + b >= 1_000) >= 0.2


def test_carry_share_zero_is_the_draw_without_it():
    without = sample_problems(3, 5_000, np.random.default_rng(12), uniform_share=0.25)
    zero = sample_problems(3, 5_000, np.random.default_rng(12), uniform_share=0.25, carry_share=0.0)
    assert all(np.array_equal(x, y) for x, y in zip(without, zero, strict=True))


@pytest.mark.parametrize("digits", [1, 3, 5])
def test_nines_pairs_sum_to_nine_in_every_column_from_the_units_up_to_some_column(digits):
    a, b = nines_pairs(digits, 5_000, np.random.default_rng(13))
    assert a.max() < 10**digits and b.max() < 10**digits
    nine_columns = np.zeros(len(a), dtype=int)  # how many of the lowest columns sum to exactly 9
    for column in range(digits):
        low = (a // 10**column % 10 + b // 10**column % 10 == 9) & (nine_columns == column)
        nine_columns += low
    assert nine_columns.min() >= 1
    # The run of 9-sum columns ends at a column drawn uniformly: every length appears, the longest included.
    assert set(nine_columns) == set(range(1, digits + 1))


def test_nines_share_takes_its_share_and_keeps_the_problems_unique():
    a, b = sample_problems(3, 20_000, np.random.default_rng(14), uniform_share=0.25, carry_share=0.1, nines_share=0.1)
    assert len(unordered(a, b)) == 20_000
    assert np.mean((a % 10 + b % 10) == 9) >= 0.1
    zero = sample_problems(3, 5_000, np.random.default_rng(15), carry_share=0.1, nines_share=0.0)
    without = sample_problems(3, 5_000, np.random.default_rng(15), carry_share=0.1)
    assert all(np.array_equal(x, y) for x, y in zip(without, zero, strict=True))


@pytest.mark.parametrize("digits", [1, 3, 5])
def test_top_nines_pairs_have_nines_from_the_top_column_down_to_some_column(digits):
    a, b = top_nines_pairs(digits, 5_000, np.random.default_rng(16))
    assert a.max() < 10**digits and b.max() < 10**digits
    top_nines = np.zeros(len(a), dtype=int)  # how many of the highest columns are 9 in both operands
    for column in reversed(range(digits)):
        top_nines += (a // 10**column % 10 == 9) & (b // 10**column % 10 == 9) & (top_nines == digits - 1 - column)
    assert top_nines.min() >= 1
    assert set(top_nines) == set(range(1, digits + 1))


def test_a_small_top_nines_share_covers_the_top_corner_of_the_space():
    a, b = sample_problems(3, 55_000, np.random.default_rng(17), uniform_share=0.25, top_nines_share=0.01)
    assert len(unordered(a, b)) == 55_000
    corner = unordered(a[(a >= 990) & (b >= 990)], b[(a >= 990) & (b >= 990)])
    assert len(corner) == 55  # every problem 99x+99y, a+b and b+a counting once


@pytest.mark.parametrize("digits", [1, 3, 5])
def test_zeros_pairs_have_zeros_from_the_units_up_to_some_column_below_the_highest(digits):
    a, b = zeros_pairs(digits, 5_000, np.random.default_rng(19))
    assert a.max() < 10**digits and b.max() < 10**digits
    zero_columns = np.zeros(len(a), dtype=int)  # how many of the lowest columns are 0 in both operands
    for column in range(digits):
        zero_columns += (a // 10**column % 10 == 0) & (b // 10**column % 10 == 0) & (zero_columns == column)
    assert zero_columns.min() >= 1
    # The run ends at a column drawn uniformly below the highest, which stays uniform (and may be 0 by chance).
    assert set(range(1, max(digits, 2))) <= set(zero_columns)


def test_a_small_zeros_share_holds_every_problem_of_round_hundreds():
    a, b = sample_problems(3, 50_000, np.random.default_rng(20), uniform_share=0.25, zeros_share=0.01)
    assert len(unordered(a, b)) == 50_000
    hundreds = (a % 100 == 0) & (b % 100 == 0)
    assert len(unordered(a[hundreds], b[hundreds])) == 55  # every x00+y00, 0+0 among them, a+b and b+a once
    without = sample_problems(3, 50_000, np.random.default_rng(20), uniform_share=0.25)
    assert ((without[0] % 100 == 0) & (without[1] % 100 == 0)).sum() < 20


@pytest.mark.parametrize("digits", [2, 3, 5])
def test_short_chain_pairs_carry_through_every_column_the_short_operand_lacks(digits):
    a, b = short_chain_pairs(digits, 5_000, np.random.default_rng(18))
    short, long = np.minimum(a, b), np.maximum(a, b)
    length = np.array([len(str(n)) for n in short])
    assert set(length) == set(range(1, digits))  # every short length, 1 to digits - 1
    assert (long // 10**length == 10 ** (digits - length) - 1).all()  # 9 in every column above the short operand
    assert (a + b >= 10**digits).all() and (long < 10**digits).all()  # so the carry runs into a new digit
    assert 0.45 < np.mean(a < b) < 0.55  # either order


def test_a_small_short_chain_share_draws_every_chain_from_a_one_digit_operand():
    a, b = sample_problems(3, 50_000, np.random.default_rng(19), uniform_share=0.25, short_chain_share=0.01)
    assert len(unordered(a, b)) == 50_000
    one_digit = (np.minimum(a, b) < 10) & (np.maximum(a, b) >= 990) & (a + b >= 1_000)
    assert len(unordered(a[one_digit], b[one_digit])) == 45  # 1+999, 2+998, 2+999, ..., 9+999
    zero = sample_problems(3, 5_000, np.random.default_rng(20), carry_share=0.1, short_chain_share=0.0)
    without = sample_problems(3, 5_000, np.random.default_rng(20), carry_share=0.1)
    assert all(np.array_equal(x, y) for x, y in zip(without, zero, strict=True))


def test_short_chain_share_needs_two_digits():
    with pytest.raises(InputError, match="short_chain_share needs operands of 2 digits or more"):
        sample_problems(1, 10, np.random.default_rng(0), short_chain_share=0.1)


@pytest.mark.parametrize(
    ("digits", "limit", "count"), [(3, 100, 55), (3, 1_000, 955), (3, 9_000, 14_050), (5, 1_000, 955)]
)
def test_small_format_pairs_are_every_problem_of_the_formats_within_the_limit(digits, limit, count):
    a, b = small_format_pairs(digits, limit)
    assert len(unordered(a, b)) == len(a) == count and (a <= b).all()
    assert (format_sizes(a) * format_sizes(b) <= limit).all()
    # 55 of two 1-digit operands, 900 of a 1-digit beside a 2-digit one, 4,095 of two 2-digit ones, 9,000 of 1 and 3.
    x, y = np.triu_indices(1_000)  # every pair x <= y below 1,000, which holds all four formats' problems
    whole = format_sizes(x) * format_sizes(y) <= limit
    assert unordered(a, b) == unordered(x[whole], y[whole])


def test_small_formats_are_drawn_whole_and_unchanged_draws_without_them():
    a, b = sample_problems(3, 5_000, np.random.default_rng(22), carry_share=0.1, small_formats=1_000)
    assert len(unordered(a, b)) == 5_000
    small = format_sizes(a) * format_sizes(b) <= 1_000
    assert len(unordered(a[small], b[small])) == 955
    assert 0.4 < np.mean(a[small] < b[small]) < 0.6  # either order
    zero = sample_problems(3, 5_000, np.random.default_rng(20), carry_share=0.1, small_formats=0)
    without = sample_problems(3, 5_000, np.random.default_rng(20), carry_share=0.1)
    assert all(np.array_equal(x, y) for x, y in zip(without, zero, strict=True))
    with pytest.raises(InputError, match="small_formats=1000 takes 955 problems, more than the 900 asked for"):
        sample_problems(3, 900, np.random.default_rng(0), small_formats=1_000)


def test_carry_share_too_large_for_the_space_is_refused():
    with pytest.raises(InputError, match="carry_share"):
        sample_problems(1, 55, np.random.default_rng(0), carry_share=1.0)
