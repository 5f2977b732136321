"""The adder interface that every way of asking the model stands on, with a perfect model: parse, encode, run,
decode, in batches; errors kept in place; probabilities and scores; and the shipped runtime's imports."""

import ast

import numpy as np
import pytest

from lit_addition.runtime import FOLDER, SHIPPED
from lit_addition.runtime.adder import Adder, log_softmax
from lit_addition.runtime.encoding import VOCAB_SIZE, Encoding
from lit_addition.runtime.errors import InputError


class Oracle(Adder):
    """A perfect adder: it reads each question back and returns one-hot logits of the true sum. It records the size
    of every batch it is given."""

    def __init__(self, encoding: Encoding) -> None:
        self.encoding = encoding
        self.batches: list[int] = []

    @property
    def facts(self) -> dict:
        return {"digits": self.encoding.digits}

    def logits(self, question_ids: np.ndarray) -> np.ndarray:
        self.batches.append(len(question_ids))
        a, b = np.array([q.split("+") for q in self.encoding.decode_questions(question_ids)], dtype=np.int64).T
        return np.eye(VOCAB_SIZE, dtype=np.float32)[self.encoding.encode_answers(a, b)]


@pytest.mark.parametrize("reverse", [True, False])
@pytest.mark.parametrize("reverse_answer", [True, False])
@pytest.mark.parametrize("layout", [{}, {"zero_pad": True}, {"interleave": True}])
def test_answer_runs_parse_encode_predict_decode(reverse, reverse_answer, layout):
    encoding = Encoding(digits=3, reverse=reverse, reverse_answer=reverse_answer, **layout)
    assert Oracle(encoding).answer(["535+61", "7+8", " 999 + 999 ", "0+0"]) == ["596", "15", "1998", "0"]


def test_answer_each_answers_every_good_problem_and_keeps_each_error_in_place():
    encoding = Encoding(digits=2)
    oracle = Oracle(encoding)
    results = oracle.answer_each(["12+34", "5*3", "99+1", "", "7+8"], batch_size=2)
    assert results[0::2] == ["46", "100", "15"]
    assert [str(error) for error in results[1::2]] == [
        """'5*3': '*' is not allowed: use only the digits 0-9, "+" and spaces, e.g. 535+61""",
        'empty problem: write two whole numbers joined by "+", e.g. 535+61',
    ]
    assert oracle.batches == [2, 1]  # three good problems in batches of two; bad ones never reach the model


def test_answer_each_asks_each_distinct_question_once():
    oracle = Oracle(Encoding(digits=2))
    problems = ["7+8", " 7 + 8 ", "12+34", "007+8", "x", "12+34", "8+7"]
    results = oracle.answer_each(problems)
    assert results[:4] + results[5:] == ["15", "15", "46", "15", "46", "15"]
    assert isinstance(results[4], InputError)
    assert oracle.batches == [3]  # 7+8 (however written), 12+34 and 8+7, once each


def test_only_bad_problems_never_call_the_model():
    oracle = Oracle(Encoding(digits=2))
    results = oracle.answer_each(["x", "-1+1"])
    assert all(isinstance(result, InputError) for result in results)
    assert oracle.batches == []


def test_answer_names_the_first_bad_problem_and_counts_the_rest():
    encoding = Encoding(digits=2)
    with pytest.raises(InputError) as refused:
        Oracle(encoding).answer(["1+1", "123+1", "x", "-1+1"])
    assert str(refused.value).startswith("'123+1': 123 has 3 digits")
    assert str(refused.value).endswith(" (and 2 more bad problem(s))")


def test_batch_size_must_be_positive():
    with pytest.raises(InputError, match="batch_size must be at least 1, got 0"):
        Oracle(Encoding(digits=2)).answer(["1+1"], batch_size=0)


def test_probabilities_and_scores_come_from_one_batched_pass():
    encoding = Encoding(digits=2, reverse_answer=True)
    oracle = Oracle(encoding)
    a, b = np.arange(100), np.arange(100)[::-1]
    questions = encoding.encode_questions(a, b)
    probabilities = oracle.probabilities(questions, batch_size=40)
    assert oracle.batches == [40, 40, 20] and probabilities.shape == (100, 3, VOCAB_SIZE)
    assert np.allclose(probabilities.sum(-1), 1) and np.array_equal(
        probabilities.argmax(-1), encoding.encode_answers(a, b)
    )
    score = oracle.score(questions, encoding.encode_answers(a, b))
    assert (score.problems, score.seq_acc, score.char_acc) == (100, 1.0, 1.0)
    wrong = encoding.encode_answers(a, b + 1)
    assert oracle.score(questions, wrong).seq_acc == 0.0
    assert np.allclose(np.exp(log_softmax(np.array([[0.0, np.log(3.0)]]))), [[0.25, 0.75]])


def test_the_shipped_runtime_imports_only_numpy_the_standard_library_and_itself():
    """``export`` ships these files on their own, so they must not import lit_addition or torch; onnxruntime and
    Gradio only where they run the model or the page."""
    allowed = {"__future__", "argparse", "collections", "dataclasses", "io", "itertools", "json", "os", "pathlib", "re",
               "signal", "sys", "threading", "typing", "numpy", "onnxruntime", "gradio"}  # fmt: skip
    for name in SHIPPED:
        nodes = list(ast.walk(ast.parse((FOLDER / name).read_text())))
        imported = {alias.name.split(".")[0] for node in nodes if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module.split(".")[0] for node in nodes if isinstance(node, ast.ImportFrom) and node.module}
        neighbours = {file.removesuffix(".py") for file in SHIPPED}
        assert imported - neighbours <= allowed, name
