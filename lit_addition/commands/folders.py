"""The folder a command writes its results into, checked before any work is done, so that a bad ``--output`` costs
one line rather than a finished evaluation."""

from __future__ import annotations

import tempfile
from pathlib import Path

from lit_addition.runtime.errors import InputError


def refuse_file(path: str | Path) -> Path:
    """``path`` as a Path, once it is known not to be an existing file.

    Raises:
        InputError: ``path`` is a file.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"--output {path} is a file: give a folder (it is created if missing)")
    return path


def output_folder(path: str | Path) -> Path:
    """Create the folder ``path`` if it is missing and check that files can be written in it.

    Raises:
        InputError: ``path`` is a file, cannot be created, or cannot be written to.
    """
    path = refuse_file(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise InputError(
            f"--output {path} cannot be written ({error.strerror or error}): give a folder you can write to"
        ) from None
    return path
