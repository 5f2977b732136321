"""The inference core: a trained checkpoint, opened once, as an adder that every command that uses a model stands on.

:class:`CheckpointAdder` is to lit_addition what ``LLM.load(...)`` is to litgpt: ``CheckpointAdder.load(path)``
reads the file once and offers what ``answer``, ``export``, ``analyze`` and ``demo`` need (the interface of
:class:`~lit_addition.runtime.adder.Adder`, which the exported ONNX runner implements too, plus the checkpoint's
settings, splits and test accuracy). It needs torch and the network, not Lightning.

Opening a checkpoint gives one clear error for each way it can be wrong: a path that does not exist, a file torch
cannot read (truncated, random bytes, a pickle that is more than weights) and a readable file that is not a
lit_addition checkpoint each get their own one-line :class:`InputError`. Files are read with ``weights_only=True``
and mapped to the CPU, so a checkpoint written on a GPU opens anywhere and one from an untrusted source cannot run
code.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lit_addition.network import ADDED_ENCODING_FIELDS, STRUCTURAL_HPARAMS, AdditionLSTM, build_network
from lit_addition.runtime.adder import Adder, Score
from lit_addition.runtime.encoding import Encoding
from lit_addition.runtime.errors import InputError
from lit_addition.splits import draw_splits, split_settings

# Data options added after the first checkpoints were written, at the values that drew as those checkpoints did. A
# checkpoint that does not record one was trained without it, whatever today's default is.
_DATA_OPTIONS_BEFORE_THEY_EXISTED = {
    "both_orders": False,
    "uniform_share": 0.0,
    "carry_share": 0.0,
    "nines_share": 0.0,
    "top_nines_share": 0.0,
    "short_chain_share": 0.0,
    "zeros_share": 0.0,
    "train_small_formats": 0,
    "val_seen_answers": False,
}

_ANSI_CODES = re.compile(r"\x1b\[[0-9;]*m")
_HOW_TO_GET_ONE = "pass a .ckpt file that `python -m lit_addition fit` wrote (under logs/*/version_*/checkpoints/)"


def _reason(error: BaseException) -> str:
    """The first sentence of an error from torch, which can run to many lines with terminal colour codes."""
    text = _ANSI_CODES.sub("", str(error)).strip()
    first = text.splitlines()[0].split(". ")[0].rstrip(".:") if text else ""
    return first or type(error).__name__


def load_file(path: str | Path) -> Any:
    """A weights-only PyTorch file's contents, on the CPU.

    Raises:
        InputError: the file is missing, empty, or not a weights-only PyTorch file; the message says which.
    """
    path = Path(path)
    if not path.is_file():
        problem = "is a directory" if path.is_dir() else "does not exist"
        raise InputError(f"checkpoint {path} {problem}: {_HOW_TO_GET_ONE}")
    if path.stat().st_size == 0:
        raise InputError(f"checkpoint {path} is empty: {_HOW_TO_GET_ONE}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises RuntimeError, UnpicklingError, EOFError... for files it cannot read
        raise InputError(
            f"checkpoint {path} cannot be read ({_reason(error)}): it is truncated, corrupt, or more than a "
            f"weights-only PyTorch file; {_HOW_TO_GET_ONE}"
        ) from None


def check_ours(checkpoint: Any, path: str | Path) -> dict[str, Any]:
    """``checkpoint``, once it is known to hold a lit_addition model's hyperparameters and weights.

    Raises:
        InputError: it lacks them.
    """
    hparams = checkpoint.get("hyper_parameters") if isinstance(checkpoint, dict) else None
    required = [name for name in STRUCTURAL_HPARAMS if name not in ADDED_ENCODING_FIELDS]
    if not isinstance(hparams, dict) or not set(required) <= hparams.keys() or "state_dict" not in checkpoint:
        raise InputError(
            f"{path} is a PyTorch file but not a lit_addition checkpoint (it lacks the model's hyperparameters "
            f"{', '.join(required)} or its weights): {_HOW_TO_GET_ONE}"
        )
    for name, default in ADDED_ENCODING_FIELDS.items():  # the checkpoint predates the field
        hparams.setdefault(name, default)
    return checkpoint


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's contents, on the CPU, after checking that it is a lit_addition checkpoint.

    Raises:
        InputError: the file is missing, unreadable, or not one of ours; the message says which.
    """
    return check_ours(load_file(path), path)


class NetworkAdder(Adder):
    """A network in memory as an :class:`~lit_addition.runtime.adder.Adder`: answers, probabilities and scores from
    torch, on the network's own device, in inference mode.

    Args:
        net: the network.
        encoding: how its questions and answers are written.
        source: what the facts call it.
    """

    def __init__(self, net: AdditionLSTM, encoding: Encoding, source: str = "") -> None:
        self.net = net
        self.encoding = encoding
        self.source = source

    def to(self, device: str | torch.device) -> NetworkAdder:
        """Move the network to ``device`` (``"cuda:0"``, say), where every answer is then computed; returns self."""
        self.net.to(device)
        return self

    @torch.inference_mode()
    def logits(self, question_ids: np.ndarray) -> np.ndarray:
        device = next(self.net.parameters()).device
        return self.net(torch.from_numpy(np.ascontiguousarray(question_ids)).to(device)).float().cpu().numpy()

    @property
    def facts(self) -> dict[str, Any]:
        return {"digits": self.encoding.digits, "parameters": sum(p.numel() for p in self.net.parameters()),
                "test_seq_acc": None, "test_problems": None, "source": self.source}  # fmt: skip


class CheckpointAdder(NetworkAdder):
    """A checkpoint written by ``fit``, opened once, and everything a command asks of it: the adder's interface, the
    checkpoint's settings, its train, val and test problems regenerated from its saved data settings, and its
    accuracy on the test split. ``answer``, ``predict``'s Python users, ``export``, ``analyze`` and ``demo`` stand
    on it; :meth:`load` is the one place that reads a checkpoint file.

    Args:
        checkpoint: the checkpoint's contents, as :func:`read_checkpoint` returns them.
        path: where it was read from; the facts name the file.

    Raises:
        InputError: the weights do not fit the network the checkpoint's own hyperparameters describe.
    """

    def __init__(self, checkpoint: dict[str, Any], path: str | Path) -> None:
        self.checkpoint = checkpoint
        hp = self.hparams
        try:  # everything here comes from the file: hyperparameters of the wrong type or range, weights that do not fit
            encoding, net = build_network(hp)
            weights = {k.removeprefix("net."): v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
            net.load_state_dict(weights)
        except (RuntimeError, TypeError, ValueError, KeyError, AttributeError) as error:
            raise InputError(
                f"checkpoint {path} holds weights that do not fit its own hyperparameters ({_reason(error)}): "
                f"{_HOW_TO_GET_ONE}"
            ) from None
        super().__init__(net.eval(), encoding, Path(path).name)

    @classmethod
    def load(cls, path: str | Path) -> CheckpointAdder:
        """Open the checkpoint at ``path`` (one ``torch.load``), on the CPU.

        Raises:
            InputError: the file is missing, unreadable, not one of ours, or its weights do not fit it.
        """
        return cls(read_checkpoint(path), path)

    @property
    def hparams(self) -> dict[str, Any]:
        """The model's saved hyperparameters, less Lightning's own entries."""
        return _ours(self.checkpoint["hyper_parameters"])

    @property
    def data_hparams(self) -> dict[str, Any]:
        """The arguments of the data module the checkpoint was trained with, ready for ``AdditionDataModule(**...)``;
        empty when the checkpoint records no data module."""
        saved = _ours(self.checkpoint.get("datamodule_hyper_parameters") or {})
        return {**_DATA_OPTIONS_BEFORE_THEY_EXISTED, **saved} if saved else {}

    @functools.cache  # noqa: B019 (one adder per command: the cache lives as long as the checkpoint it belongs to)
    def splits(self) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
        """The checkpoint's train, val and test problems as drawn, as operand arrays ``(a, b)``, regenerated from
        its saved data settings; None when it records no data module."""
        if not self.data_hparams:
            return None
        return draw_splits(**split_settings(self.data_hparams))

    def test_split(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The test split's question and answer ids, or None when the checkpoint has no test split."""
        splits = self.splits()
        if splits is None or not len(splits["test"][0]):
            return None
        a, b = splits["test"]
        return self.encoding.encode_questions(a, b), self.encoding.encode_answers(a, b)

    @functools.cached_property
    def test_score(self) -> Score | None:
        """How the checkpoint does on its own test split (None without one)."""
        test = self.test_split()
        return None if test is None else self.score(*test)

    @property
    def facts(self) -> dict[str, Any]:
        score = self.test_score
        return {**super().facts, "test_seq_acc": score and score.seq_acc, "test_problems": score and score.problems}


def _ours(saved: dict[str, Any]) -> dict[str, Any]:
    """Saved hyperparameters less Lightning's own entries (``_instantiator``, ``_class_path``)."""
    return {name: value for name, value in saved.items() if not name.startswith("_")}
