"""What a user sees in TensorBoard after ``fit`` and ``test``, read back with TensorBoard's own event reader: every
stage's loss and accuracies at the trainer's values, the learning rate (``train/lr``) per step, the training time
(``time/train_s``) per epoch, the sample text, and the HParams tab, whose metrics are the runs' own scalars."""

import pytest
from helpers import STEPS_PER_EPOCH, TINY
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from lit_addition.cli import build_cli

EPOCHS, POSITIONS = 2, 3  # 2-digit sums have 3 places
FINAL_STEP = EPOCHS * STEPS_PER_EPOCH  # where the run summary gives the HParams tab each metric's final value


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A real fit and test through the CLI; returns the event reader and the trainer's own final metrics."""
    save_dir = tmp_path_factory.mktemp("tb")
    cli = build_cli(
        [
            *("fit", *TINY, f"--trainer.max_epochs={EPOCHS}", f"--trainer.logger.init_args.save_dir={save_dir}"),
            *("--trainer.log_every_n_steps=1", "--trainer.enable_progress_bar=false"),
            "--model.lr_schedule=onecycle",  # a schedule, so that the rate changes from step to step
        ]
    )
    fitted = {name: value.item() for name, value in cli.trainer.callback_metrics.items()}
    (tested,) = cli.trainer.test(cli.model, cli.datamodule, verbose=False)
    events = EventAccumulator(cli.trainer.log_dir)
    events.Reload()
    return events, fitted, tested


def last(events: EventAccumulator, tag: str) -> float:
    return events.Scalars(tag)[-1].value


def as_logged(events: EventAccumulator, tag: str) -> list:
    """A series as the run logged it, without the run summary's copy of its final value at the final step."""
    series = events.Scalars(tag)
    assert series[-1].step == FINAL_STEP and series[-1].value == series[-2].value  # the copy: same value, last
    return series[:-1]


def test_every_stage_logs_loss_and_both_accuracies_with_the_trainers_values(run):
    events, fitted, tested = run
    positions = [f"pos_acc/{i}" for i in range(POSITIONS)]
    for stage, names in (("train", []), ("val", positions), ("test", positions)):
        for name in ["loss", "char_acc", "seq_acc", *names]:
            assert f"{stage}/{name}" in events.Tags()["scalars"]
    assert [e.step for e in as_logged(events, "train/loss")] == list(range(EPOCHS * STEPS_PER_EPOCH))  # every step
    assert [e.step for e in as_logged(events, "val/seq_acc")] == [STEPS_PER_EPOCH * (e + 1) - 1 for e in range(EPOCHS)]
    for tag in ("val/seq_acc", "val/char_acc", "val/loss", "train/char_acc"):
        assert last(events, tag) == pytest.approx(fitted[tag], abs=0)  # float32 both sides: exactly equal
    for tag in ("test/seq_acc", "test/char_acc", "test/pos_acc/0"):
        assert last(events, tag) == pytest.approx(tested[tag], abs=0)


@pytest.mark.parametrize("stage", ["val", "test"])
def test_position_accuracies_agree_with_char_and_seq_acc(run, stage):
    events, _, _ = run
    for index, char_acc in enumerate(events.Scalars(f"{stage}/char_acc")):
        positions = [events.Scalars(f"{stage}/pos_acc/{i}")[index].value for i in range(POSITIONS)]
        assert sum(positions) / POSITIONS == pytest.approx(char_acc.value, abs=1e-6)  # answers all have 3 places
        assert events.Scalars(f"{stage}/seq_acc")[index].value <= min(positions)  # right overall: right everywhere


def test_learning_rate_per_step_training_time_per_epoch_and_samples_text_per_epoch(run):
    events, fitted, _ = run
    rates = as_logged(events, "train/lr")
    assert [e.step for e in rates] == list(range(EPOCHS * STEPS_PER_EPOCH))
    peak = max(e.value for e in rates)
    assert rates[0].value < peak and rates[-1].value < peak  # one cycle: up, then down
    seconds = as_logged(events, "time/train_s")
    assert len(seconds) == EPOCHS and 0 < seconds[0].value < seconds[1].value == pytest.approx(
        fitted["time/train_s"], abs=0
    )
    samples = events.Tensors("val/samples/text_summary")
    assert len(samples) == EPOCHS
    lines = samples[-1].tensor_proto.string_val[0].decode().splitlines()
    assert len(lines) == 10 and all(line.startswith("    Q ") for line in lines)


def test_hparams_panel_holds_the_hyperparameters_and_the_runs_own_metrics(run):
    events, fitted, _ = run
    content = events.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
    hparams = {key: value.number_value or value.string_value for key, value in start.hparams.items()}
    assert {"digits": 2, "batch_size": 64, "global_batch_size": 64, "data_parallel_ranks": 1}.items() <= hparams.items()
    assert hparams["precision"] == "32-true" and hparams["lr_schedule"] == "onecycle"  # the default config's
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    metrics = {info.name.tag for info in experiment.metric_infos}
    assert {"val/seq_acc", "val/char_acc", "val/loss", "val/pos_acc/2", "train/loss", "time/train_s"} <= metrics
    assert metrics <= set(events.Tags()["scalars"])  # each one a chart the run already has: none of their own
    assert not any(tag.startswith("hp/") or tag == "hp_metric" for tag in events.Tags()["scalars"])
    assert last(events, "val/seq_acc") == pytest.approx(fitted["val/seq_acc"], abs=0)
