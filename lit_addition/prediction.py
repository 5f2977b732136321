"""Lightning's ``predict`` on lines of problems: the dataset of lines, and the writer that saves every answer.

``python -m lit_addition predict --ckpt_path CKPT --data.predict_file problems.txt`` answers a text file of
problems, one per line; without ``--data.predict_file`` it answers the test split. Lines are parsed exactly as
``answer`` parses them. :class:`PredictionWriter` writes ``predictions.jsonl`` to the trainer's log directory, one
JSON record per input line in input order, with the same fields as ``answer --json``: ``line``, ``problem`` and
either ``answer`` or ``error``. Bad lines are therefore kept in place, and also reported on stderr; the CLI then
exits with status 2, as ``answer`` does.

Under DDP every rank answers its share of the lines, the answers are gathered to rank 0, and rank 0 alone writes
the file, so it is written once and whole.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import BasePredictionWriter
from torch.utils.data import Dataset

from lit_addition.runtime.encoding import Encoding
from lit_addition.runtime.errors import InputError
from lit_addition.runtime.text import parse_each, record, text_lines

PREDICTIONS_FILE = "predictions.jsonl"


class ProblemLines(Dataset):
    """Problems as lines of text: those that parse become question ids, the others keep their errors.

    An item is ``(question_ids, row)``: ``row`` is the item's 0-based line, so answers can be put back in order
    however the lines were shared out. Indexing with a list of indices returns a whole batch.

    Args:
        lines: the problems, one per line.
        encoding: the model's encoding, which parses and encodes them.
    """

    def __init__(self, lines: Sequence[str], encoding: Encoding) -> None:
        self.lines = list(lines)
        rows, a, b, self.errors = parse_each(self.lines, encoding.digits)
        self.rows = torch.from_numpy(rows)
        self.questions = torch.from_numpy(encoding.encode_questions(a, b))

    @classmethod
    def from_file(cls, path: str | Path, encoding: Encoding) -> ProblemLines:
        """The lines of a text file; the whole file is read, so for very large files use ``answer``, which streams."""
        if not Path(path).is_file():
            raise InputError(f"predict_file {path} is not a file: give a text file with one problem per line")
        with open(path, "rb") as binary:
            lines = cls(list(text_lines(binary)), encoding)
        # Lightning skips predict altogether when there is nothing to predict, so refuse here, with the reason.
        if not lines.lines:
            raise InputError(f"predict_file {path} is empty: give a text file with one problem per line")
        if not len(lines):
            row, error = next(iter(lines.errors.items()))
            more = f" (and {len(lines.errors) - 1} more)" if len(lines.errors) > 1 else ""
            raise InputError(f"no line of predict_file {path} can be answered; line {row + 1}: {error}{more}")
        return lines

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.questions[index], self.rows[index]

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.as_tensor(indices)
        return self.questions[index], self.rows[index]


class PredictionWriter(BasePredictionWriter):
    """Write the answers to :class:`ProblemLines` to ``predictions.jsonl`` in the trainer's log directory.

    After ``predict``, ``path`` is the file written and ``failed`` the number of lines that could not be answered
    (on rank 0; other ranks write nothing and report 0).
    """

    def __init__(self) -> None:
        super().__init__(write_interval="batch")
        self._answers: dict[int, str] = {}
        self.path: Path | None = None
        self.failed = 0

    def on_predict_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._answers, self.path, self.failed = {}, None, 0

    def write_on_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        prediction: list[str],
        batch_indices: Sequence[int] | None,
        batch: tuple[torch.Tensor, torch.Tensor],
        batch_idx: int,
        dataloader_idx: int,
    ) -> None:
        self._answers.update(zip(batch[1].tolist(), prediction, strict=True))

    def on_predict_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        dataset: ProblemLines = trainer.predict_dataloaders.dataset
        answers = self._answers
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            shares: list[Any] = [None] * torch.distributed.get_world_size()
            torch.distributed.all_gather_object(shares, answers)
            answers = {row: answer for share in shares for row, answer in share.items()}
        path = Path(trainer.log_dir) / PREDICTIONS_FILE  # on every rank: log_dir is agreed on by a broadcast
        if not trainer.is_global_zero:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as file:
            for row, problem in enumerate(dataset.lines):
                result = dataset.errors[row] if row in dataset.errors else answers[row]
                print(json.dumps(record(row + 1, problem, result), ensure_ascii=False), file=file)
                if isinstance(result, InputError):
                    print(f"error: line {row + 1}: {result}", file=sys.stderr)
        self.path, self.failed = path, len(dataset.errors)
