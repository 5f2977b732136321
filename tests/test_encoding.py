"""Encoding: concrete ids for a known problem, round trips against a plain string encoder, and the inference core:
parsing what people type, refusing bad problems with exact messages, and answering with a model given as a function."""

import ast
from pathlib import Path

import numpy as np
import pytest

from lit_addition.errors import InputError
from lit_addition.runtime import encoding as encoding_module
from lit_addition.runtime.encoding import VOCAB, VOCAB_SIZE, Encoding, count_digits


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


@pytest.mark.parametrize("digits", [0, -1, 10, 2.5])
def test_digits_out_of_range_is_refused(digits):
    with pytest.raises(InputError, match="digits must be a whole number from 1 to 9"):
        Encoding(digits)


@pytest.mark.parametrize(
    ("problem", "operands"),
    [
        ("535+61", (535, 61)),
        (" 535 + 61 ", (535, 61)),
        ("\t7\t+\t8\t", (7, 8)),
        ("0+0", (0, 0)),
        ("999+999", (999, 999)),
        ("007+0001", (7, 1)),  # leading zeros: the reference's data has "07" for 7
    ],
)
def test_problems_as_people_type_them_parse(problem, operands):
    assert Encoding(digits=3).parse(problem) == operands


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
        Encoding(digits=3).parse(problem)
    assert str(refused.value) == message
    assert "\n" not in str(refused.value)


def test_a_problem_that_is_not_a_string_is_refused():
    with pytest.raises(InputError, match=r"^535 is not a string"):
        Encoding(digits=3).parse(535)


def test_the_digit_limit_is_the_models():
    assert Encoding(digits=5).parse("99999+0") == (99_999, 0)
    with pytest.raises(InputError, match=r"at most 1 digit \(0 to 9\)"):
        Encoding(digits=1).parse("10+1")


class Oracle:
    """A perfect model as a function: it reads each question back and returns one-hot logits of the true sum.
    It records the size of every batch it is given."""

    def __init__(self, encoding: Encoding) -> None:
        self.encoding = encoding
        self.batches: list[int] = []

    def __call__(self, question_ids: np.ndarray) -> np.ndarray:
        self.batches.append(len(question_ids))
        a, b = np.array([q.split("+") for q in self.encoding.decode_questions(question_ids)], dtype=np.int64).T
        return np.eye(VOCAB_SIZE, dtype=np.float32)[self.encoding.encode_answers(a, b)]


@pytest.mark.parametrize("reverse", [True, False])
@pytest.mark.parametrize("reverse_answer", [True, False])
def test_answer_runs_parse_encode_predict_decode(reverse, reverse_answer):
    encoding = Encoding(digits=3, reverse=reverse, reverse_answer=reverse_answer)
    assert encoding.answer(["535+61", "7+8", " 999 + 999 ", "0+0"], Oracle(encoding)) == ["596", "15", "1998", "0"]


def test_answer_each_answers_every_good_problem_and_keeps_each_error_in_place():
    encoding = Encoding(digits=2)
    oracle = Oracle(encoding)
    results = encoding.answer_each(["12+34", "5*3", "99+1", "", "7+8"], oracle, batch_size=2)
    assert results[0::2] == ["46", "100", "15"]
    assert [str(error) for error in results[1::2]] == [
        """'5*3': '*' is not allowed: use only the digits 0-9, "+" and spaces, e.g. 535+61""",
        'empty problem: write two whole numbers joined by "+", e.g. 535+61',
    ]
    assert oracle.batches == [2, 1]  # three good problems in batches of two; bad ones never reach the model


def test_only_bad_problems_never_call_the_model():
    oracle = Oracle(Encoding(digits=2))
    results = Encoding(digits=2).answer_each(["x", "-1+1"], oracle)
    assert all(isinstance(result, InputError) for result in results)
    assert oracle.batches == []


def test_answer_names_the_first_bad_problem_and_counts_the_rest():
    encoding = Encoding(digits=2)
    with pytest.raises(InputError) as refused:
        encoding.answer(["1+1", "123+1", "x", "-1+1"], Oracle(encoding))
    assert str(refused.value).startswith("'123+1': 123 has 3 digits")
    assert str(refused.value).endswith(" (and 2 more bad problem(s))")


def test_batch_size_must_be_positive():
    with pytest.raises(InputError, match="batch_size must be at least 1, got 0"):
        Encoding(digits=2).answer(["1+1"], Oracle(Encoding(digits=2)), batch_size=0)


def test_the_inference_core_imports_only_numpy_and_the_standard_library():
    """``export`` ships encoding.py on its own, so it must not import lit_addition (or torch)."""
    tree = ast.parse(Path(encoding_module.__file__).read_text())
    nodes = list(ast.walk(tree))
    imported = {alias.name.split(".")[0] for node in nodes if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in nodes if isinstance(node, ast.ImportFrom)}
    assert imported == {"__future__", "re", "collections", "dataclasses", "numpy"}


def test_answer_places_name_what_each_answer_position_holds():
    units_first = Encoding(3, reverse_answer=True)
    assert units_first.answer_places() == ["10^0", "10^1", "10^2", "10^3"]
    ids = units_first.encode_answers(np.array([535]), np.array([61]))[0]
    assert [VOCAB[i] for i in ids[:3]] == [str(596 // 10**place % 10) for place in range(3)]
    assert Encoding(2, reverse_answer=False).answer_places() == ["character 1", "character 2", "character 3"]
