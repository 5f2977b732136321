"""A trained adder, whatever runs it: the one interface that every way of asking the model a question stands on.

:class:`Adder` turns a model, given as its :meth:`~Adder.logits` over arrays of question ids, into everything a
caller needs: answers to problems as people type them (:meth:`~Adder.answer`, :meth:`~Adder.answer_each`), the
probability of each answer character (:meth:`~Adder.probabilities`), log-probabilities batch by batch over any
number of questions (:meth:`~Adder.log_probabilities`, the one batched forward pass), the answers' token ids
(:meth:`~Adder.predicted_ids`), their accuracy against true answers (:meth:`~Adder.score`), and the facts a page or
a card shows (:attr:`~Adder.facts`). Two adders implement it: ``lit_addition.inference.CheckpointAdder`` runs a
checkpoint with torch, and :class:`OnnxAdder` runs the exported ``model.onnx`` with onnxruntime.

:func:`answer_stream` is the one loop that answers a stream of problems batch by batch and writes each answer as a
line or a JSON record: ``python -m lit_addition answer`` runs it around a checkpoint, and this file's command line
around the exported model.

``export`` copies this file, unchanged, beside ``model.onnx``, where its command line behaves as ``answer`` does::

    python adder.py "535+61" "99+1"                   # prints 535+61 = 596 and 99+1 = 100
    python adder.py < problems.txt                    # one problem per line, streamed
    python adder.py --json "535+61" "5*3"             # JSON Lines; a bad problem: one error line, exit status 2

    from adder import OnnxAdder
    OnnxAdder().answer(["535+61", "7+8"])             # ["596", "15"]

It imports NumPy, the standard library and its neighbours in ``runtime/`` only, and onnxruntime when an
:class:`OnnxAdder` is made.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

if __package__:  # imported from the lit_addition package
    from .encoding import Encoding
    from .errors import InputError
    from .text import answer_line, parse_each, record, text_lines
else:  # run or imported in an exported folder, beside its copies of the other runtime files
    from encoding import Encoding
    from errors import InputError
    from text import answer_line, parse_each, record, text_lines

ANSWER_BATCH_SIZE = 1024  # problems per forward pass when answering
MODEL_FILE = "model.onnx"
FACTS_FILE = "facts.json"  # what the page and the card say about the model: digits, parameters, test accuracy
ENCODING_KEY = "lit_addition.encoding"  # metadata entry of model.onnx: the Encoding's fields as JSON
INPUT_NAME = "question_ids"
OUTPUT_NAME = "logits"


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities over the last axis, in float64."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


@dataclass(frozen=True)
class Score:
    """How an adder does on a set of problems with known answers."""

    problems: int
    seq_acc: float  # share of answers right in every character
    char_acc: float  # share of answer characters right, padding included

    @classmethod
    def of(cls, predicted_ids: np.ndarray, answer_ids: np.ndarray) -> Score:
        """The score of predicted answer ids against the true ones."""
        right = np.asarray(predicted_ids) == np.asarray(answer_ids)
        return cls(len(right), float(right.all(-1).mean()), float(right.mean()))


class Adder:
    """A trained model that adds: subclasses give :attr:`encoding`, :meth:`logits` and :attr:`facts`."""

    encoding: Encoding

    def logits(self, question_ids: np.ndarray) -> np.ndarray:
        """Answer logits ``(n, answer_length, vocabulary)`` for question ids ``(n, question_length)``, n >= 1."""
        raise NotImplementedError

    @property
    def facts(self) -> dict[str, Any]:
        """What a page or a card says about the model: ``digits``, ``parameters``, ``test_seq_acc``,
        ``test_problems`` (None when not measured) and ``source``."""
        raise NotImplementedError

    def log_probabilities(
        self, question_ids: np.ndarray, batch_size: int = ANSWER_BATCH_SIZE
    ) -> Iterator[tuple[slice, np.ndarray]]:
        """The model's log-probabilities, ``batch_size`` questions at a time: ``(rows, log_p)`` per batch."""
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1, got {batch_size}")
        for start in range(0, len(question_ids), batch_size):
            rows = slice(start, start + batch_size)
            yield rows, log_softmax(self.logits(question_ids[rows]))

    def probabilities(self, question_ids: np.ndarray, batch_size: int = ANSWER_BATCH_SIZE) -> np.ndarray:
        """The probability of every character at every answer position, ``(n, answer_length, vocabulary)``."""
        shape = (len(question_ids), self.encoding.answer_length, -1)
        parts = [np.exp(log_p) for _, log_p in self.log_probabilities(question_ids, batch_size)]
        return np.concatenate(parts).reshape(shape) if parts else np.empty(shape[:2] + (0,))

    def predicted_ids(self, question_ids: np.ndarray, batch_size: int = ANSWER_BATCH_SIZE) -> np.ndarray:
        """The token ids of the model's answers, ``(n, answer_length)``."""
        ids = np.empty((len(question_ids), self.encoding.answer_length), dtype=np.int64)
        for rows, log_p in self.log_probabilities(question_ids, batch_size):
            ids[rows] = log_p.argmax(-1)
        return ids

    def score(self, question_ids: np.ndarray, answer_ids: np.ndarray) -> Score:
        """Exact and per-character accuracy of the model's answers against the true answer ids."""
        return Score.of(self.predicted_ids(question_ids), answer_ids)

    def answer_each(self, problems: Sequence[str], batch_size: int = ANSWER_BATCH_SIZE) -> list[str | InputError]:
        """One entry per problem, in order: the model's answer, or the :class:`InputError` that says why the
        problem was refused. Problems as typed, e.g. ``["535+61", " 7 + 8 "]``."""
        positions, a, b, errors = parse_each(problems, self.encoding.digits)
        results: list[str | InputError] = [errors.get(position, "") for position in range(len(problems))]
        # Each distinct question is asked once, however often it comes ("7+8" and " 7 + 8 " are one question).
        _, first, asked = np.unique(a * (self.encoding.max_operand + 1) + b, return_index=True, return_inverse=True)
        ids = self.predicted_ids(self.encoding.encode_questions(a[first], b[first]), batch_size)
        answers = self.encoding.decode_answers(ids)
        for position, question in zip(positions.tolist(), asked.tolist(), strict=True):
            results[position] = answers[question]
        return results

    def answer(self, problems: Sequence[str], batch_size: int = ANSWER_BATCH_SIZE) -> list[str]:
        """The model's answers to ``problems``, e.g. ``["596", "15"]`` for ``["535+61", "7+8"]``.

        Raises:
            InputError: naming the first bad problem, and how many more there are.
        """
        results = self.answer_each(problems, batch_size)
        errors = [result for result in results if isinstance(result, InputError)]
        if errors:
            more = f" (and {len(errors) - 1} more bad problem(s))" if len(errors) > 1 else ""
            raise InputError(f"{errors[0]}{more}")
        return results


class OnnxAdder(Adder):
    """The exported model, run by onnxruntime; its digits and reversal are read from ``model.onnx`` itself, and its
    facts from ``facts.json`` beside it.

    Args:
        path: the ONNX file; ``None`` for ``model.onnx`` beside this file.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        import onnxruntime  # here, so that lit_addition can read this module's names without the export extra

        self.path = Path(__file__).with_name(MODEL_FILE) if path is None else Path(path)
        self.session = onnxruntime.InferenceSession(str(self.path), providers=["CPUExecutionProvider"])
        self.encoding = Encoding(**json.loads(self.session.get_modelmeta().custom_metadata_map[ENCODING_KEY]))

    def logits(self, question_ids: np.ndarray) -> np.ndarray:
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(question_ids, dtype=np.int64)})[0]

    @property
    def facts(self) -> dict[str, Any]:
        stored = self.path.with_name(FACTS_FILE)
        if stored.is_file():
            return json.loads(stored.read_text(encoding="utf-8"))
        return {"digits": self.encoding.digits, "parameters": None, "test_seq_acc": None, "test_problems": None,
                "source": self.path.name}  # fmt: skip


def answer_stream(
    adder: Adder, problems: Iterable[str], batch_size: int, as_json: bool, label: str = "line"
) -> tuple[int, int]:
    """Answer ``problems`` batch by batch, writing each answer to stdout and each error to stderr as it comes.

    Returns:
        How many problems there were, and how many of them could not be answered.
    """
    if batch_size < 1:
        raise InputError(f"batch_size must be at least 1, got {batch_size}")
    problems = iter(problems)
    total = failed = 0
    while batch := list(islice(problems, batch_size)):
        for problem, result in zip(batch, adder.answer_each(batch, batch_size), strict=True):
            total += 1
            if isinstance(result, InputError):
                failed += 1
                print(f"error: {label} {total}: {result}", file=sys.stderr)
            if as_json:
                print(json.dumps(record(total, problem, result), ensure_ascii=False))
            elif not isinstance(result, InputError):
                print(answer_line(problem, result))
        sys.stdout.flush()
    return total, failed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a command line that answers problems: ``answer``'s, and this file's."""
    parser.add_argument(
        "problems",
        nargs="*",
        help='problems such as "535+61"; none: read one per line from stdin. Put any that start with "-" after --',
    )
    parser.add_argument("--json", action="store_true", help="write JSON Lines: line, problem, answer or error")
    parser.add_argument(
        "--batch_size", type=int, default=ANSWER_BATCH_SIZE, help="problems per forward pass (default: %(default)s)"
    )


def answer_command(adder: Adder, options: argparse.Namespace) -> None:
    """Answer the problems of a command line made by :func:`add_arguments`: those given, else one per line from
    standard input (at a terminal, each as it is typed).

    Raises:
        InputError: at the end, when any problem could not be answered (each was named on stderr as it came).
    """
    if options.problems:
        problems, label, batch_size = options.problems, "argument", options.batch_size
    elif sys.stdin.isatty():  # a person typing: answer each line at once
        print("reading one problem per line, such as 535+61; Ctrl-D to end", file=sys.stderr)
        problems, label, batch_size = text_lines(sys.stdin.buffer), "line", 1
    else:
        problems, label, batch_size = text_lines(sys.stdin.buffer), "line", options.batch_size
    total, failed = answer_stream(adder, problems, batch_size, options.json, label)
    if failed:
        raise InputError(f"{failed} of {total} problem(s) could not be answered: fix the {label}s named above")


def main(args: Sequence[str] | None = None) -> int:
    """The exported model's command line, as ``python -m lit_addition answer``: the problems given, or one per line
    from standard input; ``problem = answer`` lines or, with ``--json``, JSON Lines; one ``error:`` line per bad
    problem and exit status 2 if there was any."""
    parser = argparse.ArgumentParser(prog="python adder.py", description="Answer addition problems with the model.")
    add_arguments(parser)
    options = parser.parse_args(args)
    try:
        answer_command(OnnxAdder(), options)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`python adder.py < big.txt | head`): stop quietly, as others do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
