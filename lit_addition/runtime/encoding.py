"""How an addition problem becomes token ids and how token ids become an answer again.

The vocabulary is the reference's: the characters ``" +0123456789"`` in sorted order, so the padding space is id 0,
``+`` is id 1 and digit ``d`` is id ``d + 2``. For ``digits=3`` a question has ``2*3+1 = 7`` characters and an answer
``3+1 = 4``. Walking through ``535+61``:

* the question ``"535+61"`` is padded to ``"535+61 "`` and, with ``reverse=True`` (the reference's trick), read
  backwards: ``" 16+535"``, which is the ids ``[0, 3, 8, 1, 7, 5, 7]``;
* the answer ``"596"`` is padded to ``"596 "``, the ids ``[7, 11, 8, 0]``;
* with ``reverse_answer=True`` the answer is written least significant digit first, ``"695 "`` or
  ``[8, 11, 7, 0]``, so that answer position ``i`` always holds the ``10**i`` digit. Decoding undoes this, and the
  user never sees it.

Everything here works on whole NumPy arrays at once: encoding half a million problems is a few column operations,
not a Python loop over strings.

This file is also the inference core that every way of asking the model a question shares: :meth:`Encoding.parse`
checks a problem as a person types it, and :meth:`Encoding.answer_each` parses, encodes, runs any model given as a
function and decodes. It imports nothing but NumPy and the standard library, on purpose: ``export`` copies it
verbatim next to the ONNX model, so the exported model answers exactly as the checkpoint does without lit_addition.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

VOCAB = " +0123456789"
VOCAB_SIZE = len(VOCAB)
PAD_ID = VOCAB.index(" ")
PLUS_ID = VOCAB.index("+")
DIGIT0_ID = VOCAB.index("0")
MAX_DIGITS = 9  # keeps every sum, and the sampler's pair keys, inside int64
ANSWER_BATCH_SIZE = 1024  # problems per forward pass when answering

# A model as a function: question ids (n, question_length) to answer logits (n, answer_length, vocabulary).
Predict = Callable[[np.ndarray], np.ndarray]

_CHARS = np.array(list(VOCAB))
_SPACES = " \t"
_ALLOWED = frozenset("0123456789+" + _SPACES)
_NEGATIVE = re.compile(r"(^|\+)[ \t]*-[ \t]*[0-9]")
_EXAMPLE = 'write two whole numbers joined by "+", e.g. 535+61'


class InputError(ValueError):
    """A request that cannot be served as given; the message names the problem and the fix.

    Every entry point catches it, prints its message on one line and exits non-zero. It is defined here, not in
    :mod:`lit_addition.errors`, so that the exported model's copy of this file raises it too.
    """


POWERS_OF_TEN = 10 ** np.arange(MAX_DIGITS + 2, dtype=np.int64)


def count_digits(numbers: np.ndarray) -> np.ndarray:
    """Number of decimal digits of each non-negative integer (0 has one digit)."""
    return np.searchsorted(POWERS_OF_TEN[1:], numbers, side="right") + 1


def _digit_ids(numbers: np.ndarray, width: int, least_significant_first: bool) -> tuple[np.ndarray, np.ndarray]:
    """Token ids of each number's digits, left-aligned in ``width`` columns, and where the number has digits."""
    lengths = count_digits(numbers)
    column = np.arange(width)
    exponent = column[None, :] if least_significant_first else lengths[:, None] - 1 - column[None, :]
    present = column[None, :] < lengths[:, None]
    digits = numbers[:, None] // POWERS_OF_TEN[np.clip(exponent, 0, None)] % 10
    return np.where(present, digits + DIGIT0_ID, PAD_ID), present


def _quote(problem: str, limit: int = 40) -> str:
    """The problem as an error message shows it: quoted, escapes visible, long ones cut, always one line."""
    return repr(problem if len(problem) <= limit else problem[: limit - 3] + "...")


def _refuse_characters(text: str) -> None:
    """Raise for the first character that no problem may contain, explaining the likely intent."""
    if _NEGATIVE.search(text):
        raise InputError("negative numbers are not supported: both numbers must be 0 or more")
    bad = next((char for char in text if char not in _ALLOWED), None)
    if bad == "\ufffd":  # what undecodable bytes become when text is read with errors="replace"
        raise InputError("the text is not valid UTF-8: save it as UTF-8")
    if bad is not None and bad.isdigit():  # str.isdigit() also accepts "５", "٣", "²": the model knows only 0-9
        raise InputError(f"{bad!r} is not an ASCII digit: write the numbers with the digits 0-9")
    if bad is not None:
        raise InputError(f'{bad!r} is not allowed: use only the digits 0-9, "+" and spaces, e.g. 535+61')


def answer_line(problem: str, answer: str) -> str:
    """How a command line shows an answered problem: ``535+61 = 596``."""
    return f"{problem.strip(_SPACES)} = {answer}"


def ids_to_strings(ids: np.ndarray) -> list[str]:
    """Rows of token ids to the strings they spell, padding included."""
    ids = np.ascontiguousarray(ids)
    if ids.shape[0] == 0:
        return []
    return np.ascontiguousarray(_CHARS[ids]).view(f"<U{ids.shape[1]}").ravel().tolist()


@dataclass(frozen=True)
class Encoding:
    """The fixed-width text format of one model: how many digits, and which way round each side is written.

    Args:
        digits: the most digits an operand may have.
        reverse: feed the question backwards, as the reference does.
        reverse_answer: write the answer least significant digit first.
    """

    digits: int = 3
    reverse: bool = True
    reverse_answer: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.digits, int) or not 1 <= self.digits <= MAX_DIGITS:
            raise InputError(f"digits must be a whole number from 1 to {MAX_DIGITS}, got {self.digits!r}")

    @property
    def question_length(self) -> int:
        return 2 * self.digits + 1

    @property
    def answer_length(self) -> int:
        return self.digits + 1

    @property
    def max_operand(self) -> int:
        return 10**self.digits - 1

    def answer_places(self) -> list[str]:
        """What each position of an encoded answer holds: its power of ten (``10^0`` first) when answers are
        written units first, otherwise only its place from the left (``character 1`` first)."""
        if self.reverse_answer:
            return [f"10^{i}" for i in range(self.answer_length)]
        return [f"character {i + 1}" for i in range(self.answer_length)]

    def parse(self, problem: str) -> tuple[int, int]:
        """The operands of a problem typed by a person, such as ``"535+61"`` or ``" 535 + 61 "``.

        Raises:
            InputError: one line naming the problem, what is wrong with it and how to write it instead.
        """
        if not isinstance(problem, str):
            raise InputError(f"{problem!r} is not a string: {_EXAMPLE}")
        text = problem.strip(_SPACES)
        if not text:
            raise InputError(f"empty problem: {_EXAMPLE}")
        try:
            _refuse_characters(text)
            operands = [operand.strip(_SPACES) for operand in text.split("+")]
            if len(operands) == 1:
                raise InputError(f'no "+" found: {_EXAMPLE}')
            if len(operands) > 2:
                raise InputError(f'{len(operands) - 1} "+" signs found: a problem adds two numbers, e.g. 535+61')
            for side, operand in zip(("before", "after"), operands, strict=True):
                if not operand:
                    raise InputError(f'no number {side} the "+": {_EXAMPLE}')
                if any(space in operand for space in _SPACES):
                    raise InputError(f"a space inside the number {operand!r}: remove it")
                significant = len(operand.lstrip("0")) or 1  # "007" is 7, as in the training data
                if significant > self.digits:
                    shown = operand if len(operand) <= 12 else operand[:9] + "..."
                    limit = f"{self.digits} digit{'s' if self.digits > 1 else ''}"
                    raise InputError(
                        f"{shown} has {significant} digits, but this model adds numbers of at most {limit} "
                        f"(0 to {self.max_operand}): use a model trained with more digits"
                    )
        except InputError as error:
            raise InputError(f"{_quote(problem)}: {error}") from None
        return int(operands[0]), int(operands[1])

    def parse_each(self, problems: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, InputError]]:
        """Parse every problem, keeping going past bad ones.

        Returns:
            The positions of the problems that parse and their operands ``a`` and ``b`` (int64 arrays), and the
            error of every problem that does not, by position.
        """
        parsed: list[tuple[int, int, int]] = []
        errors: dict[int, InputError] = {}
        for position, problem in enumerate(problems):
            try:
                parsed.append((position, *self.parse(problem)))
            except InputError as error:
                errors[position] = error
        positions, a, b = np.array(parsed, dtype=np.int64).reshape(-1, 3).T
        return positions, a, b, errors

    def answer_each(
        self, problems: Sequence[str], predict: Predict, batch_size: int = ANSWER_BATCH_SIZE
    ) -> list[str | InputError]:
        """Answer every problem that parses, in batches of ``batch_size``; a bad problem gets its error instead.

        Args:
            problems: problems as typed, e.g. ``["535+61", "7 + 8"]``.
            predict: the model, mapping question ids ``(n, question_length)`` to answer logits
                ``(n, answer_length, vocabulary)``; it is never called with an empty batch.
            batch_size: the most problems per call of ``predict``.

        Returns:
            One entry per problem, in order: the model's answer as a string, or the :class:`InputError` that says
            why the problem was refused.
        """
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1, got {batch_size}")
        positions, a, b, errors = self.parse_each(problems)
        results: list[str | InputError] = [errors.get(position, "") for position in range(len(problems))]
        for start in range(0, len(positions), batch_size):
            batch = slice(start, start + batch_size)
            logits = np.asarray(predict(self.encode_questions(a[batch], b[batch])))
            for position, answer in zip(positions[batch].tolist(), self.decode_answers(logits.argmax(-1)), strict=True):
                results[position] = answer
        return results

    def answer(self, problems: Sequence[str], predict: Predict, batch_size: int = ANSWER_BATCH_SIZE) -> list[str]:
        """The model's answers to ``problems``, as :meth:`answer_each` gives them, when every problem is good.

        Raises:
            InputError: naming the first bad problem, and how many more there are.
        """
        results = self.answer_each(problems, predict, batch_size)
        errors = [result for result in results if isinstance(result, InputError)]
        if errors:
            more = f" (and {len(errors) - 1} more bad problem(s))" if len(errors) > 1 else ""
            raise InputError(f"{errors[0]}{more}")
        return results

    def encode_questions(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Token ids of the questions ``a+b``, shape ``(n, question_length)``."""
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        ids = np.full((len(a), self.question_length), PAD_ID, dtype=np.int64)
        ids[:, : self.digits], _ = _digit_ids(a, self.digits, least_significant_first=False)
        plus_column = count_digits(a)
        rows = np.arange(len(a))
        ids[rows, plus_column] = PLUS_ID
        b_ids, b_present = _digit_ids(b, self.digits, least_significant_first=False)
        row, k = np.nonzero(b_present)
        ids[row, plus_column[row] + 1 + k] = b_ids[row, k]
        return ids[:, ::-1].copy() if self.reverse else ids

    def encode_answers(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Token ids of the sums ``a+b``, shape ``(n, answer_length)``."""
        sums = np.asarray(a, dtype=np.int64) + np.asarray(b, dtype=np.int64)
        ids, _ = _digit_ids(sums, self.answer_length, least_significant_first=self.reverse_answer)
        return ids

    def decode_questions(self, ids: np.ndarray) -> list[str]:
        """Token ids of questions back to ``"535+61"``, un-reversed and unpadded."""
        ids = np.asarray(ids)
        return [text.strip() for text in ids_to_strings(ids[:, ::-1] if self.reverse else ids)]

    def decode_answers(self, ids: np.ndarray) -> list[str]:
        """Token ids of answers (true or predicted) back to ``"596"``, most significant digit first."""
        texts = (text.rstrip() for text in ids_to_strings(np.asarray(ids)))
        return [text[::-1] for text in texts] if self.reverse_answer else list(texts)
