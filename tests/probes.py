"""Callbacks that tests add to real command-line runs (``PYTHONPATH=tests``) to watch or interrupt them."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from lightning.pytorch import Callback, LightningModule, Trainer


class SigtermAtStep(Callback):
    """Sends this process SIGTERM once the optimizer has taken ``step`` steps, as a scheduler pre-empting a job would.

    Args:
        step: the global step after which the signal arrives.
    """

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: Trainer, *args) -> None:
        if trainer.global_step == self.step:
            signal.raise_signal(signal.SIGTERM)


class RecordRank(Callback):
    """Writes, per rank, every split and the questions the rank trained and validated on, to ``out/rank<r>.json``.

    Args:
        out: directory for the records.
    """

    def __init__(self, out: str) -> None:
        self.out = Path(out)
        self.record: dict = {"train": {}, "val": {}}

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        data = trainer.datamodule
        self.record["rank"] = trainer.global_rank
        self.record["world_size"] = trainer.world_size
        self.record["splits"] = {s: data.problems(s) for s in ("train", "val", "test")}

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        focus = trainer.datamodule.focus
        if focus is not None:  # the losses this epoch's focused problems were chosen by
            self.record.setdefault("focus_losses", {})[str(trainer.current_epoch)] = focus.losses.tolist()

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch, batch_idx: int) -> None:
        self.record["train"].setdefault(str(trainer.current_epoch), []).extend(self._questions(trainer, batch))

    def on_validation_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch, *args) -> None:
        if not trainer.sanity_checking:
            self.record["val"].setdefault(str(trainer.current_epoch), []).extend(self._questions(trainer, batch))

    @staticmethod
    def _questions(trainer: Trainer, batch) -> list[str]:
        return trainer.datamodule.encoding.decode_questions(batch[0].cpu().numpy())

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / f"rank{trainer.global_rank}.json").write_text(json.dumps(self.record))
