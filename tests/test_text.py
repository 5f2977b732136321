"""Problems as people type them: what parses, and the exact one-line message for every kind of bad problem."""

import pytest

from lit_addition.runtime.errors import InputError
from lit_addition.runtime.text import hard_problems, parse, problems_to_try


@pytest.mark.parametrize(
    ("problem", "operands"),
    [
        ("535+61", (535, 61)),
        (" 535 + 61 ", (535, 61)),
        ("\t7\t+\t8\t", (7, 8)),
        ("0+0", (0, 0)),
        ("999+999", (999, 999)),
        ("007+0001", (7, 1)),  # leading zeros: the reference's data has "07" for 7
        ("0" * 5_000 + "1+2", (1, 2)),  # longer than Python converts from a string, leading zeros and all
    ],
)
def test_problems_as_people_type_them_parse(problem, operands):
    assert parse(problem, 3) == operands


TOO_LONG = "9" * 5_000  # int() of this many digits would raise; the length check comes first

# Every kind of bad problem and the exact one-line message it gets, for a 3-digit model.
BAD_PROBLEMS = {
    "": 'empty problem: write two whole numbers joined by "+", e.g. 535+61',
    "   ": 'empty problem: write two whole numbers joined by "+", e.g. 535+61',
    "5*3": """'5*3': '*' is not allowed: use only the digits 0-9, "+" and spaces, e.g. 535+61""",
    "5-3": """'5-3': '-' is not allowed: use only the digits 0-9, "+" and spaces, e.g. 535+61""",
    "five+3": """'five+3': 'f' is not allowed: use only the digits 0-9, "+" and spaces, e.g. 535+61""",
    "1.5+2": """'1.5+2': '.' is not allowed: use only the digits 0-9, "+" and spaces, e.g. 535+61""",
    "5+\x00": """'5+\\x00': '\\x00' is not allowed: use only the digits 0-9, "+" and spaces, e.g. 535+61""",
    "-5+3": "'-5+3': negative numbers are not supported: both numbers must be 0 or more",
    "5+ -3": "'5+ -3': negative numbers are not supported: both numbers must be 0 or more",
    "535": """'535': no "+" found: write two whole numbers joined by "+", e.g. 535+61""",
    "1+2+3": """'1+2+3': 2 "+" signs found: a problem adds two numbers, e.g. 535+61""",
    "+5": """'+5': no number before the "+": write two whole numbers joined by "+", e.g. 535+61""",
    "5 +": """'5 +': no number after the "+": write two whole numbers joined by "+", e.g. 535+61""",
    "5 3+1": "'5 3+1': a space inside the number '5 3': remove it",
    "1234+5": "'1234+5': 1234 has 4 digits, but this model adds numbers of at most 3 digits (0 to 999): use a model "
    "trained with more digits",
    "5+0001234": "'5+0001234': 0001234 has 4 digits, but this model adds numbers of at most 3 digits (0 to 999): "
    "use a model trained with more digits",
    f"{TOO_LONG}+1": f"'{TOO_LONG[:37]}...': 999999999... has 5000 digits, but this model adds numbers of at most 3 "
    "digits (0 to 999): use a model trained with more digits",
    "５+1": "'５+1': '５' is not an ASCII digit: write the numbers with the digits 0-9",  # full-width five
    "٣+1": "'٣+1': '٣' is not an ASCII digit: write the numbers with the digits 0-9",  # Arabic-Indic three
    "2²+1": "'2²+1': '²' is not an ASCII digit: write the numbers with the digits 0-9",  # str.isdigit() says yes
    "\ufffd+1": "'\ufffd+1': the text is not valid UTF-8: save it as UTF-8",  # what undecodable bytes become
}


@pytest.mark.parametrize(("problem", "message"), BAD_PROBLEMS.items(), ids=[repr(p)[:20] for p in BAD_PROBLEMS])
def test_bad_problems_are_refused_with_one_exact_line(problem, message):
    with pytest.raises(InputError) as refused:
        parse(problem, 3)
    assert str(refused.value) == message
    assert "\n" not in str(refused.value)


def test_a_problem_that_is_not_a_string_is_refused():
    with pytest.raises(InputError, match=r"^535 is not a string"):
        parse(535, 3)


def test_the_digit_limit_is_the_models():
    assert parse("99999+0", 5) == (99_999, 0)
    with pytest.raises(InputError, match=r"at most 1 digit \(0 to 9\)"):
        parse("10+1", 1)


def test_the_hard_problems_and_the_problems_to_try_are_problems_of_the_space():
    for digits in (1, 2, 3, 5):
        named = hard_problems(digits)
        assert len({(a, b) for _, a, b in named}) == len(named)  # each once
        assert all(0 <= a < 10**digits and 0 <= b < 10**digits for _, a, b in named)
        assert [parse(problem, digits) for problem in problems_to_try(digits)[1:]] == [(a, b) for _, a, b in named]
    assert problems_to_try(3)[:4] == ["535+61", "999+1", "1+999", "999+999"]
    assert ("one below all nines", 998, 999) in hard_problems(3) and ("zeros", 0, 0) in hard_problems(3)
