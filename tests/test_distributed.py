"""Two CPU ranks under DDP, launched as a user would (by Lightning itself, or by torchrun as on a cluster): one
split everywhere, a shard of it per rank, validation that matches a single process exactly, output written once,
and, standard output being a pipe, one clean line per epoch from rank 0 alone."""

import json
import re
import subprocess
import sys

import pytest
import yaml
from helpers import assert_epoch_lines, with_probes
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lit_addition import AdditionDataModule
from lit_addition.cli import build_cli

# 549 training problems: 274 per rank (one sits out each epoch), 5 batches of up to 64. 61 validation problems:
# 30 and 31 per rank, 3 and 4 batches of up to 10, so the ranks run different numbers of validation steps.
# One order per problem, so that the two shards are the training split halved.
DATA = {
    "digits": 2,
    "num_samples": 610,
    "test_samples": 50,
    "batch_size": 64,
    "eval_batch_size": 10,
    "both_orders": False,
}
ARGS = [f"--data.{name}={value}" for name, value in DATA.items()]
EPOCHS = 2


def questions(data: AdditionDataModule, split: str) -> list[str]:
    return [f"{a}+{b}" for a, b in data.problems(split)]


LAUNCHERS = {
    "lightning": [sys.executable, "-m", "lit_addition"],  # Lightning starts the second process itself
    "torchrun": [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2", "-m", "lit_addition"],
}


@pytest.mark.parametrize(
    ("launcher", "strategy"),
    [
        ("lightning", "ddp"),
        pytest.param("lightning", "ddp_spawn", marks=pytest.mark.slow),
        pytest.param("torchrun", "ddp", marks=pytest.mark.slow),
    ],
)
def test_two_cpu_ranks_share_the_work_and_agree_with_one_process(tmp_path, launcher, strategy):
    command = [
        *LAUNCHERS[launcher],
        *("fit", *ARGS, f"--trainer.max_epochs={EPOCHS}"),
        *("--trainer.accelerator=cpu", "--trainer.devices=2", f"--trainer.strategy={strategy}"),
        *("--trainer.callbacks+=probes.RecordRank", f"--trainer.callbacks.out={tmp_path / 'ranks'}"),
    ]
    result = subprocess.run(command, cwd=tmp_path, env=with_probes(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr

    # The data module the command line builds from these arguments, in one process.
    cli = build_cli([*ARGS, "--trainer.logger=false", f"--trainer.default_root_dir={tmp_path}"], run=False)
    data = cli.datamodule
    data.setup()
    ranks = [json.loads((tmp_path / "ranks" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [(r["rank"], r["world_size"]) for r in ranks] == [(0, 2), (1, 2)]
    for split in ("train", "val", "test"):  # every rank drew the same split, the one a single process draws
        assert ranks[0]["splits"][split] == ranks[1]["splits"][split] == [list(p) for p in data.problems(split)]

    train, val = questions(data, "train"), questions(data, "val")
    for epoch in map(str, range(EPOCHS)):
        shares = [r["train"][epoch] for r in ranks]
        assert len(shares[0]) == len(shares[1]) == len(train) // 2
        assert not set(shares[0]) & set(shares[1])  # each rank trains on its own shard
        assert set(shares[0]) | set(shares[1]) <= set(train)
        seen = [r["val"][epoch] for r in ranks]
        assert (len(seen[0]), len(seen[1])) == (30, 31)
        assert seen[0] + seen[1] == val  # the whole validation split, once, nothing padded in

    # Written once: one run directory, one event file, one config, the two checkpoints, ten samples an epoch.
    (run_dir,) = (tmp_path / "logs").glob("*/*")
    assert len(list(run_dir.glob("events.out.tfevents.*"))) == 1
    assert sorted(p.name for p in run_dir.iterdir() if p.suffix == ".yaml") == ["config.yaml", "hparams.yaml"]
    checkpoints = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert len(checkpoints) == 2 and checkpoints[1] == "last.ckpt" and checkpoints[0].startswith("epoch")
    lines = result.stdout.splitlines()
    samples = [line for line in lines if line.startswith("Q ")]
    assert len(samples) == 10 * EPOCHS and all(re.match(r"Q \d+\+\d+ +T \d+ +[☑☒]", line) for line in samples)
    # Standard output is a pipe, not a terminal: one line per epoch instead of a live bar, printed by rank 0 only.
    assert "\r" not in result.stdout and "\x1b" not in result.stdout
    assert_epoch_lines(lines, epochs=EPOCHS)
    if strategy != "ddp_spawn":  # spawned ranks are fresh interpreters that the CLI's warning filters never reach
        assert "LeafSpec" not in result.stdout + result.stderr and "Tip:" not in result.stdout + result.stderr

    hparams = yaml.safe_load((run_dir / "hparams.yaml").read_text())
    assert (hparams["batch_size"], hparams["data_parallel_ranks"], hparams["global_batch_size"]) == (64, 2, 128)
    assert "Global batch: 128 problems per optimizer step" in result.stdout + result.stderr

    # The metrics logged by the two ranks together equal one process validating the same weights.
    events = EventAccumulator(str(run_dir))
    events.Reload()
    (single,) = cli.trainer.validate(cli.model, cli.datamodule, ckpt_path=run_dir / "checkpoints" / "last.ckpt")
    exact = ["val/seq_acc", "val/char_acc"] + [f"val/pos_acc/{i}" for i in range(3)]
    assert {tag: events.Scalars(tag)[-1].value for tag in exact} == {tag: single[tag] for tag in exact}
    assert events.Scalars("val/loss")[-1].value == pytest.approx(single["val/loss"], rel=1e-6)
