"""Opening a checkpoint that a person named on the command line, with one clear error for each way it can be wrong.

A path that does not exist, a file torch cannot read (truncated, random bytes, a pickle that is more than weights)
and a readable file that is not a lit_addition checkpoint each get their own one-line :class:`InputError`. Files
are read with ``weights_only=True`` and mapped to the CPU, so a checkpoint written on a GPU opens anywhere and a
checkpoint from an untrusted source cannot run code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from lit_addition.errors import InputError
from lit_addition.model import STRUCTURAL_HPARAMS, AdditionModel

_ANSI_CODES = re.compile(r"\x1b\[[0-9;]*m")
_HOW_TO_GET_ONE = "pass a .ckpt file that `python -m lit_addition fit` wrote (under logs/*/version_*/checkpoints/)"


def _reason(error: BaseException) -> str:
    """The first sentence of an error from torch, which can run to many lines with terminal colour codes."""
    text = _ANSI_CODES.sub("", str(error)).strip()
    first = text.splitlines()[0].split(". ")[0].rstrip(".:") if text else ""
    return first or type(error).__name__


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's contents, on the CPU, after checking that it is a lit_addition checkpoint.

    Raises:
        InputError: the file is missing, unreadable, or not one of ours; the message says which.
    """
    path = Path(path)
    if not path.is_file():
        problem = "is a directory" if path.is_dir() else "does not exist"
        raise InputError(f"checkpoint {path} {problem}: {_HOW_TO_GET_ONE}")
    if path.stat().st_size == 0:
        raise InputError(f"checkpoint {path} is empty: {_HOW_TO_GET_ONE}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises RuntimeError, UnpicklingError, EOFError... for files it cannot read
        raise InputError(
            f"checkpoint {path} cannot be read ({_reason(error)}): it is truncated, corrupt, or more than a "
            f"weights-only PyTorch file; {_HOW_TO_GET_ONE}"
        ) from None
    hparams = checkpoint.get("hyper_parameters") if isinstance(checkpoint, dict) else None
    if not isinstance(hparams, dict) or not set(STRUCTURAL_HPARAMS) <= hparams.keys() or "state_dict" not in checkpoint:
        raise InputError(
            f"{path} is a PyTorch file but not a lit_addition checkpoint (it lacks the model's hyperparameters "
            f"{', '.join(STRUCTURAL_HPARAMS)} or its weights): {_HOW_TO_GET_ONE}"
        )
    return checkpoint


def load_model(path: str | Path) -> AdditionModel:
    """The model stored in a checkpoint, on the CPU and in eval mode, its encoding taken from the checkpoint.

    Raises:
        InputError: the file is missing, unreadable, not one of ours, or its weights do not fit its own
            hyperparameters.
    """
    read_checkpoint(path)
    try:
        model = AdditionModel.load_from_checkpoint(path, map_location="cpu", weights_only=True)
    except (RuntimeError, TypeError, KeyError) as error:  # weights that do not fit the network the hparams describe
        raise InputError(
            f"checkpoint {path} holds weights that do not fit its own hyperparameters ({_reason(error)}): "
            f"{_HOW_TO_GET_ONE}"
        ) from None
    return model.eval()


def data_hparams(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """The arguments of the data module a checkpoint was trained with, ready for ``AdditionDataModule(**...)``: its
    saved hyperparameters less Lightning's own entries (``_instantiator``, written when LightningCLI built the
    module); empty when the checkpoint records no data module."""
    saved = checkpoint.get("datamodule_hyper_parameters") or {}
    return {name: value for name, value in saved.items() if not name.startswith("_")}
