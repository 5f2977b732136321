"""Encoding: concrete ids for a known problem, round trips against a plain string encoder, the answer places, and
the digit counts it refuses."""

import numpy as np
import pytest

from lit_addition.runtime.encoding import VOCAB, Encoding, count_digits
from lit_addition.runtime.errors import InputError


def reference_style_strings(digits: int, a: int, b: int, reverse: bool) -> tuple[str, str]:
    """What the reference builds with string formatting: padded question (maybe reversed) and padded answer."""
    question = f"{a}+{b}".ljust(2 * digits + 1)
    return (question[::-1] if reverse else question), str(a + b).ljust(digits + 1)


def spell(ids: np.ndarray) -> str:
    return "".join(VOCAB[i] for i in ids)


def test_535_plus_61_walkthrough():
    encoding = Encoding(digits=3, reverse=True)
    questions = encoding.encode_questions(np.array([535]), np.array([61]))
    answers = encoding.encode_answers(np.array([535]), np.array([61]))
    assert questions.tolist() == [[0, 3, 8, 1, 7, 5, 7]]
    assert spell(questions[0]) == " 16+535"
    assert answers.tolist() == [[7, 11, 8, 0]]
    assert encoding.decode_questions(questions) == ["535+61"]
    assert encoding.decode_answers(answers) == ["596"]


def test_reversed_answer_puts_units_first_and_decodes_back():
    encoding = Encoding(digits=3, reverse_answer=True)
    answers = encoding.encode_answers(np.array([535, 999, 0]), np.array([61, 999, 0]))
    assert [spell(row) for row in answers] == ["695 ", "8991", "0   "]
    assert encoding.decode_answers(answers) == ["596", "1998", "0"]


def test_zero_pad_writes_every_operand_in_full_and_decodes_back():
    encoding = Encoding(digits=3, reverse=True, zero_pad=True)
    questions = encoding.encode_questions(np.array([535, 0, 7]), np.array([61, 999, 0]))
    assert [spell(row) for row in questions] == ["160+535", "999+000", "000+700"]
    assert encoding.decode_questions(questions) == ["535+61", "0+999", "7+0"]
    unreversed = Encoding(digits=2, reverse=False, zero_pad=True).encode_questions(np.array([5]), np.array([61]))
    assert spell(unreversed[0]) == "05+61"


def test_interleave_writes_the_columns_in_turns_and_decodes_back():
    encoding = Encoding(digits=3, reverse=True, interleave=True)
    questions = encoding.encode_questions(np.array([535, 0, 7, 999]), np.array([61, 999, 0, 1]))
    # Read backwards, each column's two digits come together, the units' first: 5+1, 3+6, 5+0 for 535+61.
    assert [spell(row) for row in questions] == ["156305", "909090", "070000", "190909"]
    assert encoding.decode_questions(questions) == ["535+61", "0+999", "7+0", "999+1"]
    assert encoding.question_length == 6  # the turns say whose digit is whose: no "+"
    assert encoding.encode_questions(np.array([], dtype=int), np.array([], dtype=int)).shape == (0, 6)
    unreversed = Encoding(digits=2, reverse=False, interleave=True).encode_questions(np.array([5]), np.array([61]))
    assert spell(unreversed[0]) == "0651"


@pytest.mark.parametrize("digits", [1, 2, 3, 5])
@pytest.mark.parametrize("reverse", [True, False])
def test_vectorised_encoding_matches_string_formatting(digits, reverse):
    rng = np.random.default_rng(digits)
    a = rng.integers(0, 10**digits, 500)
    b = rng.integers(0, 10**digits, 500)
    a[:3], b[:3] = [0, 10**digits - 1, 7], [0, 10**digits - 1, 10 ** (digits - 1)]
    encoding = Encoding(digits, reverse=reverse)
    questions = encoding.encode_questions(a, b)
    answers = encoding.encode_answers(a, b)
    assert questions.shape == (500, 2 * digits + 1) and answers.shape == (500, digits + 1)
    for i in range(500):
        question, answer = reference_style_strings(digits, int(a[i]), int(b[i]), reverse)
        assert spell(questions[i]) == question
        assert spell(answers[i]) == answer
    assert encoding.decode_questions(questions) == [f"{x}+{y}" for x, y in zip(a, b, strict=True)]
    assert encoding.decode_answers(answers) == [str(x + y) for x, y in zip(a, b, strict=True)]


def test_count_digits_at_powers_of_ten():
    numbers = np.array([0, 1, 9, 10, 99, 100, 999_999_999, 1_000_000_000])
    assert count_digits(numbers).tolist() == [1, 1, 1, 2, 2, 3, 9, 10]


def test_malformed_prediction_decodes_verbatim():
    encoding = Encoding(digits=2)
    ids = np.array([[VOCAB.index(c) for c in "5 9"]])
    assert encoding.decode_answers(ids) == ["5 9"]


@pytest.mark.parametrize("digits", [0, -1, 10, 12, 2.5, "3"])
def test_digits_out_of_range_is_refused(digits):
    with pytest.raises(InputError) as refused:
        Encoding(digits)
    assert str(refused.value) == f"digits must be a whole number from 1 to 9, got {digits!r}"


def test_answer_places_name_what_each_answer_position_holds():
    units_first = Encoding(3, reverse_answer=True)
    assert units_first.answer_places() == ["10^0", "10^1", "10^2", "10^3"]
    ids = units_first.encode_answers(np.array([535]), np.array([61]))[0]
    assert [VOCAB[i] for i in ids[:3]] == [str(596 // 10**place % 10) for place in range(3)]
    assert Encoding(2, reverse_answer=False).answer_places() == ["character 1", "character 2", "character 3"]
