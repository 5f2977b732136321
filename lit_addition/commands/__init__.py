"""The commands that use a trained model rather than train one, each a module here with ``add_arguments(parser)``
and ``run(args)``, imported only when it runs: ``python -m lit_addition answer`` loads neither Lightning nor the
export, analysis or web-demo code.

Each raises :class:`~lit_addition.runtime.errors.InputError` for bad input, which the entry point turns into one
line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import import_module

COMMANDS = ("answer", "export", "analyze", "demo", "serve")
# LightningCLI's own commands (its subcommands()), named here so that a mistyped command is refused without Lightning.
TRAINER_COMMANDS = ("fit", "validate", "test", "predict")


def run_command(name: str, args: list[str]) -> None:
    """Parse ``args`` for the command ``name`` and run it."""
    command = import_module(f"lit_addition.commands.{name}")
    parser = argparse.ArgumentParser(prog=f"python -m lit_addition {name}")
    command.add_arguments(parser)
    try:
        command.run(parser.parse_args(args))
    except BrokenPipeError:  # the reader went away (`answer ... | head`): stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
