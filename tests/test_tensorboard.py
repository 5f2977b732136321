"""What a user sees in TensorBoard after ``fit`` and ``test``, read back with TensorBoard's own event reader."""

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from lit_addition.cli import build_cli

TINY = [
    *("--data.digits=2", "--data.num_samples=600", "--data.test_samples=50", "--data.batch_size=64"),
    "--data.both_orders=false",
]
EPOCHS, STEPS_PER_EPOCH, POSITIONS = 2, 9, 3  # 540 training problems in batches of 64; 2-digit sums have 3 places


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A real fit and test through the CLI; returns the event reader and the trainer's own final metrics."""
    save_dir = tmp_path_factory.mktemp("tb")
    cli = build_cli(
        [
            *("fit", *TINY, f"--trainer.max_epochs={EPOCHS}", f"--trainer.logger.init_args.save_dir={save_dir}"),
            *("--trainer.log_every_n_steps=1", "--trainer.enable_progress_bar=false"),
        ]
    )
    fitted = {name: value.item() for name, value in cli.trainer.callback_metrics.items()}
    (tested,) = cli.trainer.test(cli.model, cli.datamodule, verbose=False)
    events = EventAccumulator(cli.trainer.log_dir)
    events.Reload()
    return events, fitted, tested


def last(events: EventAccumulator, tag: str) -> float:
    return events.Scalars(tag)[-1].value


def test_every_stage_logs_loss_and_both_accuracies_with_the_trainers_values(run):
    events, fitted, tested = run
    positions = [f"pos_acc/{i}" for i in range(POSITIONS)]
    for stage, names in (("train", []), ("val", positions), ("test", positions)):
        for name in ["loss", "char_acc", "seq_acc", *names]:
            assert f"{stage}/{name}" in events.Tags()["scalars"]
    assert len(events.Scalars("train/loss")) == EPOCHS * STEPS_PER_EPOCH  # every step
    assert len(events.Scalars("val/seq_acc")) == EPOCHS  # every epoch
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


def test_learning_rate_per_step_and_samples_text_per_epoch(run):
    events, _, _ = run
    assert len(events.Scalars("lr-AdamW")) == EPOCHS * STEPS_PER_EPOCH
    samples = events.Tensors("val/samples/text_summary")
    assert len(samples) == EPOCHS
    lines = samples[-1].tensor_proto.string_val[0].decode().splitlines()
    assert len(lines) == 10 and all(line.startswith("    Q ") for line in lines)


def test_hparams_panel_holds_the_hyperparameters_and_final_metrics(run):
    events, fitted, _ = run
    content = events.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
    hparams = {key: value.number_value or value.string_value for key, value in start.hparams.items()}
    assert {"digits": 2, "batch_size": 64, "global_batch_size": 64, "data_parallel_ranks": 1}.items() <= hparams.items()
    assert hparams["precision"] == "32-true" and hparams["lr_schedule"] == "onecycle"
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    metrics = {info.name.tag for info in experiment.metric_infos}
    assert {"hp/val/seq_acc", "hp/val/char_acc", "hp/val/loss", "hp/val/pos_acc/2", "hp/train/loss"} <= metrics
    assert "hp_metric" not in events.Tags()["scalars"]  # no -1 placeholder
    assert last(events, "hp/val/seq_acc") == last(events, "val/seq_acc") == pytest.approx(fitted["val/seq_acc"], abs=0)
