"""A config trained as a user trains it, by ``python -m lit_addition fit`` in a fresh process, its figures read back
from the run's own CSV log, and the checkpoint it kept asked what ``analyze`` asks.

The child run logs with Lightning's ``CSVLogger`` into a folder of its own: per epoch ``time/train_s`` (the seconds
since training started, validation included: :class:`~lit_addition.callbacks.TrainingTime`) and every validation
metric. Its checkpoints land beside the log, where :func:`fit` finds the one the run kept.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from report import ROOT

from lit_addition import AdditionDataModule
from lit_addition.evaluation import evaluate, summary
from lit_addition.inference import CheckpointAdder

LARGE_SPACE_SAMPLES = 1_000_000  # ordered problems asked of a space too large to ask whole (4 digits and more)


@dataclass
class Run:
    """What one ``fit`` logged: one record per epoch (``epoch``, ``time/train_s``, the ``val/`` metrics), the
    checkpoint it kept, the training problems it showed (repeats counted) and the process's seconds."""

    config: str
    overrides: list[str]
    epochs: list[dict] = field(default_factory=list)
    checkpoint: Path | None = None
    examples: int = 0
    process_s: float = 0.0

    def first(self, metric: str, threshold: float) -> dict | None:
        """The first epoch whose ``metric`` reached ``threshold``."""
        return next((record for record in self.epochs if record.get(metric, -1) >= threshold), None)

    @property
    def train_s(self) -> float:
        """Seconds of the whole fit, validation included."""
        return self.epochs[-1]["time/train_s"]


def fit(config: str, *overrides: str, folder: str | Path) -> Run:
    """Train ``configs/<config>.yaml`` with ``overrides`` in a fresh process, logging into ``folder`` (where its
    checkpoints stay, for the caller to ask); its figures and the checkpoint it kept."""
    log = Path(folder)
    logger = ["--trainer.logger=CSVLogger", f"--trainer.logger.save_dir={log}", "--trainer.logger.name=run"]
    command = [sys.executable, "-m", "lit_addition", "fit", f"--config=configs/{config}.yaml", *overrides, *logger]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    process_s = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    version = max((log / "run").iterdir(), key=lambda path: path.stat().st_mtime)
    kept = sorted((version / "checkpoints").glob("epoch*.ckpt"))
    epochs = _epochs(version / "metrics.csv")
    data = AdditionDataModule(**yaml.safe_load((version / "config.yaml").read_text())["data"])
    data.setup()  # the run's own problems, from the config it saved: a few milliseconds
    examples = sum(data.epoch_problems(epoch) for epoch in range(len(epochs)))
    return Run(config, list(overrides), epochs, kept[-1] if kept else None, examples, process_s)


def _epochs(path: Path) -> list[dict]:
    """The epoch-level rows of a CSVLogger file, merged by epoch (validation and training rows are apart)."""
    epochs: dict[int, dict] = {}
    with path.open() as rows:
        for row in csv.DictReader(rows):
            if not row["epoch"]:  # LearningRateMonitor's rows (train/lr) have a step but no epoch
                continue
            values = {key: float(value) for key, value in row.items() if value and key not in ("epoch", "step")}
            epochs.setdefault(int(row["epoch"]), {"epoch": int(row["epoch"])}).update(values)
    return [epochs[epoch] for epoch in sorted(epochs) if "time/train_s" in epochs[epoch]]


def knows(checkpoint: Path, samples: int = LARGE_SPACE_SAMPLES) -> dict:
    """What ``analyze`` reports of a checkpoint: every ordered problem of a 2- or 3-digit space, ``samples`` of a
    larger one, and the hard problems."""
    adder = CheckpointAdder.load(checkpoint)
    return summary(evaluate(adder, adder.splits(), samples))
