"""What the tests share besides fixtures: the repository's paths and configs, the tiny run's arguments, the run that
must learn, and two ways to run the command line: :func:`run_cli` in a fresh process, as a user runs it, and
:func:`run_main` in this process (the ``run_main`` fixture of conftest.py), for everything that needs no process of
its own."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from lit_addition.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
CONFIGS = ROOT / "configs"

# A 2-digit run that takes seconds: 540 training problems, each in one order, are 9 steps an epoch at batch 64.
TINY = [
    *("--data.digits=2", "--data.num_samples=600", "--data.test_samples=50", "--data.batch_size=64"),
    "--data.both_orders=false",
]
STEPS_PER_EPOCH = 9

# The run that must learn, in seconds: the shipped 2-digit recipe (configs/2digit.yaml, as tuned) on 4,000 problems,
# 400 of them for validation, with 1,000 more held out for test.
LEARNING_RUN = [f"--config={CONFIGS / '2digit.yaml'}", "--data.num_samples=4000", "--data.test_samples=1000"]
# A run in this process that writes and prints nothing but its checkpoints.
QUIET = ["--trainer.logger=false", "--trainer.enable_progress_bar=false", "--samples.n=0"]


@contextlib.contextmanager
def a_taken_port() -> Iterator[int]:
    """A loopback port that something listens on, for as long as the block lasts."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def config(name: str) -> dict:
    """A shipped config, ``configs/<name>.yaml``, as YAML reads it."""
    return yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())


def with_probes() -> dict[str, str]:
    """This process's environment with tests/ on PYTHONPATH, so a child's ``--trainer.callbacks+=probes.X`` imports."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))}


def run_cli(*args: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    """``python -m lit_addition ARGS`` in a fresh process in ``cwd``, its output captured as text."""
    command = [sys.executable, "-m", "lit_addition", *args]
    return subprocess.run(command, cwd=cwd, env=with_probes(), capture_output=True, text=True, **kwargs)


@dataclass
class Ran:
    """How a command ended: its exit status and the lines it wrote to stdout and stderr."""

    status: int
    out: list[str]
    err: list[str]


def run_main(capsys: pytest.CaptureFixture, args: list[str], stdin: bytes | None = None) -> Ran:
    """``lit_addition.__main__.main(args)`` in this process, as the console script runs it; ``stdin`` replaces
    standard input (a pipe, not a terminal). An exception other than ``SystemExit`` propagates: a traceback."""
    capsys.readouterr()  # only this command's output
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    try:
        main(args)
        status = 0
    except SystemExit as exit:
        status = 0 if exit.code is None else exit.code
    finally:
        sys.stdin = saved
    captured = capsys.readouterr()
    return Ran(status, captured.out.splitlines(), captured.err.splitlines())


def recorded_fit(run_main, args: list[str], version: str, out: Path) -> dict:
    """``fit ARGS`` in this process into the logger version ``version``, its rank-0 record (probes.RecordRank) read
    back from ``out``."""
    ran = run_main("fit", *args, f"--trainer.logger.version={version}", "--trainer.callbacks+=probes.RecordRank",
                   f"--trainer.callbacks.out={out}")  # fmt: skip
    assert ran.status == 0, ran.err
    return json.loads((out / "rank0.json").read_text())


def cut_by_sigterm(args: list[str], version: str, step: int, cwd: Path) -> None:
    """``fit ARGS`` in a process of its own, sent SIGTERM after optimizer step ``step``, as a scheduler pre-empting a
    job would. Lightning stops gracefully (its SIGTERMException is a SystemExit without a code), saving last.ckpt."""
    cut = run_cli(
        *("fit", *args, f"--trainer.logger.version={version}"),
        *("--trainer.callbacks+=probes.SigtermAtStep", f"--trainer.callbacks.step={step}"),
        cwd=cwd,
    )
    assert cut.returncode == 0 and "Traceback" not in cut.stderr, cut.stderr


def refusal(ran: Ran) -> str:
    """The reason of a refused command, once it is known to have ended as every refusal must: exit status 2 and
    exactly one line on stderr, ``error: REASON``."""
    assert ran.status == 2, ran
    assert len(ran.err) == 1 and ran.err[0].startswith("error: "), ran.err
    return ran.err[0].removeprefix("error: ")


def assert_epoch_lines(lines: list[str], epochs: int) -> None:
    """One line per epoch, counted from 0 as Lightning's bar and the checkpoint names count them, each with its
    seconds and the epoch's figures, ``Epoch 0: 1.5 s, train/char_acc ..., val/seq_acc 0.0167`` (``train/loss``
    first when a step of the epoch logged it)."""
    printed = [line for line in lines if line.startswith("Epoch ")]
    assert [line.split(":")[0] for line in printed] == [f"Epoch {epoch}" for epoch in range(epochs)], printed
    figures = ", ".join(rf"{name} \d+\.\d{{4}}" for name in _EPOCH_FIGURES)
    assert all(re.fullmatch(rf"Epoch \d+: \d+\.\d s, (train/loss \d+\.\d{{4}}, )?{figures}", line) for line in printed)


_EPOCH_FIGURES = ("train/char_acc", "train/seq_acc", "val/loss", "val/char_acc", "val/seq_acc")
