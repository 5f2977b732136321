"""``python -m lit_addition`` and the ``lit-addition`` console script: the commands that use a trained model
(:mod:`lit_addition.commands`), else LightningCLI's ``fit``, ``validate``, ``test`` and ``predict``
(:mod:`lit_addition.cli`). Bad input ends in one line on stderr and exit status 2, never a traceback.

Only what the command needs is imported: ``answer`` starts without Lightning.
"""

from __future__ import annotations

import sys
from argparse import ArgumentError

from lit_addition.commands import COMMANDS, TRAINER_COMMANDS, run_command
from lit_addition.runtime.errors import InputError


def main(args: list[str] | None = None) -> None:
    """Run the command named by the first of ``args`` (default: the command line)."""
    given = sys.argv[1:] if args is None else args
    try:
        if given and given[0] in COMMANDS:
            run_command(given[0], given[1:])
        elif given and not given[0].startswith("-") and given[0] not in TRAINER_COMMANDS:
            raise InputError(f"no command {given[0]!r}: choose one of {', '.join(TRAINER_COMMANDS + COMMANDS)}")
        else:
            from lit_addition.cli import run_cli

            run_cli(args)
    except ArgumentError as error:  # jsonargparse's, for LightningCLI's commands: its message, on one line
        command = f" {given[0]}" if given and given[0] in TRAINER_COMMANDS else ""
        print(f"error: {' '.join(str(error).split())}: see python -m lit_addition{command} --help", file=sys.stderr)
        sys.exit(2)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
