"""lit_addition: a PyTorch Lightning trainer that learns to add numbers written as strings ("535+61" -> "596").

The names below are imported when first used, so that a command that only answers problems (``python -m
lit_addition answer``) starts without Lightning.
"""

from importlib import import_module
from typing import Any

_HOMES = {
    "AdditionDataModule": "lit_addition.data",
    "AdditionLSTM": "lit_addition.network",
    "AdditionModel": "lit_addition.model",
    "CheckpointAdder": "lit_addition.inference",
    "Encoding": "lit_addition.runtime.encoding",
    "InputError": "lit_addition.runtime.errors",
    "SamplePredictions": "lit_addition.callbacks",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'lit_addition' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
