"""The command line: LightningCLI with the data's encoding linked into the model, and our defaults.

``python -m lit_addition fit`` trains the 3-digit default; ``--config configs/3digit.yaml`` does the same from a
file. What the data and the model share (``digits``, ``reverse``, ``reverse_answer``) is given once, under
``data``, and linked into the model. Four callbacks are on by default and configured as their own sections:
``checkpoint`` (the best by ``val/loss``), ``last_checkpoint`` (``last.ckpt``, after every validation and on an
interruption), ``progress_bar`` (Lightning's bar, redrawn every 20 steps) and ``samples`` (the reference's sample
printout); ``--trainer.enable_checkpointing=false`` and ``--trainer.enable_progress_bar=false`` turn off the first
three. When standard output is not a terminal, the bar gives way to :class:`EpochLines`, one line per epoch. The
learning rate and a run summary for TensorBoard's HParams panel are logged whenever there is a logger. ``predict``
writes its answers with :class:`PredictionWriter`.

Bad input ends in one line, ``error: ...``, and exit status 2: a flag or config value jsonargparse refuses
(:class:`AdditionArgumentParser`), a trainer flag this machine cannot honour (checked by
:func:`lit_addition.machine.check_trainer_flags` before the Trainer is built), and every :class:`InputError`.

Commands that use a trained model rather than train one (``answer``, ``export``, ``analyze``, ``demo``) are not
LightningCLI subcommands: ``python -m lit_addition`` (:mod:`lit_addition.__main__`) sends them to
:mod:`lit_addition.commands` before Lightning is imported.
"""

from __future__ import annotations

import ast
import logging
import re
import sys
import warnings
from collections.abc import Mapping
from typing import Any, NoReturn

import torch
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint, ProgressBar, TQDMProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning_utilities.core import rank_zero as rank_zero_module

from lit_addition.callbacks import EpochLines, RunSummary, SamplePredictions
from lit_addition.commands import COMMANDS
from lit_addition.data import AdditionDataModule
from lit_addition.inference import read_checkpoint
from lit_addition.machine import HeldLogs, check_trainer_flags, given_flags
from lit_addition.model import AdditionModel
from lit_addition.prediction import PredictionWriter
from lit_addition.runtime.errors import InputError

LOG_DIR = "logs"
# A step of the 3-digit model takes a millisecond or two; redrawing the bar after every one cost 5-7% of a CPU step
# at batch 32 (scripts/ablations.py).
PROGRESS_BAR_REFRESH_STEPS = 20
SHARED_DATA_ARGUMENTS = ("digits", "reverse", "reverse_answer")
# Callbacks configured as sections of their own: the best checkpoint by val/loss; last.ckpt, which has a callback
# of its own because since Lightning 2.6 `checkpoint.save_last` refreshes it only when a best checkpoint is saved at
# the same step; Lightning's live bar, redrawn every few steps (the same bar whether or not rich is installed).
SECTIONS = {"checkpoint": ModelCheckpoint, "last_checkpoint": ModelCheckpoint, "progress_bar": TQDMProgressBar}


def _resolved_by_lightning(ckpt_path: str) -> bool:
    """Whether ``ckpt_path`` is one that Lightning finds itself: a keyword, a model registry name, or a URL."""
    return ckpt_path in ("best", "last", "hpc") or ckpt_path.lower().startswith("registry") or "://" in ckpt_path


class AdditionArgumentParser(LightningArgumentParser):
    """LightningCLI's parser, reporting a bad flag or config value in one line rather than the usage text and a
    multi-line explanation."""

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:
        if not self.exit_on_error:  # jsonargparse is trying an alternative and wants the exception back
            super().error(message, ex)
        sys.stderr.write(f"error: {one_line(message)}: see {self.prog.replace(' [options]', '')} --help\n")
        self.exit(2)


def one_line(message: str) -> str:
    """A jsonargparse error as one line: ``--trainer.precision 15 is not one of 64, 32, ...`` for a value of the
    wrong type, otherwise the message with its line breaks and indentation folded."""
    key = re.match(r'Parser key "([^"]+)":', message)
    given = re.search(r"^\s*Given value: (.*)$", message, re.MULTILINE)
    subtypes = re.search(r"^\s*Subtypes: \[(.*)\]$", message, re.MULTILINE)
    if key and given and subtypes:
        accepted = []
        for literal, name in re.findall(r"typing\.Literal\[([^\]]*)\]|<class '([\w.]+)'>", subtypes.group(1)):
            words = [str(v) for v in ast.literal_eval(f"[{literal}]")] if literal else [_TYPE_WORDS.get(name, name)]
            accepted += [word for word in words if word not in accepted]
        return f"--{key.group(1)} {given.group(1)} is not one of {', '.join(accepted)}"
    return re.sub(r'^Parser key "([^"]+)":', r"--\1:", " ".join(message.split()))


_TYPE_WORDS = {"int": "a whole number", "float": "a number", "bool": "true or false", "str": "text", "NoneType": "null"}


class AdditionCLI(LightningCLI):
    """LightningCLI for :class:`AdditionModel` on :class:`AdditionDataModule`.

    Args:
        held_logs: Lightning's log lines held back since the command started, released once the trainer flags are
            known to suit this machine.
        args, kwargs: LightningCLI's.
    """

    def __init__(self, *args: Any, held_logs: HeldLogs | None = None, **kwargs: Any) -> None:
        self.held_logs = held_logs
        super().__init__(*args, **kwargs)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        for name in SHARED_DATA_ARGUMENTS:
            parser.link_arguments(f"data.{name}", f"model.{name}")
        # Sections of their own rather than Lightning callback keys, so that instantiate_trainer decides which of
        # them the Trainer gets (Lightning refuses a checkpoint or a bar that its flags switch off).
        for section, callback in SECTIONS.items():
            parser.add_class_arguments(callback, section, fail_untyped=False, sub_configs=True)
        parser.set_defaults(
            {
                # Not val/seq_acc: on 5,000 problems it reaches 1.0000 long before the model knows every problem,
                # and the first epoch at 1.0000 would win every tie. The loss keeps falling while answers firm up.
                "checkpoint.monitor": "val/loss",
                "checkpoint.mode": "min",
                "checkpoint.filename": "epoch{epoch:03d}-loss{val/loss:.4f}-seq_acc{val/seq_acc:.4f}",
                "checkpoint.auto_insert_metric_name": False,
                "last_checkpoint.filename": "last",
                "last_checkpoint.enable_version_counter": False,
                # Ctrl-C, SIGTERM or a crash also leaves a last.ckpt, to resume from with --ckpt_path last.
                "last_checkpoint.save_on_exception": True,
                "progress_bar.refresh_rate": PROGRESS_BAR_REFRESH_STEPS,
            }
        )
        parser.add_lightning_class_args(SamplePredictions, "samples")

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        super().parse_arguments(parser, args)
        # Check a local checkpoint before Lightning opens it, so a bad file gets one line rather than a traceback.
        ckpt_path = str(self.config.get(self.config.get("subcommand") or "", {}).get("ckpt_path") or "")
        if ckpt_path and not _resolved_by_lightning(ckpt_path):
            read_checkpoint(ckpt_path)

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        """The Trainer, with the sections' callbacks that its flags leave room for, checked against this machine."""
        settings = self.config_init.get(str(self.subcommand), self.config_init)
        given = settings["trainer"].get("callbacks") or []
        given = given if isinstance(given, list) else [given]
        kwargs.setdefault("callbacks", [*given, *self._section_callbacks(settings, given)])
        check_trainer_flags(given_flags(self.config.get(str(self.subcommand), self.config)["trainer"]), self.model)
        if self.held_logs is not None:
            self.held_logs.release()
        trainer = super().instantiate_trainer(**kwargs)
        if trainer.loggers:  # the learning-rate curve needs a logger to go to; without one the monitor refuses to run
            trainer.callbacks.extend([LearningRateMonitor(), RunSummary()])
        if self.subcommand == "predict":
            self.prediction_writer = PredictionWriter()
            trainer.callbacks.append(self.prediction_writer)
        return trainer

    @staticmethod
    def _section_callbacks(settings: Mapping[str, Any], given: list[Callback]) -> list[Callback]:
        """The sections' callbacks, less those the trainer's flags or the person's own callbacks switch off. Off a
        terminal the live bar becomes :class:`EpochLines`."""
        trainer = settings["trainer"]
        callbacks = [settings[section] for section in SECTIONS]
        if trainer.get("enable_checkpointing") is False:
            callbacks = [callback for callback in callbacks if not isinstance(callback, ModelCheckpoint)]
        if trainer.get("enable_progress_bar") is False or any(isinstance(callback, ProgressBar) for callback in given):
            callbacks = [callback for callback in callbacks if not isinstance(callback, ProgressBar)]
        elif not sys.stdout.isatty():
            callbacks = [EpochLines() if isinstance(callback, ProgressBar) else callback for callback in callbacks]
        return callbacks

    def after_predict(self) -> None:
        """Fail, after every good line is answered and written, when any line could not be answered."""
        writer = self.prediction_writer
        if writer.failed:
            raise InputError(
                f"{writer.failed} line(s) could not be answered: each is named above and recorded in {writer.path}"
            )


def build_cli(args: list[str] | None = None, run: bool = True) -> AdditionCLI:
    """The CLI with this project's defaults; ``run=False`` only parses and instantiates (for tests and tools)."""
    with HeldLogs() as held_logs:
        return AdditionCLI(
            AdditionModel,
            AdditionDataModule,
            parser_class=AdditionArgumentParser,
            seed_everything_default=1234,
            trainer_defaults={
                "max_epochs": 14,
                "gradient_clip_val": 1.0,
                # A class path and arguments rather than a lazy_instance, whose generated class ddp_spawn cannot pickle.
                # RunSummary logs the real final metrics for the HParams panel, so no placeholder hp_metric.
                "logger": {
                    "class_path": "lightning.pytorch.loggers.TensorBoardLogger",
                    "init_args": {"save_dir": LOG_DIR, "name": "addition", "default_hp_metric": False},
                },
            },
            parser_kwargs={
                "prog": "python -m lit_addition",
                "epilog": f"Commands that use a trained model: {', '.join(COMMANDS)} (each has --help).",
            },
            # A rerun into an existing log directory (a fixed logger version, typically to resume) replaces its
            # config.yaml, as the logger replaces hparams.yaml, rather than refusing to start.
            save_config_kwargs={"overwrite": True},
            args=args,
            run=run,
            held_logs=held_logs,
        )


def run_cli(args: list[str] | None = None) -> None:
    """Run LightningCLI on ``args`` (default: the command line), without the warnings and tips of Lightning's that
    are not the user's business, and leave any process group DDP started."""
    # Batches are slices of in-memory tensors, so worker processes would only add overhead.
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    # Our training sampler resumes mid-epoch from the fit loop's own counters (lit_addition.samplers), which
    # Lightning cannot see: its "dataloader is not resumable" warning does not apply.
    warnings.filterwarnings("ignore", message=r".*your dataloader is not resumable.*")
    # Lightning's own use of a torch API that torch deprecated: nothing a user of lit_addition can act on.
    warnings.filterwarnings(
        "ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning
    )
    logging.getLogger(rank_zero_module.log.name).addFilter(_not_a_tip)  # the same function is added only once
    try:
        build_cli(args)
    finally:
        _leave_process_group()


def _not_a_tip(record: logging.LogRecord) -> bool:
    """Lightning advertises its cloud services once per run ("Tip: ... litlogger", "... litmodels")."""
    return not str(record.msg).startswith("💡 Tip:")


def _leave_process_group() -> None:
    """Shut down the process group a DDP run started, once every rank is done with it. Lightning leaves it up, and
    a process that exits with Gloo's threads still running can abort ("terminate called without an active
    exception", pytorch/pytorch#190489) instead of returning its exit status."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
