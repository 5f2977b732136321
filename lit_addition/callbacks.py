"""Callbacks: the reference's sample printout, progress for a log file, and a summary of each run for TensorBoard's
HParams panel.

``SamplePredictions`` shows a few validation problems and the model's answers after every validation epoch, in the
reference's format, question un-reversed, ``☑`` for a right answer and ``☒`` for a wrong one::

    Q 535+61  T 596  ☑ 596
    Q 99+1    T 100  ☒ 109

The same lines go to TensorBoard as a text panel when a TensorBoard logger is in use.

``EpochLines`` stands in for the live progress bar when the output is not a terminal (a scheduler's log file, a
pipe): one line per epoch, as Keras prints off a terminal, and no carriage returns or escape sequences::

    Epoch 3: 2.1 s, train/loss 0.0551, train/char_acc 0.9391, train/seq_acc 0.7902, val/loss 0.0260, ...

Epochs count from 0, as Lightning's bar and the checkpoint names (``epoch013-...``) count them.

``RunSummary`` logs how the run was shaped (global batch, data-parallel ranks, precision) as hyperparameters when
``fit`` starts, and every hyperparameter with the run's final metrics when it ends, for TensorBoard's HParams tab.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import ProgressBar, Timer
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_info, rank_zero_only

from lit_addition.data import AdditionDataModule, ProblemTensors
from lit_addition.runtime.encoding import Encoding
from lit_addition.samplers import data_parallel_shard

_GREEN, _RED, _RESET = "\033[32m", "\033[31m", "\033[0m"


def colour_enabled(stream=sys.stdout) -> bool:
    """Colour only for a terminal, and never when ``NO_COLOR`` is set to anything (https://no-color.org)."""
    return not os.environ.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty()


def sample_lines(encoding: Encoding, questions: np.ndarray, answers: np.ndarray, predictions: np.ndarray) -> list:
    """``(line, correct)`` pairs in the reference's layout, from token ids of questions, true and predicted answers."""
    width_q, width_a = 2 * encoding.digits + 1, encoding.answer_length  # as typed: "999+999", whatever the model reads
    texts = zip(
        encoding.decode_questions(questions),
        encoding.decode_answers(answers),
        encoding.decode_answers(predictions),
        strict=True,
    )
    return [(f"Q {q:<{width_q}} T {t:<{width_a}} {{mark}} {p}", t == p) for q, t, p in texts]


class SamplePredictions(Callback):
    """Print ``n`` random validation problems with the model's answers after each validation epoch.

    Args:
        n: how many problems to show.
        seed: seed of the choice of problems; the choice also depends on the epoch, never on the global RNG.
    """

    def __init__(self, n: int = 10, seed: int = 0) -> None:
        self.n = n
        self.seed = seed

    @rank_zero_only
    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking or self.n < 1:
            return
        dataset: ProblemTensors = trainer.val_dataloaders.dataset
        rng = np.random.default_rng([self.seed, trainer.current_epoch])
        index = torch.as_tensor(rng.choice(len(dataset), min(self.n, len(dataset)), replace=False))
        questions, answers = dataset.questions[index], dataset.answers[index]
        with torch.no_grad():
            predictions = pl_module(questions.to(pl_module.device)).argmax(-1).cpu()
        lines = sample_lines(pl_module.encoding, questions.numpy(), answers.numpy(), predictions.numpy())
        colour = colour_enabled()
        for line, correct in lines:
            mark = "☑" if correct else "☒"
            if colour:
                mark = f"{_GREEN if correct else _RED}{mark}{_RESET}"
            self._print(trainer, line.format(mark=mark))
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                # Four leading spaces make TensorBoard's Markdown render the lines as a fixed-width block.
                text = "\n".join("    " + line.format(mark="☑" if ok else "☒") for line, ok in lines)
                logger.experiment.add_text("val/samples", text, global_step=trainer.global_step)

    @staticmethod
    def _print(trainer: Trainer, line: str) -> None:
        bar = trainer.progress_bar_callback
        (bar.print if bar is not None else print)(line)


TIME_METRIC = "time/train_s"


class TrainingTime(Timer):
    """Lightning's :class:`~lightning.pytorch.callbacks.Timer`, which also logs, after every training epoch, the
    seconds since training started, validation included, as ``time/train_s``: how long a user waited for each epoch's
    figures. :class:`EpochLines` prints it; the benchmarks read it from a run's log. A resumed run goes on counting."""

    def __init__(self) -> None:
        super().__init__(duration=None, verbose=False)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        # Each rank's own clock; the slowest rank is the one a user waits for.
        pl_module.log(TIME_METRIC, self.time_elapsed("train"), sync_dist=True, reduce_fx="max")


class EpochLines(ProgressBar):
    """One line per training epoch with its seconds (from :class:`TrainingTime`) and its training and validation
    metrics, and nothing per step: the progress report for output that is not a terminal. Only global rank 0 prints.

    Lightning logs the epoch's training accuracies in the model's ``on_train_epoch_end``, which runs after this
    callback's, so an epoch's line is printed when the next epoch starts or training ends.
    """

    METRICS = tuple(f"{stage}/{name}" for stage in ("train", "val") for name in ("loss", "char_acc", "seq_acc"))

    def __init__(self) -> None:
        super().__init__()
        self._enabled = True
        self._pending: int | None = None  # a finished epoch not yet printed
        self._seconds_before = 0.0  # time/train_s when the pending epoch started

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    @property
    def is_enabled(self) -> bool:
        return self._enabled

    def print(self, *args, **kwargs) -> None:
        if self._enabled:
            print(*args, **kwargs, flush=True)

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._print_pending(trainer)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._pending = trainer.current_epoch

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._print_pending(trainer)

    def _print_pending(self, trainer: Trainer) -> None:
        if self._pending is None:
            return
        metrics = trainer.callback_metrics
        line = [f"Epoch {self._pending}"]
        if TIME_METRIC in metrics:
            seconds = metrics[TIME_METRIC].item()
            line[0] += f": {seconds - self._seconds_before:.1f} s"
            self._seconds_before = seconds
        self._pending = None
        scores = [f"{name} {metrics[name].item():.4f}" for name in self.METRICS if name in metrics]
        self.print(", ".join(line + scores))


class RunSummary(Callback):
    """Log the run's shape when ``fit`` starts and its final metrics, with every hyperparameter, when it ends.

    At the start, ``global_batch_size`` (problems per optimizer step over all devices), ``data_parallel_ranks`` and
    ``precision`` join the model's and the data's hyperparameters (``hparams.yaml``), and the global batch is
    printed once. At the end, every hyperparameter goes to TensorBoard with the final value of each metric in
    ``trainer.callback_metrics``, under the metric's own tag at the fit's last step (one more point on each curve,
    at its last value), so the HParams tab shows one row per run without charts of its own.
    """

    def __init__(self) -> None:
        self.shape: dict[str, int | str] = {}

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        ranks, _ = data_parallel_shard(trainer)
        self.shape = {"data_parallel_ranks": ranks, "precision": str(trainer.precision)}
        data = trainer.datamodule
        if isinstance(data, AdditionDataModule):
            self.shape["global_batch_size"] = data.global_batch_size
            rank_zero_info(
                f"Global batch: {data.global_batch_size} problems per optimizer step = data.batch_size "
                f"{data.hparams.batch_size} x {ranks} data-parallel rank(s) x {trainer.accumulate_grad_batches} "
                "accumulated batch(es)"
            )
        for logger in trainer.loggers:
            logger.log_hyperparams(self.shape)

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        params = dict(pl_module.hparams_initial)
        if trainer.datamodule is not None:
            params.update(trainer.datamodule.hparams_initial)
        params.update(self.shape)
        params = {name: value for name, value in params.items() if not name.startswith("_")}  # Lightning's own
        final = {name: value.item() for name, value in trainer.callback_metrics.items()}
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):  # other loggers take no metrics with their hyperparameters
                logger.log_hyperparams(params, metrics=final, step=trainer.global_step)
