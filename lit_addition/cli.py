"""The command line: LightningCLI with the data's encoding linked into the model, and our defaults.

``python -m lit_addition fit`` trains the 3-digit default; ``--config configs/3digit.yaml`` does the same from a
file. What the data and the model share (``digits``, ``reverse``, ``reverse_answer``) is given once, under
``data``, and linked into the model. Two callbacks are always on and configured as their own sections:
``checkpoint`` (best by ``val/seq_acc``, plus the last) and ``samples`` (the reference's sample printout); the
learning rate is logged whenever there is a logger.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from jsonargparse import lazy_instance
from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.loggers import TensorBoardLogger

from lit_addition.callbacks import SamplePredictions
from lit_addition.data import AdditionDataModule
from lit_addition.errors import InputError
from lit_addition.model import AdditionModel

LOG_DIR = "logs"
SHARED_DATA_ARGUMENTS = ("digits", "reverse", "reverse_answer")


class AdditionCLI(LightningCLI):
    """LightningCLI for :class:`AdditionModel` on :class:`AdditionDataModule`."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        for name in SHARED_DATA_ARGUMENTS:
            parser.link_arguments(f"data.{name}", f"model.{name}")
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults(
            {
                "checkpoint.monitor": "val/seq_acc",
                "checkpoint.mode": "max",
                "checkpoint.save_last": True,
                "checkpoint.filename": "epoch{epoch:03d}-seq_acc{val/seq_acc:.4f}",
                "checkpoint.auto_insert_metric_name": False,
            }
        )
        parser.add_lightning_class_args(SamplePredictions, "samples")

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        trainer = super().instantiate_trainer(**kwargs)
        if trainer.loggers:  # the learning-rate curve needs a logger to go to; without one the monitor refuses to run
            trainer.callbacks.append(LearningRateMonitor())
        return trainer


def build_cli(args: list[str] | None = None, run: bool = True) -> AdditionCLI:
    """The CLI with this project's defaults; ``run=False`` only parses and instantiates (for tests and tools)."""
    return AdditionCLI(
        AdditionModel,
        AdditionDataModule,
        seed_everything_default=1234,
        trainer_defaults={
            "max_epochs": 7,
            "logger": lazy_instance(TensorBoardLogger, save_dir=LOG_DIR, name="addition"),
        },
        args=args,
        run=run,
    )


def main(args: list[str] | None = None) -> None:
    """Run the CLI; bad input ends in one line on stderr and exit status 2, never a traceback."""
    # Batches are slices of in-memory tensors, so worker processes would only add overhead.
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    try:
        build_cli(args)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
