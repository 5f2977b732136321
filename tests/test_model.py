"""The model: output shapes, the parameter count against the Keras reference, and checkpoint mismatch errors."""

import csv

import pytest
import torch
from lightning.pytorch import Trainer
from lightning.pytorch.loggers import CSVLogger

from lit_addition import AdditionDataModule, AdditionModel, InputError

KERAS_PARAMETERS_AT_3_DIGITS = 205_324
EXTRA_LSTM_BIASES = 2 * 4 * 128  # bias_hh of the encoder and of the decoder


@pytest.mark.parametrize("digits", [1, 2, 3, 5])
def test_logits_have_one_row_per_answer_character(digits):
    model = AdditionModel(digits=digits)
    questions = torch.randint(0, 12, (7, 2 * digits + 1))
    assert model(questions).shape == (7, digits + 1, 12)


def test_parameter_count_is_keras_plus_the_second_lstm_bias():
    model = AdditionModel(digits=3)
    assert sum(p.numel() for p in model.parameters()) == KERAS_PARAMETERS_AT_3_DIGITS + EXTRA_LSTM_BIASES == 206_348


def test_decoder_layers_stack():
    one, two = AdditionModel(num_layers=1), AdditionModel(num_layers=2)
    added = sum(p.numel() for p in two.parameters()) - sum(p.numel() for p in one.parameters())
    assert added == 4 * 128 * (128 + 128) + 2 * 4 * 128


def test_checkpoint_from_another_digit_count_is_refused_by_name():
    checkpoint = {"hyper_parameters": dict(AdditionModel(digits=2).hparams)}
    with pytest.raises(InputError, match=r"trained with digits=2 \(config has 3\)"):
        AdditionModel(digits=3).on_load_checkpoint(checkpoint)


def test_checkpoint_with_matching_structure_is_accepted():
    checkpoint = {"hyper_parameters": {**AdditionModel(digits=3).hparams, "learning_rate": 0.5}}
    AdditionModel(digits=3).on_load_checkpoint(checkpoint)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"hidden_size": 0}, "hidden_size must be at least 1"), ({"warmup_fraction": 1.0}, "warmup_fraction")],
)
def test_bad_model_arguments_are_refused(kwargs, message):
    with pytest.raises(InputError, match=message):
        AdditionModel(**kwargs)


def test_the_private_lightning_name_the_training_step_relies_on(tmp_path):
    """``AdditionModel`` logs ``train/loss`` only on the steps Lightning's logger writes, which it learns from the
    private ``trainer._logger_connector.should_update_logs``: it saved 12% of a step (scripts/ablations.py). If
    Lightning renames or changes it, this test says so here rather than deep inside a fit."""
    connector = type(Trainer()._logger_connector)
    assert isinstance(getattr(connector, "should_update_logs", None), property), (
        "Lightning no longer has trainer._logger_connector.should_update_logs: update AdditionModel._logs_this_step"
    )

    class Watched(AdditionModel):
        def _logs_this_step(self) -> bool:
            asked.append((self.trainer.global_step, super()._logs_this_step()))
            return asked[-1][1]

    asked: list[tuple[int, bool]] = []
    data = AdditionDataModule(digits=2, num_samples=600, test_samples=50, batch_size=64, both_orders=False)  # 9 steps
    trainer = Trainer(max_epochs=1, log_every_n_steps=4, logger=CSVLogger(tmp_path), enable_progress_bar=False,
                      enable_checkpointing=False, enable_model_summary=False, limit_val_batches=0)  # fmt: skip
    trainer.fit(Watched(digits=2), data)
    assert [step for step, logs in asked if logs] == [3, 7]  # steps 4 and 8, as the logger counts them
    with open(tmp_path / "lightning_logs" / "version_0" / "metrics.csv") as written:
        assert [row["step"] for row in csv.DictReader(written) if row.get("train/loss")] == ["3", "7"]
