"""Time to accuracy, measured the way a user feels it: a config trained by the real CLI in a fresh process.

:class:`EpochRecorder` notes, after every validation, the epoch, the seconds spent training so far (validation and
start-up excluded), the wall clock and the validation metrics, and prints them as one JSON line. :func:`train_config`
runs ``python scripts/timing.py CONFIG [CLI overrides]`` in a child process and collects those lines, so the
whole-process time to a given accuracy includes Python's and Lightning's start-up. Used by ``benchmark.py``,
``results.py``, ``seeds.py`` and ``recipe.py``; :func:`tuned_loop` is ``benchmark.py``'s baseline.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lightning.pytorch import Callback, LightningModule, Trainer

RECORD = "@record "
ROOT = Path(__file__).resolve().parent.parent


class TerminalBuffer(io.StringIO):
    """A buffer that passes for a terminal, so that a fit run into it draws the live progress bar, as on a user's
    terminal, rather than the one line per epoch it writes to a file."""

    def isatty(self) -> bool:
        return True


def on_a_terminal() -> contextlib.AbstractContextManager:
    """Standard output into a :class:`TerminalBuffer` for the duration: building and running a fit as at a terminal."""
    return contextlib.redirect_stdout(TerminalBuffer())


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
    analysis: dict = field(default_factory=dict)
    ended: float = 0.0

    def first(self, metric: str, threshold: float) -> dict | None:
        """The first epoch record whose ``metric`` reached ``threshold``."""
        return next((record for record in self.epochs if record[metric] >= threshold), None)

    def process_seconds(self, record: dict) -> float:
        """Seconds from starting the child process to the end of the validation in ``record``."""
        return record["wall"] - self.started


def train_config(
    config: str, *overrides: str, stop_at: float | None = None, test: bool = True, analyze: int | None = None
) -> Run:
    """Train ``config`` with the CLI in a fresh process and return its per-epoch records and test metrics; with
    ``analyze``, also what ``analyze`` reports of the best checkpoint over its whole space (``analyze`` problems
    sampled from a space larger than that)."""
    command = [sys.executable, str(Path(__file__).resolve()), config, *overrides]
    if stop_at is not None:
        command.append(f"--stop_at={stop_at}")
    if not test:
        command.append("--no_test")
    if analyze is not None:
        command.append(f"--analyze={analyze}")
    run = Run(config=config, started=time.time())
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    run.ended = time.time()
    if result.returncode != 0:
        raise RuntimeError(f"training {config} failed:\n{result.stderr[-3000:]}")
    for line in result.stdout.splitlines():
        # The progress bar's carriage-return output may share a line with a record.
        if RECORD in line:
            record = json.loads(line.split(RECORD, 1)[1])
            if "analysis" in record:
                run.analysis = record["analysis"]
            else:
                (run.epochs.append if "epoch" in record else run.test.update)(record)
    return run


# The baseline that issue "Know addition" sets: what a competent engineer writes without this project.
TUNED_LOOP = {"batch_size": 512, "peak_lr": 0.02, "epochs": 12}


def tuned_loop(data: dict, epochs: int = TUNED_LOOP["epochs"]) -> list[dict]:
    """A plain PyTorch loop with a tuned one-cycle recipe: the same network, the problems of a config's ``data``
    section drawn as the reference draws them (its digits, sizes and seed; none of lit_addition's data options),
    PyTorch's default AdamW at batch 512, one-cycle to a peak of 0.02 over ``epochs`` epochs, the answer written as
    the reference writes it (most significant digit first). Validates after every epoch, like
    :class:`EpochRecorder`, and returns the same records: epoch, training seconds so far, ``val/seq_acc``."""
    import torch
    import torch.nn.functional as F

    from lit_addition import AdditionDataModule
    from lit_addition.network import AdditionLSTM
    from lit_addition.runtime.encoding import VOCAB_SIZE

    kept = ("digits", "num_samples", "val_fraction", "test_samples", "seed")
    reference_draw = {"both_orders": False, "uniform_share": 0.0, "carry_share": 0.0, "reverse_answer": False}
    problems = AdditionDataModule(**{name: data[name] for name in kept}, **reference_draw)
    problems.setup()
    train, val = problems.dataset("train"), problems.dataset("val")
    torch.manual_seed(data["seed"])
    net = AdditionLSTM(VOCAB_SIZE, problems.encoding.answer_length)
    optimizer = torch.optim.AdamW(net.parameters(), lr=TUNED_LOOP["peak_lr"])
    steps = epochs * -(-len(train) // TUNED_LOOP["batch_size"])
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=TUNED_LOOP["peak_lr"], total_steps=steps)
    records, seconds = [], 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        net.train()
        for index in torch.randperm(len(train)).split(TUNED_LOOP["batch_size"]):
            questions, answers = train[index]
            loss = F.cross_entropy(net(questions).transpose(1, 2), answers)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        seconds += time.perf_counter() - start
        net.eval()
        with torch.inference_mode():
            right = (net(val.questions).argmax(-1) == val.answers).all(-1).float().mean().item()
        records.append({"epoch": epoch, "train_s": seconds, "val/seq_acc": right})
    return records


def _child(argv: list[str]) -> None:
    from lit_addition.cli import build_cli

    options = {a.split("=", 1)[0]: a.split("=", 1)[-1] for a in argv if a.startswith(("--stop_at=", "--analyze="))}
    run_test = "--no_test" not in argv
    config, *overrides = [a for a in argv if a.split("=", 1)[0] not in options and a != "--no_test"]
    cli = build_cli(["--config", config, *overrides], run=False)
    stop_at = options.get("--stop_at")
    cli.trainer.callbacks.append(EpochRecorder(None if stop_at is None else float(stop_at)))
    cli.trainer.fit(cli.model, cli.datamodule)
    if run_test:
        (metrics,) = cli.trainer.test(cli.model, cli.datamodule, ckpt_path="best", verbose=False)
        print(RECORD + json.dumps({k: float(v) for k, v in metrics.items()}), flush=True)
    if "--analyze" in options:
        from lit_addition.evaluation import evaluate, summary
        from lit_addition.inference import CheckpointAdder

        best = cli.trainer.checkpoint_callback.best_model_path
        adder = CheckpointAdder.load(best)
        evaluation = evaluate(adder, adder.splits(), int(options["--analyze"]))
        report = {k: v for k, v in summary(evaluation).items() if k not in ("by_carry_chain", "by_digit_counts")}
        print(RECORD + json.dumps({"analysis": {"checkpoint": Path(best).name, **report}}), flush=True)


if __name__ == "__main__":
    _child(sys.argv[1:])
