"""The command line: LightningCLI for :class:`AdditionModel` on :class:`AdditionDataModule`.

``configs/3digit.yaml`` is LightningCLI's default config file, read before any ``--config``: the one written copy
of what ``fit`` runs by default, the callback sections' settings included. ``digits`` and how questions and answers
are written are given once, under ``data``, and linked into the model; ``data.focus_after`` sets the Trainer's
``reload_dataloaders_every_n_epochs``. The optimiser is the model's own recipe, so
LightningCLI's ``--optimizer`` and ``--lr_scheduler`` are not offered.

Bad input ends in one line and exit status 2 (:mod:`lit_addition.__main__`): what jsonargparse refuses, what
:mod:`lit_addition.machine` refuses before the Trainer is built and what Lightning refuses while building it, a
checkpoint that is not one of ours, and every :class:`InputError`.
"""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path
from typing import Any

import torch
from fsspec.implementations.local import LocalFileSystem
from lightning.fabric.utilities import seed
from lightning.fabric.utilities.cloud_io import get_filesystem
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint, ProgressBar, TQDMProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning_utilities.core import rank_zero as rank_zero_module

from lit_addition.callbacks import EpochLines, RunSummary, SamplePredictions, TrainingTime
from lit_addition.commands import COMMANDS
from lit_addition.data import AdditionDataModule
from lit_addition.inference import load_file, read_checkpoint
from lit_addition.machine import check_precision, refusal
from lit_addition.model import AdditionModel
from lit_addition.prediction import PredictionWriter
from lit_addition.runtime.errors import InputError

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "3digit.yaml"
SHARED_DATA_ARGUMENTS = ("digits", "reverse", "reverse_answer", "zero_pad", "interleave")
# Not LightningCLI's callback sections, which are always added, where Lightning refuses a checkpoint or a bar that its
# flags switch off. last.ckpt has its own: Lightning 2.6's save_last refreshes it only when a best one is saved.
SECTIONS = {
    "checkpoint": (ModelCheckpoint, "The best checkpoint by val/loss (Lightning's ModelCheckpoint)."),
    "last_checkpoint": (ModelCheckpoint, "last.ckpt after every validation and on an interruption (ModelCheckpoint)."),
    "progress_bar": (TQDMProgressBar, "Lightning's live bar on a terminal; off one, a line per epoch instead."),
}
TRAINER_REFUSALS = (MisconfigurationException, ValueError, TypeError, ImportError)  # how the Trainer refuses flags


class CheckedCheckpointIO(TorchCheckpointIO):
    """Lightning's reader of a local file at the path it resolved (``--ckpt_path last`` too), through
    :func:`~lit_addition.inference.load_file`: a missing, empty or corrupt file is one line, not a traceback."""

    def load_checkpoint(self, path: Any, map_location: Any = None, weights_only: bool | None = None) -> Any:
        if not isinstance(get_filesystem(path), LocalFileSystem):
            return super().load_checkpoint(path, map_location, weights_only)
        return load_file(path)


class AdditionCLI(LightningCLI):
    """LightningCLI for :class:`AdditionModel` on :class:`AdditionDataModule`."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        for name in SHARED_DATA_ARGUMENTS:
            parser.link_arguments(f"data.{name}", f"model.{name}")
        # Focused epochs are shorter than the full ones; Lightning counts an epoch's batches only when it builds the
        # training loader, so it builds one every epoch where they focus.
        parser.link_arguments("data.focus_after", "trainer.reload_dataloaders_every_n_epochs", compute_fn=_reload_every)
        for section, (callback, text) in SECTIONS.items():
            parser.add_class_arguments(callback, section, fail_untyped=False, sub_configs=True, help=text)
        parser.add_lightning_class_args(SamplePredictions, "samples")

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        """Parse, then refuse in one line a ``--ckpt_path`` file that is not one of our checkpoints: LightningCLI
        reads a given file's hyperparameters with a bare ``torch.load`` before the Trainer, and its IO, exist."""
        super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        ckpt_path = self.config[subcommand].get("ckpt_path") if subcommand else None
        if ckpt_path and Path(ckpt_path).is_file():
            read_checkpoint(ckpt_path)

    def before_instantiate_classes(self) -> None:
        check_precision(self._settings(self.config)["trainer"])

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        """The Trainer, with the sections' callbacks that its flags leave room for; Lightning's refusal of its flags
        becomes one line."""
        settings = self._settings(self.config_init)
        trainer_flags = settings["trainer"]
        given = trainer_flags.get("callbacks") or []
        given = given if isinstance(given, list) else [given]
        sections = [settings[section] for section in SECTIONS]
        if trainer_flags.get("enable_checkpointing") is False:
            sections = [callback for callback in sections if not isinstance(callback, ModelCheckpoint)]
        if trainer_flags.get("enable_progress_bar") is False or any(isinstance(c, ProgressBar) for c in given):
            sections = [callback for callback in sections if not isinstance(callback, ProgressBar)]
        elif not sys.stdout.isatty():  # a log file or a pipe: one line per epoch instead of a live bar
            sections = [EpochLines() if isinstance(callback, ProgressBar) else callback for callback in sections]
        try:
            trainer = super().instantiate_trainer(**{"callbacks": [*given, *sections], **kwargs})
        except TRAINER_REFUSALS as error:
            raise refusal(error, self._settings(self.config)["trainer"]) from None
        if type(trainer.strategy.checkpoint_io) is TorchCheckpointIO:
            trainer.strategy.checkpoint_io = CheckedCheckpointIO()
        trainer.callbacks.append(TrainingTime())
        if trainer.loggers:  # the learning-rate curve needs a logger to go to; without one the monitor refuses to run
            trainer.callbacks.extend([LearningRateMonitor(), RunSummary()])
        if self.subcommand == "predict":
            self.prediction_writer = PredictionWriter()
            trainer.callbacks.append(self.prediction_writer)
        return trainer

    def _settings(self, config: Any) -> Any:
        """The settings of the subcommand being run (all of them when the CLI was built with ``run=False``)."""
        return config.get(str(self.subcommand), config)

    def after_predict(self) -> None:
        """Fail, after every good line is answered and written, when any line could not be answered."""
        if failed := self.prediction_writer.failed:
            path = self.prediction_writer.path
            raise InputError(f"{failed} line(s) could not be answered: each is named above and recorded in {path}")


def _reload_every(focus_after: int) -> int:
    return 1 if focus_after else 0


def build_cli(args: list[str] | None = None, run: bool = True) -> AdditionCLI:
    """The CLI with this project's defaults; ``run=False`` only parses and instantiates (for tests and tools)."""
    # Errors come back as exceptions, which the entry point prints as one line (jsonargparse prints usage too).
    parser = {"exit_on_error": False, "default_config_files": [str(DEFAULT_CONFIG)]}
    main = {"prog": "python -m lit_addition", "epilog": f"Commands that use a trained model: {', '.join(COMMANDS)}."}
    per_command = {name: dict(parser) for name in LightningCLI.subcommands()} if run else parser
    return AdditionCLI(
        AdditionModel,
        AdditionDataModule,
        seed_everything_default=1234,
        parser_kwargs={**main, "exit_on_error": False, **per_command},
        # A rerun into an existing log directory (a fixed logger version, typically to resume) replaces its
        # config.yaml, as the logger replaces hparams.yaml, rather than refusing to start.
        save_config_kwargs={"overwrite": True},
        auto_configure_optimizers=False,
        args=args,
        run=run,
    )


def run_cli(args: list[str] | None = None) -> None:
    """Run LightningCLI on ``args`` (default: the command line), without Lightning's warnings and tips that are not
    the user's business, and leave any process group DDP started."""
    # Batches are in-memory slices: workers would only add overhead. The sampler resumes mid-epoch from the fit loop's
    # own counters, which Lightning cannot see. LeafSpec: Lightning's use of a deprecated torch API.
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=r".*your dataloader is not resumable.*")
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")
    logging.getLogger(rank_zero_module.log.name).addFilter(_not_a_tip)  # the same function is added only once
    # "Seed set to 1234" would come before any one-line refusal of the flags; config.yaml records the seed.
    logging.getLogger(seed.__name__).setLevel(logging.WARNING)
    try:
        build_cli(args)
    finally:
        # Lightning leaves the process group DDP started up; a process that exits with Gloo's threads running can
        # abort ("terminate called without an active exception", pytorch/pytorch#190489) instead of returning.
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def _not_a_tip(record: logging.LogRecord) -> bool:
    """Lightning advertises its cloud services once per run ("Tip: ... litlogger", "... litmodels")."""
    return not str(record.msg).startswith("💡 Tip:")
