"""Time to accuracy, measured the way a user feels it: a config trained by the real CLI in a fresh process.

:class:`EpochRecorder` notes, after every validation, the epoch, the seconds spent training so far (validation and
start-up excluded), the wall clock and the validation metrics, and prints them as one JSON line. :func:`train_config`
runs ``python scripts/timing.py CONFIG [CLI overrides]`` in a child process and collects those lines, so the
whole-process time to a given accuracy includes Python's and Lightning's start-up. Used by ``benchmark.py`` and
``results.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lightning.pytorch import Callback, LightningModule, Trainer

RECORD = "@record "
ROOT = Path(__file__).resolve().parent.parent


class EpochRecorder(Callback):
    """Print a JSON record after each validation; optionally stop once ``stop_at`` exact accuracy is reached."""

    def __init__(self, stop_at: float | None = None) -> None:
        self.stop_at = stop_at
        self.train_seconds = 0.0
        self._epoch_start = 0.0

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._epoch_start = time.perf_counter()

    def on_validation_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not trainer.sanity_checking:
            self.train_seconds += time.perf_counter() - self._epoch_start

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
        record = {"epoch": trainer.current_epoch + 1, "train_s": self.train_seconds, "wall": time.time(), **metrics}
        print(RECORD + json.dumps(record), flush=True)
        if self.stop_at is not None and metrics["val/seq_acc"] >= self.stop_at:
            trainer.should_stop = True


@dataclass
class Run:
    """What one child process reported."""

    config: str
    started: float
    epochs: list[dict] = field(default_factory=list)
    test: dict = field(default_factory=dict)
    ended: float = 0.0

    def first(self, metric: str, threshold: float) -> dict | None:
        """The first epoch record whose ``metric`` reached ``threshold``."""
        return next((record for record in self.epochs if record[metric] >= threshold), None)

    def process_seconds(self, record: dict) -> float:
        """Seconds from starting the child process to the end of the validation in ``record``."""
        return record["wall"] - self.started


def train_config(config: str, *overrides: str, stop_at: float | None = None, test: bool = True) -> Run:
    """Train ``config`` with the CLI in a fresh process and return its per-epoch records and test metrics."""
    command = [sys.executable, str(Path(__file__).resolve()), config, *overrides]
    if stop_at is not None:
        command.append(f"--stop_at={stop_at}")
    if not test:
        command.append("--no_test")
    run = Run(config=config, started=time.time())
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    run.ended = time.time()
    if result.returncode != 0:
        raise RuntimeError(f"training {config} failed:\n{result.stderr[-3000:]}")
    for line in result.stdout.splitlines():
        # The progress bar's carriage-return output may share a line with a record.
        if RECORD in line:
            record = json.loads(line.split(RECORD, 1)[1])
            (run.epochs.append if "epoch" in record else run.test.update)(record)
    return run


def _child(argv: list[str]) -> None:
    from lit_addition.cli import build_cli

    stop_at = next((float(a.split("=", 1)[1]) for a in argv if a.startswith("--stop_at=")), None)
    run_test = "--no_test" not in argv
    config, *overrides = [a for a in argv if not a.startswith("--stop_at=") and a != "--no_test"]
    cli = build_cli(["--config", config, *overrides], run=False)
    cli.trainer.callbacks.append(EpochRecorder(stop_at))
    cli.trainer.fit(cli.model, cli.datamodule)
    if run_test:
        (metrics,) = cli.trainer.test(cli.model, cli.datamodule, ckpt_path="best", verbose=False)
        print(RECORD + json.dumps({k: float(v) for k, v in metrics.items()}), flush=True)


if __name__ == "__main__":
    _child(sys.argv[1:])
