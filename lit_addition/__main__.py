"""``python -m lit_addition`` and the ``lit-addition`` console script: the commands that use a trained model
(:mod:`lit_addition.commands`), else LightningCLI's ``fit``, ``validate``, ``test`` and ``predict``
(:mod:`lit_addition.cli`). Bad input ends in one line on stderr and exit status 2, never a traceback.

Only what the command needs is imported: ``answer`` starts without Lightning.
"""

from __future__ import annotations

import sys

from lit_addition.commands import COMMANDS, run_command
from lit_addition.runtime.errors import InputError


def main(args: list[str] | None = None) -> None:
    """Run the command named by the first of ``args`` (default: the command line)."""
    given = sys.argv[1:] if args is None else args
    try:
        if given and given[0] in COMMANDS:
            run_command(given[0], given[1:])
        else:
            from lit_addition.cli import run_cli

            run_cli(args)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
