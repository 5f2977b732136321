"""Same seed, same run; and a run stopped mid-epoch then resumed with ``--ckpt_path last`` ends exactly where an
uninterrupted one does: same steps, same batches, same metrics, same weights."""

import json
import os
import subprocess
import sys
from pathlib import Path

import lightning as L
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lit_addition import AdditionDataModule, AdditionModel

PROBES = str(Path(__file__).parent)
# 540 training problems in batches of 64: 9 steps an epoch. The run is cut after step 4, in the middle of epoch 0.
TINY = [
    "--data.digits=2",
    "--data.num_samples=600",
    "--data.test_samples=50",
    "--data.batch_size=64",
    "--data.both_orders=false",  # one order per problem: 540 in batches of 64 are 9 steps an epoch
    "--trainer.max_epochs=2",
    "--trainer.log_every_n_steps=1",
    "--trainer.enable_progress_bar=false",
    "--samples.n=0",
]
STEPS_PER_EPOCH, CUT_AT = 9, 4


def fit(*args: str, cwd: Path, status: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [PROBES, os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-m", "lit_addition", "fit", *TINY, *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert result.returncode == status, result.stderr
    return result


def scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series in a run directory, all its event files together."""
    events = EventAccumulator(str(run_dir))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_run_resumed_mid_epoch_ends_exactly_like_an_uninterrupted_one(tmp_path):
    logs = tmp_path / "logs" / "addition"
    record = "--trainer.callbacks+=probes.RecordRank"
    fit("--trainer.logger.version=whole", record, f"--trainer.callbacks.out={tmp_path / 'whole'}", cwd=tmp_path)

    fit(
        "--trainer.logger.version=cut",
        "--trainer.callbacks+=probes.SigtermAtStep",
        f"--trainer.callbacks.step={CUT_AT}",
        cwd=tmp_path,
    )
    stopped = torch.load(logs / "cut" / "checkpoints" / "last.ckpt", weights_only=False)
    assert (stopped["epoch"], stopped["global_step"]) == (0, CUT_AT)
    assert stopped["loops"]["fit_loop"]["epoch_loop.batch_progress"]["current"]["completed"] == CUT_AT

    resumed = fit(
        "--trainer.logger.version=cut",
        "--ckpt_path=last",
        record,
        f"--trainer.callbacks.out={tmp_path / 'resumed'}",
        cwd=tmp_path,
    )
    assert "Restored all states from the checkpoint" in resumed.stdout + resumed.stderr

    whole, after = (json.loads((tmp_path / name / "rank0.json").read_text()) for name in ("whole", "resumed"))
    assert after["splits"] == whole["splits"]
    # The resumed run takes up epoch 0 at the batch after the cut, and then sees the same epoch 1.
    assert after["train"]["0"] == whole["train"]["0"][CUT_AT * 64 :]
    assert after["train"]["1"] == whole["train"]["1"]

    # Every logged series, steps and values, the interrupted epoch's training accuracies included.
    expected = scalars(logs / "whole")
    assert {"train/loss", "train/char_acc", "val/seq_acc", "val/pos_acc/0", "lr-AdamW"} <= expected.keys()
    assert len(expected["train/loss"]) == 2 * STEPS_PER_EPOCH
    assert scalars(logs / "cut") == expected

    final = {
        name: torch.load(logs / name / "checkpoints" / "last.ckpt", weights_only=False) for name in ("whole", "cut")
    }
    assert final["cut"]["global_step"] == final["whole"]["global_step"] == 2 * STEPS_PER_EPOCH
    weights = final["whole"]["state_dict"]
    assert all(torch.equal(final["cut"]["state_dict"][name], value) for name, value in weights.items())

    # The rerun into the same directory replaced config.yaml with its own, rather than refusing to start.
    assert yaml.safe_load((logs / "cut" / "config.yaml").read_text())["ckpt_path"] == "last"


def test_resuming_a_run_that_ended_at_max_steps_is_refused_with_one_line(tmp_path):
    fit("--trainer.logger.version=short", f"--trainer.max_steps={CUT_AT}", cwd=tmp_path)
    result = fit("--trainer.logger.version=short", "--ckpt_path=last", cwd=tmp_path, status=2)
    assert "Traceback" not in result.stderr
    expected = f"error: the checkpoint's one-cycle schedule spans {CUT_AT} steps, but this run is set up for 18"
    assert result.stderr.strip().splitlines()[-1].startswith(expected)


def train_twice_with_one_seed() -> list[tuple[dict, dict]]:
    runs = []
    for _ in range(2):
        L.seed_everything(7, verbose=False)
        data = AdditionDataModule(digits=2, num_samples=2_000, test_samples=100, batch_size=64, seed=3)
        model = AdditionModel(digits=2)
        trainer = L.Trainer(
            max_epochs=2,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
        trainer.fit(model, data)
        runs.append((dict(trainer.callback_metrics), model.state_dict()))
    return runs


def test_two_runs_with_the_same_seed_agree_exactly():
    (metrics, weights), (metrics_again, weights_again) = train_twice_with_one_seed()
    assert metrics.keys() == metrics_again.keys() and "val/seq_acc" in metrics
    assert all(torch.equal(metrics[name], metrics_again[name]) for name in metrics)
    assert all(torch.equal(weights[name], weights_again[name]) for name in weights)


def test_a_training_step_draws_no_random_numbers(small_data):
    """Nothing in a step is random (no dropout, a fixed order), so a resumed run needs no saved random state."""
    model = AdditionModel(digits=2)
    optimizer = torch.optim.AdamW(model.parameters())
    before = torch.get_rng_state()
    loss = model._shared_step(small_data.dataset("train")[0:64], "train")  # the step, without a trainer to log to
    loss.backward()
    optimizer.step()
    assert torch.equal(torch.get_rng_state(), before)
