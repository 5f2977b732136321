"""The command line end to end: a real ``fit`` in a temporary directory, and one-line errors for bad configs."""

import subprocess
import sys
from pathlib import Path

import pytest
from lightning.pytorch.callbacks import ProgressBar, RichProgressBar, TQDMProgressBar
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lit_addition.callbacks import EpochLines
from lit_addition.cli import build_cli

TINY = ["--data.digits=2", "--data.num_samples=600", "--data.test_samples=50", "--data.batch_size=64"]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lit_addition", *args], cwd=cwd, capture_output=True, text=True)


def test_fit_writes_checkpoints_config_and_tensorboard_events(tmp_path):
    result = run_cli(
        "fit",
        *TINY,
        "--trainer.max_epochs=2",
        "--trainer.log_every_n_steps=1",
        "--trainer.enable_progress_bar=false",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "logs" / "addition" / "version_0"
    checkpoints = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert "last.ckpt" in checkpoints
    assert any(name.startswith("epoch") and "seq_acc" in name for name in checkpoints)
    assert (run_dir / "config.yaml").is_file()
    events = EventAccumulator(str(run_dir))
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"train/loss", "train/char_acc", "val/loss", "val/char_acc", "val/seq_acc", "lr-AdamW"} <= scalars
    # Once per epoch, at the index of its last step: 540 problems in both orders (the default), 1,080 (or a few fewer
    # where a+b is b+a), in batches of 64 are 17 steps an epoch.
    assert [e.step for e in events.Scalars("val/seq_acc")] == [16, 33]
    assert "val/samples/text_summary" in events.Tags()["tensors"]
    assert result.stdout.count("\nQ ") + result.stdout.startswith("Q ") == 20  # 10 samples per epoch


def test_validate_from_the_checkpoint_reproduces_the_logged_metric(tmp_path):
    assert run_cli("fit", *TINY, "--trainer.max_epochs=1", cwd=tmp_path).returncode == 0
    run_dir = tmp_path / "logs" / "addition" / "version_0"
    events = EventAccumulator(str(run_dir))
    events.Reload()
    logged = events.Scalars("val/seq_acc")[-1].value
    cli = build_cli([*TINY, "--trainer.logger=false", f"--trainer.default_root_dir={tmp_path}"], run=False)
    (metrics,) = cli.trainer.validate(cli.model, cli.datamodule, ckpt_path=run_dir / "checkpoints" / "last.ckpt")
    assert metrics["val/seq_acc"] == pytest.approx(logged, abs=0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data.digits=2"], "only 5,050 distinct problems exist"),
        (["--data.val_fraction=0"], "val_fraction must lie strictly between 0 and 1"),
        (["--data.digits=12"], "digits must be a whole number from 1 to 9"),
    ],
)
def test_impossible_config_fails_with_one_line_and_status_2(tmp_path, args, message):
    result = run_cli("fit", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"error: {result.stderr.split('error: ', 1)[1].strip()}"
    assert message in result.stderr


def test_checkpoint_of_other_digits_is_refused_with_one_line(tmp_path):
    assert run_cli("fit", *TINY, "--trainer.max_epochs=1", cwd=tmp_path).returncode == 0
    checkpoint = tmp_path / "logs" / "addition" / "version_0" / "checkpoints" / "last.ckpt"
    result = run_cli("validate", "--data.digits=3", f"--ckpt_path={checkpoint}", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    expected = "error: the checkpoint does not match the config: it was trained with digits=2 (config has 3)"
    assert expected in result.stderr


def test_checkpointing_switched_off_drops_both_checkpoint_sections(tmp_path):
    cli = build_cli(
        [*TINY, "--trainer.enable_checkpointing=false", f"--trainer.default_root_dir={tmp_path}"], run=False
    )
    assert cli.trainer.checkpoint_callbacks == []
    kept = build_cli([*TINY, f"--trainer.default_root_dir={tmp_path}"], run=False).trainer.checkpoint_callbacks
    assert [c.monitor for c in kept] == ["val/loss", None]  # the best by val/loss, and last.ckpt


def test_progress_bar_section_redraws_every_20_steps_and_gives_way(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)  # the live bar is for a terminal
    root = f"--trainer.default_root_dir={tmp_path}"
    bar = build_cli([*TINY, root], run=False).trainer.progress_bar_callback
    assert isinstance(bar, TQDMProgressBar) and bar.refresh_rate == 20
    assert (
        build_cli([*TINY, root, "--progress_bar.refresh_rate=1"], run=False).trainer.progress_bar_callback.refresh_rate
        == 1
    )
    assert (
        build_cli([*TINY, root, "--trainer.enable_progress_bar=false"], run=False).trainer.progress_bar_callback is None
    )
    own = build_cli([*TINY, root, "--trainer.callbacks=RichProgressBar"], run=False).trainer
    assert [type(c) for c in own.callbacks if isinstance(c, ProgressBar)] == [RichProgressBar]
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    assert isinstance(build_cli([*TINY, root], run=False).trainer.progress_bar_callback, EpochLines)
