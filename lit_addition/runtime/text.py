"""Problems as people type them and answers as people read them: parsing with one clear error per mistake, the
line and JSON-record formats of the answers, reading lines of problems, and the problems worth trying first.

It imports nothing but NumPy and the standard library: ``export`` ships it beside the ONNX model, so the exported
model refuses and answers exactly as the checkpoint does.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from typing import IO

import numpy as np

if __package__:  # imported from the lit_addition package
    from .errors import InputError
else:  # in an exported folder, beside its copy of errors.py
    from errors import InputError

_SPACES = " \t"
_ALLOWED = frozenset("0123456789+" + _SPACES)
_NEGATIVE = re.compile(r"(^|\+)[ \t]*-[ \t]*[0-9]")
_EXAMPLE = 'write two whole numbers joined by "+", e.g. 535+61'


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


def parse(problem: str, digits: int) -> tuple[int, int]:
    """The operands of a problem typed by a person, such as ``"535+61"`` or ``" 535 + 61 "``, for a model that adds
    numbers of at most ``digits`` digits.

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
            if significant > digits:
                shown = operand if len(operand) <= 12 else operand[:9] + "..."
                limit = f"{digits} digit{'s' if digits > 1 else ''}"
                raise InputError(
                    f"{shown} has {significant} digits, but this model adds numbers of at most {limit} "
                    f"(0 to {10**digits - 1}): use a model trained with more digits"
                )
    except InputError as error:
        raise InputError(f"{_quote(problem)}: {error}") from None
    # Without the leading zeros: Python refuses to convert a string of over 4,300 characters, zeros included.
    return int(operands[0].lstrip("0") or "0"), int(operands[1].lstrip("0") or "0")


def parse_each(
    problems: Sequence[str], digits: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, InputError]]:
    """Parse every problem, keeping going past bad ones.

    Returns:
        The positions of the problems that parse and their operands ``a`` and ``b`` (int64 arrays), and the error of
        every problem that does not, by position.
    """
    parsed: list[tuple[int, int, int]] = []
    errors: dict[int, InputError] = {}
    for position, problem in enumerate(problems):
        try:
            parsed.append((position, *parse(problem, digits)))
        except InputError as error:
            errors[position] = error
    positions, a, b = np.array(parsed, dtype=np.int64).reshape(-1, 3).T
    return positions, a, b, errors


def answer_line(problem: str, answer: str) -> str:
    """How a command line shows an answered problem: ``535+61 = 596``."""
    return f"{problem.strip(_SPACES)} = {answer}"


def record(line: int, problem: str, result: str | InputError) -> dict[str, int | str]:
    """The JSON record of one problem: its 1-based line, the problem as given, and its answer or its error."""
    outcome = {"error": str(result)} if isinstance(result, InputError) else {"answer": result}
    return {"line": line, "problem": problem, **outcome}


def text_lines(binary: IO[bytes]) -> Iterator[str]:
    """The lines of a byte stream as text, without line endings (``\\n``, ``\\r\\n`` or ``\\r``), read lazily. Bytes
    that are not UTF-8 become U+FFFD, which :func:`parse` then refuses for that line alone."""
    return (line.rstrip("\n") for line in io.TextIOWrapper(binary, encoding="utf-8", errors="replace"))


def hard_problems(digits: int) -> list[tuple[str, int, int]]:
    """The problems a person tries first, as ``(what it is, a, b)``, each once: the longest carry chains, all nines
    and one below, zeros, a carry through every column into a new digit (555+445), and the smallest sum with a new
    digit (500+500)."""
    top = 10**digits - 1
    fives, four_five = int("5" * digits), int("4" * (digits - 1) + "5")
    problems = [
        ("longest carry chain", top, 1),
        ("longest carry chain", 1, top),
        ("all nines", top, top),
        ("one below all nines", top - 1, top),
        ("one below all nines", top, top - 1),
        ("zeros", 0, 0),
        ("zeros", 0, top),
        ("zeros", top, 0),
        ("a carry through every column", fives, four_five),
        ("a carry through every column", four_five, fives),
        ("smallest sum with a new digit", (top + 1) // 2, (top + 1) // 2),
    ]
    seen: set[tuple[int, int]] = set()
    return [p for p in problems if (p[1], p[2]) not in seen and not seen.add((p[1], p[2]))]


def problems_to_try(digits: int) -> list[str]:
    """Problems worth trying on a model of ``digits`` digits: the reference's 535+61 cut to fit, then the
    :func:`hard_problems`."""
    typical = f"{('535' * 3)[:digits]}+{('61' * 5)[: max(1, digits - 1)]}"
    return [typical, *(f"{a}+{b}" for _, a, b in hard_problems(digits))]
