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

from lit_addition.inference import CheckpointAdder
from lit_addition.runtime.adder import add_arguments as answer_arguments
from lit_addition.runtime.adder import answer_command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Answer addition problems with a trained checkpoint."
    parser.add_argument("--ckpt_path", required=True, help="checkpoint written by `fit`")
    answer_arguments(parser)  # the problems, --json and --batch_size, as the exported adder.py has them


def run(args: argparse.Namespace) -> None:
    """Answer the problems of ``args``; raise :class:`InputError` at the end when any of them failed."""
    answer_command(CheckpointAdder.load(args.ckpt_path), args)
