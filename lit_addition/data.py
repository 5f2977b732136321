"""The LightningDataModule: unique problems, split into train, validation and test without leakage.

``num_samples`` problems are the reference's data set (its ``TRAINING_SIZE``), of which ``val_fraction`` is held
out for validation, as the reference does. ``test_samples`` more problems form a test split that neither training
nor model selection ever sees. All three come from one draw of unique problems, so no problem, and no problem with
its operands swapped, is in two splits. That is also why ``both_orders`` may train on each training problem as
``a+b`` and as ``b+a`` without leaking anything: the swapped problem is the same training problem.

Generation runs in ``setup()``, from this module's own ``seed``, so every DDP rank builds the identical split
whatever the global seed. The training order comes from the same ``seed`` and the epoch number alone, and each rank
trains on its own share of it; evaluation splits are shared out without repeats (see :mod:`lit_addition.samplers`).
Batches are cut straight from token-id tensors in memory: the samplers hand the DataLoader a whole batch of indices
at a time, so nothing is collated sample by sample. ``predict`` answers the lines of
``predict_file``, or else the test split, as :class:`~lit_addition.prediction.ProblemLines`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from jsonargparse.typing import ClosedUnitInterval, NonNegativeInt, OpenUnitInterval, PositiveInt
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader, Dataset

from lit_addition.focus import HardestProblems
from lit_addition.prediction import ProblemLines
from lit_addition.problems import format_floor
from lit_addition.runtime.encoding import Encoding
from lit_addition.runtime.errors import InputError
from lit_addition.samplers import EvalBatches, TrainBatches, data_parallel_shard
from lit_addition.splits import SPLITS, check_memory, draw_splits, split_settings, validation_count

Split = Literal["train", "val", "test"]


class ProblemTensors(Dataset):
    """Questions and answers as token-id tensors; indexing with a slice, an index tensor or a list gives a batch."""

    def __init__(self, questions: torch.Tensor, answers: torch.Tensor) -> None:
        self.questions = questions
        self.answers = answers

    def __len__(self) -> int:
        return len(self.questions)

    def __getitem__(self, index: int | slice | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.questions[index], self.answers[index]

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.as_tensor(indices)
        return self.questions[index], self.answers[index]


class IndexedProblems(ProblemTensors):
    """A training split whose batches also carry the problems' indices, for the focused epochs' losses."""

    def __getitem__(self, index: slice | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        indices = index if isinstance(index, torch.Tensor) else torch.arange(len(self))[index]
        return self.questions[index], self.answers[index], indices


def already_batched(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Collate function for :class:`ProblemTensors`, whose ``__getitems__`` already returns stacked tensors."""
    return batch


class AdditionDataModule(LightningDataModule):
    """Unique addition problems ``a+b`` with operands of up to ``digits`` digits.

    Args:
        digits: the most digits an operand may have.
        num_samples: problems for training and validation together (the reference's ``TRAINING_SIZE``).
        val_fraction: share of ``num_samples`` held out for validation.
        test_samples: further problems held out for ``test``, disjoint from both.
        reverse: feed the question backwards, as the reference does.
        reverse_answer: write the answer least significant digit first (decoding undoes it).
        zero_pad: write each operand with leading zeros, ``535+061``, so that a column's digits sit at the same
            places in every question (decoding drops the zeros).
        interleave: write the two operands' digits in turns, column by column, with leading zeros and no ``+``:
            ``535+61`` is ``503651``, read backwards (``reverse``) the units' two digits first.
        both_orders: train on every training problem in both orders, ``a+b`` and ``b+a``, which nearly doubles
            the training epoch; validation and test keep the order each problem was drawn in. It matters where data is
            scarce: in the 2-digit space, problems with a one-digit operand are few, and seeing each both ways is
            what lets the model answer the unseen ones.
        format_floor: the least share of the training examples of each epoch that every format (the digit counts
            of the two operands: a 1-digit plus a 2-digit number, say) makes; the training problems of a rarer format
            are repeated as often as that takes (:func:`~lit_addition.problems.format_floor`). The short formats
            hold few problems, and the held-out ones among them are answered only by a model that saw enough of the
            rest. 0 repeats nothing.
        uniform_share: chance that a draw of a problem is an ordered pair taken uniformly over the whole space
            rather than the reference's draw, which picks the digit count first and so favours short operands
            (at 3 digits a quarter of its problems have two 3-digit operands, against 81% of the space). 0 is the
            reference's sampling; problems stay unique and the splits disjoint whatever the share.
        carry_share, nines_share, top_nines_share, short_chain_share, zeros_share: shares of the problems (of all
            splits) drawn from the kinds that the other draws rarely give (:mod:`lit_addition.rare_problems`), 0
            drawing none:
            carry chains into a new digit such as ``99999+1`` or ``901+999``; lowest columns each summing to 9 with
            no carry through them, such as ``10+589``, the problems a model that has learned to carry is last to stop
            carrying through; 9 in the highest columns of both operands, such as ``998+996``, where a carry passes
            through one 9+9 column after another; a carry on through the columns a short operand lacks (``1+99999``);
            0 in the lowest columns of both operands, such as ``400+300``.
        train_small_formats: the formats with at most this many ordered problems are drawn whole and train, none of
            them validated or tested (:func:`~lit_addition.rare_problems.small_format_pairs`): 1,000 takes the 955
            problems of a 1-digit operand beside a 1- or 2-digit one, too few to learn from a sample of themselves
            (held out, ``0+0`` and ``8+1`` were missed). 0 splits them as any other.
        val_seen_answers: hold out for validation only problems whose answer an earlier problem of the draw has,
            so that training shows every answer of the ``num_samples`` problems. Where the draw holds nearly the
            whole space (2 digits), ``0+0`` and ``99+99`` are the only problems with their answers, and models that
            never saw them answered them wrong. False holds out the draw's last ``val_fraction``, as the reference.
        focus_after: epochs that train on every training problem before the focused ones; from epoch
            ``focus_after`` on, each epoch trains on the problems with the highest loss when the model last trained
            on them, and a random share of the rest (:mod:`lit_addition.focus`). 0, the default, trains on every
            problem every epoch. Needs ``trainer.reload_dataloaders_every_n_epochs: 1``, for epochs of two lengths.
        focus_hardest: share of the training problems a focused epoch takes by highest last loss.
        focus_others: share of the training problems a focused epoch draws at random from the rest, so that known
            problems are revisited and one the model forgets is found.
        batch_size: training batch size per device (per data-parallel rank). One optimizer step sees
            ``batch_size * devices * num_nodes * accumulate_grad_batches`` problems, printed and logged at the start
            of ``fit`` as ``global_batch_size``.
        eval_batch_size: batch size per device for validation, test and predict, which need no gradients.
        seed: seed of the problem draw, the split and the training order (epoch ``e`` is shuffled from
            ``(seed, e)``); independent of ``seed_everything``, which seeds the network's initial weights.
        num_workers: DataLoader worker processes; batches are slices of in-memory tensors, so 0 is fastest.
        predict_file: a text file of problems, one per line, for ``predict`` to answer; without it ``predict``
            answers the test split.
    """

    def __init__(
        self,
        digits: int = 3,
        num_samples: PositiveInt = 50_000,
        val_fraction: OpenUnitInterval = 0.1,
        test_samples: NonNegativeInt = 5_000,
        reverse: bool = True,
        reverse_answer: bool = False,
        zero_pad: bool = False,
        interleave: bool = False,
        both_orders: bool = False,
        format_floor: ClosedUnitInterval = 0.0,
        uniform_share: ClosedUnitInterval = 0.0,
        carry_share: ClosedUnitInterval = 0.0,
        nines_share: ClosedUnitInterval = 0.0,
        top_nines_share: ClosedUnitInterval = 0.0,
        short_chain_share: ClosedUnitInterval = 0.0,
        zeros_share: ClosedUnitInterval = 0.0,
        train_small_formats: NonNegativeInt = 0,
        val_seen_answers: bool = False,
        focus_after: NonNegativeInt = 0,
        focus_hardest: ClosedUnitInterval = 0.25,
        focus_others: ClosedUnitInterval = 0.2,
        batch_size: PositiveInt = 32,
        eval_batch_size: PositiveInt = 2048,
        seed: int = 1234,
        num_workers: NonNegativeInt = 0,
        predict_file: str | None = None,
    ) -> None:
        super().__init__()
        self.encoding = Encoding(digits, reverse, reverse_answer, zero_pad, interleave)
        validation_count(digits, num_samples, val_fraction, test_samples)  # refuse sizes that cannot be drawn, now
        check_memory(num_samples + test_samples, self.encoding, both_orders)
        if focus_after and not 0 < focus_hardest + focus_others <= 1:
            raise InputError(
                f"data.focus_hardest + data.focus_others is {focus_hardest + focus_others:g}: a focused epoch needs "
                "a share of the training problems above 0 and at most 1"
            )
        self.save_hyperparameters()
        self._operands: dict[Split, tuple[np.ndarray, np.ndarray]] = {}
        self._datasets: dict[Split, ProblemTensors] = {}
        self.focus: HardestProblems | None = None

    def setup(self, stage: str | None = None) -> None:
        """Draw the problems and build all three splits; later calls reuse them."""
        if self._datasets:
            return
        self._operands = draw_splits(**split_settings(self.hparams))
        for split, (first, second) in self._operands.items():
            if split == "train" and self.hparams.both_orders:
                swapped = first != second  # 7+7 reads the same both ways: once is enough
                first, second = np.concatenate([first, second[swapped]]), np.concatenate([second, first[swapped]])
            if split == "train" and self.hparams.format_floor > 0:
                index = format_floor(first, second, self.hparams.format_floor)
                first, second = first[index], second[index]
            questions = self.encoding.encode_questions(first, second)
            answers = self.encoding.encode_answers(first, second)
            kind = IndexedProblems if split == "train" and self.hparams.focus_after else ProblemTensors
            self._datasets[split] = kind(torch.from_numpy(questions), torch.from_numpy(answers))
        if self.hparams.focus_after:
            hparams = self.hparams
            problems = len(self._datasets["train"])
            self.focus = HardestProblems(problems, hparams.focus_after, hparams.focus_hardest, hparams.focus_others,
                                         hparams.seed)  # fmt: skip

    @property
    def global_batch_size(self) -> int:
        """Problems per optimizer step over all ranks: ``batch_size`` x data-parallel ranks x gradient accumulation."""
        replicas, _ = data_parallel_shard(self.trainer)
        accumulate = self.trainer.accumulate_grad_batches if self.trainer is not None else 1
        return self.hparams.batch_size * replicas * accumulate

    def problems(self, split: Split) -> list[tuple[int, int]]:
        """The problems of one split as ``(a, b)`` pairs, in the split's order."""
        a, b = self._split(split, self._operands)
        return list(zip(a.tolist(), b.tolist(), strict=True))

    def dataset(self, split: Split) -> ProblemTensors:
        """The token-id tensors of one split; with ``both_orders``, the training problems and then each one swapped."""
        return self._split(split, self._datasets)

    def _split(self, split: Split, table: dict):
        if split not in SPLITS:
            raise InputError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")
        if not table:
            raise RuntimeError("the problems are drawn in setup(): call setup() first")
        return table[split]

    def _check_not_empty(self, split: Split) -> ProblemTensors:
        dataset = self.dataset(split)
        if len(dataset) == 0:
            raise InputError(f"the {split} split is empty: set data.test_samples to 1 or more")
        return dataset

    def _loader(self, dataset: ProblemTensors, **kwargs: Any) -> DataLoader:
        return DataLoader(
            dataset,
            collate_fn=already_batched,
            num_workers=self.hparams.num_workers,
            persistent_workers=self.hparams.num_workers > 0,
            **kwargs,
        )

    def _batches_done(self) -> int:
        """Batches of the current epoch the fit loop has already taken: 0, or more when resuming mid-epoch."""
        return self.trainer.fit_loop.epoch_loop.batch_progress.current.ready if self.trainer is not None else 0

    def train_dataloader(self) -> DataLoader:
        dataset = self._check_not_empty("train")
        replicas, rank = data_parallel_shard(self.trainer)
        chosen = self._focused_epoch() if self.focus is not None else None
        batches = TrainBatches(
            dataset, self.hparams.batch_size, self.hparams.seed, replicas, rank, self._batches_done, chosen
        )
        return self._loader(dataset, sampler=batches, batch_size=None)  # the sampler yields whole batches

    def _focused_epoch(self) -> torch.Tensor | None:
        """The problems of this epoch, from every rank's losses of the epochs before."""
        trainer = self.trainer
        if trainer is None:  # outside a fit: every problem
            return None
        if trainer.reload_dataloaders_every_n_epochs != 1:
            raise InputError(
                "data.focus_after makes epochs of two lengths, which Lightning counts only when it builds the "
                "training loader anew every epoch: set trainer.reload_dataloaders_every_n_epochs to 1"
            )
        return self.focus.start(trainer.current_epoch, self._sum_over_ranks)

    def _sum_over_ranks(self, tensor: torch.Tensor) -> torch.Tensor:
        # A copy on the device the strategy reduces on (NCCL: the GPU), as reduce() works in place.
        strategy = self.trainer.strategy
        return strategy.reduce(tensor.to(strategy.root_device, copy=True), reduce_op="sum")

    def record_losses(self, indices: torch.Tensor, losses: torch.Tensor) -> None:
        """Note the losses of the training problems at ``indices`` (the third part of a focused training batch)."""
        self.focus.record(indices, losses)

    def epoch_batches(self, epochs: int) -> list[int] | None:
        """Training batches per rank of each of ``epochs`` epochs, where focused epochs make them differ; else None."""
        if self.focus is None:
            return None
        replicas, _ = data_parallel_shard(self.trainer)
        return [TrainBatches.batches(self.focus.size(e), self.hparams.batch_size, replicas) for e in range(epochs)]

    def epoch_problems(self, epoch: int) -> int:
        """Training problems ``epoch`` shows, over all ranks."""
        return self.focus.size(epoch) if self.focus is not None else len(self.dataset("train"))

    def state_dict(self) -> dict[str, Any]:
        return {"focus": self.focus.state_dict(self._sum_over_ranks)} if self.focus is not None else {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if "focus" in state_dict and self.focus is not None:
            self.focus.load_state_dict(state_dict["focus"])

    def _eval_loader(self, split: Split) -> DataLoader:
        dataset = self._check_not_empty(split)
        replicas, rank = data_parallel_shard(self.trainer)
        batches = EvalBatches(dataset, self.hparams.eval_batch_size, replicas, rank)
        return self._loader(dataset, sampler=batches, batch_size=None)

    def val_dataloader(self) -> DataLoader:
        return self._eval_loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._eval_loader("test")

    def predict_dataloader(self) -> DataLoader:
        """The lines of ``predict_file`` or, without one, the test split, as :class:`ProblemLines`."""
        if self.hparams.predict_file is None:
            lines = ProblemLines([f"{a}+{b}" for a, b in self.problems("test")], self.encoding)
        else:
            lines = ProblemLines.from_file(self.hparams.predict_file, self.encoding)
        # Lightning shards prediction itself, without repeats, so that it knows which rank predicted what.
        return self._loader(lines, batch_size=self.hparams.eval_batch_size)
