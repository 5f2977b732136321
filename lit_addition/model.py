"""The LightningModule: the reference's network, its loss, an optimiser recipe, and the accuracy metrics.

Each stage has its own :class:`~lit_addition.metrics.AnswerAccuracy` (a torchmetrics ``Metric``, so DDP ranks are
reduced correctly), logged once per epoch: ``train/char_acc`` and ``train/seq_acc``; for validation and test also
the accuracy at each answer position, ``val/pos_acc/0`` to ``val/pos_acc/<digits>``, and the loss.
``train/loss`` is logged on the steps the logger writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import torch
from jsonargparse.typing import NonNegativeFloat, OpenUnitInterval, PositiveFloat, PositiveInt
from lightning.pytorch import LightningModule
from lightning.pytorch.plugins.precision import MixedPrecision
from lightning.pytorch.trainer.states import TrainerFn
from torchmetrics import MeanMetric

from lit_addition.inference import NetworkAdder, check_ours
from lit_addition.metrics import AnswerAccuracy, restore_states, synced_states
from lit_addition.network import STRUCTURAL_HPARAMS, answer_loss, build_network, problem_losses
from lit_addition.runtime.adder import ANSWER_BATCH_SIZE
from lit_addition.runtime.errors import InputError

# Checkpoint entry holding the running training accuracies of an unfinished epoch, summed over ranks.
_TRAIN_METRIC_STATES = "train_metric_states"


def fused_adamw(device: torch.device, clipped: bool, mixed: bool) -> bool:
    """Whether AdamW takes its one-kernel update: on CPU and CUDA, but not where a mixed precision clips the
    gradients, as Lightning refuses to clip those of an optimizer that unscales them itself."""
    return device.type in ("cpu", "cuda") and not (clipped and mixed)


def optimizer_and_schedule(
    parameters: Iterable[torch.nn.Parameter], hparams: Mapping[str, Any], total_steps: float | None, fused: bool
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler | None]:
    """The training recipe: AdamW and, for ``lr_schedule="onecycle"``, a one-cycle schedule over ``total_steps``
    steps, to be stepped after every batch (``None`` for a constant rate). ``fused`` picks the kernel that updates
    every parameter in one call, a few percent off each step on CPU and CUDA."""
    optimizer = torch.optim.AdamW(
        parameters,
        lr=hparams["learning_rate"],
        betas=tuple(hparams["betas"]),
        weight_decay=hparams["weight_decay"],
        fused=fused,
    )
    if hparams["lr_schedule"] == "constant":
        return optimizer, None
    if total_steps is None or total_steps == float("inf"):
        raise InputError("lr_schedule=onecycle needs a finite run: set trainer.max_epochs or trainer.max_steps")
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=hparams["learning_rate"], total_steps=int(total_steps), pct_start=hparams["warmup_fraction"]
    )
    return optimizer, scheduler


class AdditionModel(LightningModule):
    """Learns to answer ``a+b`` from the problem's characters. The defaults are the reference's network and its
    optimiser (Adam at a constant 0.001, the answer written most significant digit first); the shipped configs
    hold the recipes.

    Args:
        digits: the most digits an operand may have (linked from the data in the CLI).
        reverse: whether questions are fed backwards (linked from the data).
        reverse_answer: whether answers are written least significant digit first (linked from the data).
        zero_pad: whether operands are written with leading zeros (linked from the data).
        interleave: whether the operands' digits are written in turns, column by column (linked from the data).
        hidden_size: width of the encoder and decoder LSTMs.
        num_layers: depth of the decoder LSTM stack.
        project_once: project the decoder's constant input once rather than at every step (the same function;
            False runs ``nn.LSTM`` on the repeated vector, as the reference does, a quarter more arithmetic).
        learning_rate: AdamW's learning rate; the peak rate under the one-cycle schedule.
        betas: AdamW's decay rates of its running averages of the gradient and of its square.
        weight_decay: AdamW's decoupled weight decay; 0 makes it the reference's Adam.
        lr_schedule: ``constant`` (the reference) or ``onecycle`` (warm up, then anneal, stepped every batch).
        warmup_fraction: share of the steps spent warming up under ``onecycle``.
    """

    def __init__(
        self,
        digits: int = 3,
        reverse: bool = True,
        reverse_answer: bool = False,
        zero_pad: bool = False,
        interleave: bool = False,
        hidden_size: PositiveInt = 128,
        num_layers: PositiveInt = 1,
        project_once: bool = True,
        learning_rate: PositiveFloat = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        weight_decay: NonNegativeFloat = 0.0,
        lr_schedule: Literal["constant", "onecycle"] = "constant",
        warmup_fraction: OpenUnitInterval = 0.3,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.encoding, self.net = build_network(self.hparams)
        # Two blank questions: Lightning's model summary shows the shapes they make.
        self.example_input_array = torch.zeros(2, self.encoding.question_length, dtype=torch.long)
        length = self.encoding.answer_length
        self.train_accuracy = AnswerAccuracy(length, positions=False)
        self.val_accuracy = AnswerAccuracy(length)
        self.test_accuracy = AnswerAccuracy(length)
        self.val_loss = MeanMetric()
        self.test_loss = MeanMetric()

    def forward(self, question_ids: torch.Tensor) -> torch.Tensor:
        """Answer logits ``(batch, answer_length, vocab)`` for question token ids ``(batch, question_length)``."""
        return self.net(question_ids)

    def _shared_step(self, batch: tuple[torch.Tensor, ...], stage: str) -> torch.Tensor:
        # A focused training batch (data.focus_after) carries its problems' indices, for their losses.
        questions, answers, *indices = batch
        logits = self(questions)
        loss = answer_loss(logits, answers)
        if indices:
            self.trainer.datamodule.record_losses(indices[0], problem_losses(logits.detach(), answers))
        predicted = logits.detach().argmax(-1)
        getattr(self, f"{stage}_accuracy").update(predicted, answers)
        if stage != "train":
            getattr(self, f"{stage}_loss").update(loss.detach(), len(answers))
        return loss

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self._shared_step(batch, "train")
        # The logger writes every log_every_n_steps-th step and the last one; logging only those saves most of what
        # self.log costs per step. With one optimizer, Lightning's own test for a written step is this one.
        trainer = self.trainer
        if (trainer.global_step + 1) % trainer.log_every_n_steps == 0 or trainer.should_stop:
            self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._shared_step(batch, "val")

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._shared_step(batch, "test")

    def answer(self, problems: Sequence[str], batch_size: int = ANSWER_BATCH_SIZE) -> list[str]:
        """The model's answers to problems as people type them, e.g. ``["596", "15"]`` for ``["535+61", "7+8"]``,
        from the inference core (:class:`~lit_addition.inference.NetworkAdder`), ``batch_size`` at a time. Digits,
        reversal and padding come from this model's own hyperparameters, so after ``load_from_checkpoint`` the
        caller never repeats them.

        Raises:
            InputError: naming the first problem that is not two whole numbers of at most ``digits`` digits
                joined by ``+``.
        """
        return NetworkAdder(self.net, self.encoding).answer(problems, batch_size)

    def predict_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> list[str]:
        return self.encoding.decode_answers(self(batch[0]).argmax(-1).cpu().numpy())

    def on_train_epoch_end(self) -> None:
        self._log_accuracy("train")

    def on_validation_epoch_end(self) -> None:
        self.log("val/loss", self.val_loss)  # a metric object: Lightning has torchmetrics reduce it, then resets it
        self._log_accuracy("val", prog_bar=("char_acc", "seq_acc"))

    def on_test_epoch_end(self) -> None:
        self.log("test/loss", self.test_loss)
        self._log_accuracy("test")

    def _log_accuracy(self, stage: str, prog_bar: tuple[str, ...] = ()) -> None:
        metric = getattr(self, f"{stage}_accuracy")
        scores = metric.compute()  # reduced over every rank by torchmetrics, so each rank holds the same values
        metric.reset()
        for name, value in scores.items():
            # Lightning wants epoch-level values synced; a max over identical copies returns them unchanged, where
            # a mean over ranks could round the last bit.
            self.log(f"{stage}/{name}", value, prog_bar=name in prog_bar, sync_dist=True, reduce_fx="max")

    def _total_steps(self) -> float:
        """Optimizer steps of the whole fit: Lightning's estimate, or, where the data module's epochs differ in
        length (focused epochs), the sum of its epochs' batches."""
        trainer = self.trainer
        planned = getattr(trainer.datamodule, "epoch_batches", None)
        batches = planned(trainer.max_epochs) if planned is not None and trainer.max_epochs not in (None, -1) else None
        if batches is None:
            return trainer.estimated_stepping_batches
        steps = sum(-(-epoch // trainer.accumulate_grad_batches) for epoch in batches)  # as Lightning counts them
        return min(steps, trainer.max_steps) if trainer.max_steps != -1 else steps

    def configure_optimizers(self) -> Any:
        onecycle = self.hparams.lr_schedule == "onecycle"
        total_steps = self._total_steps() if onecycle else None
        mixed = isinstance(self.trainer.precision_plugin, MixedPrecision)
        fused = fused_adamw(self.device, bool(self.trainer.gradient_clip_val), mixed)
        optimizer, scheduler = optimizer_and_schedule(self.parameters(), self.hparams, total_steps, fused=fused)
        if scheduler is None:
            return optimizer
        # Named under train/, so that LearningRateMonitor's curve sits with the training curves in TensorBoard.
        schedule = {"scheduler": scheduler, "interval": "step", "name": "train/lr"}
        return {"optimizer": optimizer, "lr_scheduler": schedule}

    def on_train_start(self) -> None:
        # A resumed run takes its schedule from the checkpoint; one laid out for another length would fail a few
        # steps in with PyTorch's "Tried to step N times", so say why up front.
        if self.hparams.lr_schedule == "onecycle":
            planned, run = self.lr_schedulers().total_steps, int(self._total_steps())
            if planned != run:
                raise InputError(
                    f"the checkpoint's one-cycle schedule spans {planned} steps, but this run is set up for {run}: "
                    "resume with the max_epochs, max_steps, batch size and device count the run started with "
                    "(a run that ended at max_steps is finished, not interrupted)"
                )

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Lightning resumes an unfinished epoch where it stopped; carrying the epoch's running training accuracies
        # lets the resumed run report the same epoch figures as an uninterrupted one. Every rank takes part in the
        # reduction; the checkpoint keeps the total.
        if self.trainer.state.fn == TrainerFn.FITTING and self._epoch_unfinished():
            checkpoint[_TRAIN_METRIC_STATES] = synced_states(self.train_accuracy)

    def _epoch_unfinished(self) -> bool:
        trained = self.trainer.fit_loop.epoch_loop.batch_progress.current.processed
        return 0 < trained < self.trainer.num_training_batches

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._check_structure(checkpoint)
        # The totals go to one rank only, so that the reduction at the end of the epoch counts them once.
        if _TRAIN_METRIC_STATES in checkpoint and self.global_rank == 0:
            restore_states(self.train_accuracy, checkpoint[_TRAIN_METRIC_STATES])

    def _check_structure(self, checkpoint: dict[str, Any]) -> None:
        saved = check_ours(checkpoint, "the checkpoint")["hyper_parameters"]
        clashes = [k for k in STRUCTURAL_HPARAMS if k in saved and saved[k] != self.hparams[k]]
        if clashes:
            given = ", ".join(f"{k}={saved[k]!r} (config has {self.hparams[k]!r})" for k in clashes)
            raise InputError(
                f"the checkpoint does not match the config: it was trained with {given}; "
                "set those values (data.* for digits and reversal, model.* for the network) to the checkpoint's"
            )
