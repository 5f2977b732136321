"""The command line: LightningCLI with the data's encoding linked into the model, and our defaults.

``python -m lit_addition fit`` trains the 3-digit default; ``--config configs/3digit.yaml`` does the same from a
file. What the data and the model share (``digits``, ``reverse``, ``reverse_answer``) is given once, under
``data``, and linked into the model. Four callbacks are on by default and configured as their own sections:
``checkpoint`` (the best by ``val/seq_acc``), ``last_checkpoint`` (``last.ckpt``, after every validation and on an
interruption), ``progress_bar`` (Lightning's bar, redrawn every 20 steps) and ``samples`` (the reference's sample
printout); ``--trainer.enable_checkpointing=false`` and ``--trainer.enable_progress_bar=false`` turn off the first
three. The learning rate and a run summary for TensorBoard's HParams panel are logged whenever there is a logger.
``predict`` writes its answers with :class:`PredictionWriter`.

Commands that use a trained model rather than train one (``answer``, ``export``, ``analyze``, ``demo``) are not
LightningCLI subcommands: :func:`main` sends them, by their first argument, to the plain-argparse commands registered
in :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint, ProgressBar, TQDMProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from lit_addition import analyze, answer, demo, export
from lit_addition.callbacks import RunSummary, SamplePredictions
from lit_addition.checkpoint import read_checkpoint
from lit_addition.data import AdditionDataModule
from lit_addition.errors import InputError
from lit_addition.model import AdditionModel
from lit_addition.prediction import PredictionWriter

LOG_DIR = "logs"
# A step of the 3-digit model takes a millisecond or two; redrawing the bar after every one cost 5-7% of a CPU step
# at batch 32 (scripts/ablations.py).
PROGRESS_BAR_REFRESH_STEPS = 20
SHARED_DATA_ARGUMENTS = ("digits", "reverse", "reverse_answer")


def _resolved_by_lightning(ckpt_path: str) -> bool:
    """Whether ``ckpt_path`` is one that Lightning finds itself: a keyword, a model registry name, or a URL."""
    return ckpt_path in ("best", "last", "hpc") or ckpt_path.lower().startswith("registry") or "://" in ckpt_path


class Command(NamedTuple):
    """A command outside LightningCLI: it adds its arguments to a plain argparse parser, then runs on them, raising
    :class:`InputError` for bad input."""

    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], None]


COMMANDS: dict[str, Command] = {
    "answer": Command(answer.add_arguments, answer.run),
    "export": Command(export.add_arguments, export.run),
    "analyze": Command(analyze.add_arguments, analyze.run),
    "demo": Command(demo.add_arguments, demo.run),
}


class AdditionCLI(LightningCLI):
    """LightningCLI for :class:`AdditionModel` on :class:`AdditionDataModule`."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        for name in SHARED_DATA_ARGUMENTS:
            parser.link_arguments(f"data.{name}", f"model.{name}")
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        # last.ckpt has a callback of its own: since Lightning 2.6 `checkpoint.save_last` refreshes it only when a best
        # checkpoint is saved at the same step, which would leave it at the best epoch rather than the latest.
        parser.add_lightning_class_args(ModelCheckpoint, "last_checkpoint")
        # Lightning's own bar, redrawn every few steps rather than after each (and the same bar whether or not rich
        # is installed).
        parser.add_lightning_class_args(TQDMProgressBar, "progress_bar")
        parser.set_defaults(
            {
                "checkpoint.monitor": "val/seq_acc",
                "checkpoint.mode": "max",
                "checkpoint.filename": "epoch{epoch:03d}-seq_acc{val/seq_acc:.4f}",
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

    def _instantiate_trainer(self, config: dict[str, Any], callbacks: list[Callback]) -> Trainer:
        # The sections' callbacks give way to the trainer's flags and to a progress bar of the user's own, where
        # Lightning would refuse to start with them in the list.
        given = config.get("callbacks") or []
        given = given if isinstance(given, list) else [given]
        if config.get("enable_checkpointing") is False:
            callbacks = [callback for callback in callbacks if not isinstance(callback, ModelCheckpoint)]
        if config.get("enable_progress_bar") is False or any(isinstance(callback, ProgressBar) for callback in given):
            callbacks = [callback for callback in callbacks if not isinstance(callback, ProgressBar)]
        return super()._instantiate_trainer(config, callbacks)

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        trainer = super().instantiate_trainer(**kwargs)
        if trainer.loggers:  # the learning-rate curve needs a logger to go to; without one the monitor refuses to run
            trainer.callbacks.extend([LearningRateMonitor(), RunSummary()])
        if self.subcommand == "predict":
            self.prediction_writer = PredictionWriter()
            trainer.callbacks.append(self.prediction_writer)
        return trainer

    def after_predict(self) -> None:
        """Fail, after every good line is answered and written, when any line could not be answered."""
        writer = self.prediction_writer
        if writer.failed:
            raise InputError(
                f"{writer.failed} line(s) could not be answered: each is named above and recorded in {writer.path}"
            )


def build_cli(args: list[str] | None = None, run: bool = True) -> AdditionCLI:
    """The CLI with this project's defaults; ``run=False`` only parses and instantiates (for tests and tools)."""
    return AdditionCLI(
        AdditionModel,
        AdditionDataModule,
        seed_everything_default=1234,
        trainer_defaults={
            "max_epochs": 8,
            # A class path and arguments rather than a lazy_instance, whose generated class ddp_spawn cannot pickle.
            # RunSummary logs the real final metrics for the HParams panel, so no placeholder hp_metric.
            "logger": {
                "class_path": "lightning.pytorch.loggers.TensorBoardLogger",
                "init_args": {"save_dir": LOG_DIR, "name": "addition", "default_hp_metric": False},
            },
        },
        parser_kwargs={"epilog": f"Commands that use a trained model: {', '.join(COMMANDS)} (each has --help)."},
        # A rerun into an existing log directory (a fixed logger version, typically to resume) replaces its
        # config.yaml, as the logger replaces hparams.yaml, rather than refusing to start.
        save_config_kwargs={"overwrite": True},
        args=args,
        run=run,
    )


def run_command(name: str, args: list[str]) -> None:
    """Parse ``args`` for the registered command ``name`` and run it."""
    parser = argparse.ArgumentParser(prog=f"python -m lit_addition {name}")
    COMMANDS[name].add_arguments(parser)
    try:
        COMMANDS[name].run(parser.parse_args(args))
    except BrokenPipeError:  # the reader went away (`answer ... | head`): stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


def main(args: list[str] | None = None) -> None:
    """Run a registered command or else the LightningCLI; bad input ends in one line on stderr and exit status 2,
    never a traceback."""
    # Batches are slices of in-memory tensors, so worker processes would only add overhead.
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    # Our training sampler resumes mid-epoch from the fit loop's own counters (lit_addition.sampling), which
    # Lightning cannot see: its "dataloader is not resumable" warning does not apply.
    warnings.filterwarnings("ignore", message=r".*your dataloader is not resumable.*")
    given = sys.argv[1:] if args is None else args
    try:
        if given and given[0] in COMMANDS:
            run_command(given[0], given[1:])
        else:
            build_cli(args)
    except InputError as error:
        _leave_process_group()
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    _leave_process_group()


def _leave_process_group() -> None:
    """Shut down the process group a DDP run started, once every rank is done with it. Lightning leaves it up, and
    a process that exits with Gloo's threads still running can abort ("terminate called without an active
    exception", pytorch/pytorch#190489) instead of returning its exit status."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
