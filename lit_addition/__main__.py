"""``python -m lit_addition``: the same entry point as the ``lit-addition`` console script."""

from lit_addition.cli import main

main()
