"""The ``answer`` command: a trained checkpoint answers problems given as arguments or read from standard input.

::

    python -m lit_addition answer --ckpt_path CKPT "535+61" "99+1"      # 535+61 = 596, one line each
    python -m lit_addition answer --ckpt_path CKPT < problems.txt        # one problem per line, streamed
    python -m lit_addition answer --ckpt_path CKPT --json "535+61"      # JSON Lines

Standard input is read in batches of ``--batch_size`` lines, so a file of any length streams through in bounded
memory. A bad problem does not stop the others: its one-line error, naming the line and the reason, goes to stderr
(and, with ``--json``, a record with an ``error`` field to stdout, keeping the output aligned with the input); when
any problem failed, the command ends with a summary line and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from itertools import islice

from lit_addition.inference import CheckpointAdder
from lit_addition.runtime.adder import ANSWER_BATCH_SIZE, Adder
from lit_addition.runtime.errors import InputError
from lit_addition.runtime.text import answer_line, record, text_lines


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
    parser.description = "Answer addition problems with a trained checkpoint."
    parser.add_argument(
        "problems",
        nargs="*",
        help='problems such as "535+61"; none: read one per line from stdin. Put any that start with "-" after --',
    )
    parser.add_argument("--ckpt_path", required=True, help="checkpoint written by `fit`")
    parser.add_argument("--json", action="store_true", help="write JSON Lines: line, problem, answer or error")
    parser.add_argument(
        "--batch_size", type=int, default=ANSWER_BATCH_SIZE, help="problems per forward pass (default: %(default)s)"
    )


def run(args: argparse.Namespace) -> None:
    """Answer the problems of ``args``; raise :class:`InputError` at the end when any of them failed."""
    adder = CheckpointAdder.load(args.ckpt_path)
    if args.problems:
        problems, label, batch_size = args.problems, "argument", args.batch_size
    else:
        # At a terminal each typed line is answered at once; from a pipe or file, lines are answered in batches.
        problems, label = text_lines(sys.stdin.buffer), "line"
        batch_size = 1 if sys.stdin.isatty() else args.batch_size
    total, failed = answer_stream(adder, problems, batch_size, args.json, label)
    if failed:
        raise InputError(f"{failed} of {total} problem(s) could not be answered: fix the {label}s named above")
