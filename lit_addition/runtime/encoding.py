"""How an addition problem becomes token ids and how token ids become an answer again.

The vocabulary is the reference's: the characters ``" +0123456789"`` in sorted order, so the padding space is id 0,
``+`` is id 1 and digit ``d`` is id ``d + 2``. For ``digits=3`` a question has ``2*3+1 = 7`` characters and an answer
``3+1 = 4``. Walking through ``535+61``:

* the question ``"535+61"`` is padded to ``"535+61 "`` and, with ``reverse=True`` (the reference's trick), read
  backwards: ``" 16+535"``, which is the ids ``[0, 3, 8, 1, 7, 5, 7]``;
* the answer ``"596"`` is padded to ``"596 "``, the ids ``[7, 11, 8, 0]``;
* with ``reverse_answer=True`` the answer is written least significant digit first, ``"695 "`` or
  ``[8, 11, 7, 0]``, so that answer position ``i`` always holds the ``10**i`` digit. Decoding undoes this, and the
  user never sees it;
* with ``zero_pad=True`` each operand is written with leading zeros to ``digits`` digits, ``"535+061"``, read
  backwards ``"160+535"``: every question has the same layout, so the digits of one column sit at the same places
  in every question, whatever the operands' lengths. Decoding drops the zeros again;
* with ``interleave=True`` the operands, written with leading zeros, take turns digit by digit, the highest column
  first: ``"503651"``, read backwards ``"156305"``. Read that way the network meets each column's two digits
  together, units first, in the order the written method adds them, and only has to carry one digit from a column
  to the next. The turns say which digit is whose, so the ``+`` is left out: ``2*digits`` characters.

Everything here works on whole NumPy arrays at once: encoding half a million problems is a few column operations,
not a Python loop over strings. It imports nothing but NumPy, on purpose: ``export`` ships it beside the ONNX model,
so the exported model reads and writes exactly what the checkpoint does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

if __package__:  # imported from the lit_addition package
    from .errors import InputError
else:  # in an exported folder, beside its copy of errors.py
    from errors import InputError

VOCAB = " +0123456789"
VOCAB_SIZE = len(VOCAB)
PAD_ID = VOCAB.index(" ")
PLUS_ID = VOCAB.index("+")
DIGIT0_ID = VOCAB.index("0")
MAX_DIGITS = 9  # keeps every sum, and the sampler's pair keys, inside int64

_CHARS = np.array(list(VOCAB))
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
        zero_pad: write each operand with leading zeros to ``digits`` digits.
        interleave: write the two operands' digits in turns, column by column, with leading zeros whatever
            ``zero_pad`` says, and no ``+``.
    """

    digits: int = 3
    reverse: bool = True
    reverse_answer: bool = False
    zero_pad: bool = False
    interleave: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.digits, int) or not 1 <= self.digits <= MAX_DIGITS:
            raise InputError(f"digits must be a whole number from 1 to {MAX_DIGITS}, got {self.digits!r}")

    @property
    def question_length(self) -> int:
        return 2 * self.digits if self.interleave else 2 * self.digits + 1

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

    def encode_questions(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Token ids of the questions ``a+b``, shape ``(n, question_length)``."""
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        if self.zero_pad or self.interleave:
            exponent = np.arange(self.digits)[::-1]  # the most significant column first
            a_ids, b_ids = (numbers[:, None] // POWERS_OF_TEN[exponent] % 10 + DIGIT0_ID for numbers in (a, b))
            if self.interleave:
                ids = np.stack([a_ids, b_ids], axis=2).reshape(len(a), self.question_length)  # no problems too
            else:
                ids = np.concatenate([a_ids, np.full((len(a), 1), PLUS_ID), b_ids], axis=1)
            return ids[:, ::-1].copy() if self.reverse else ids
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
        texts = [text.strip() for text in ids_to_strings(ids[:, ::-1] if self.reverse else ids)]
        if self.interleave:
            texts = [f"{text[0::2]}+{text[1::2]}" for text in texts]
        if self.zero_pad or self.interleave:
            return ["+".join(operand.lstrip("0") or "0" for operand in text.split("+")) for text in texts]
        return texts

    def decode_answers(self, ids: np.ndarray) -> list[str]:
        """Token ids of answers (true or predicted) back to ``"596"``, most significant digit first."""
        texts = (text.rstrip() for text in ids_to_strings(np.asarray(ids)))
        return [text[::-1] for text in texts] if self.reverse_answer else list(texts)
