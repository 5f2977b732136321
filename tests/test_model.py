"""The model: output shapes, the parameter count against the Keras reference, the decoder's constant input projected
once computing what ``nn.LSTM`` computes on the repeated vector, and ``train/loss`` logged on exactly the steps the
logger writes. (Checkpoints whose structure does not fit: test_checkpoints.py.)"""

import csv

import pytest
import torch
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.loggers import CSVLogger

from lit_addition import AdditionDataModule, AdditionModel
from lit_addition.network import AdditionLSTM, answer_loss
from lit_addition.runtime.encoding import VOCAB_SIZE

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


@pytest.mark.parametrize("num_layers", [1, 2])
def test_projecting_the_constant_input_once_is_the_lstm_on_the_repeated_vector(num_layers):
    """Same parameters (one state dict loads into both), same logits and same gradients on random questions, to
    float32 rounding; with biases and weights drawn wide enough that every gate is far from its resting value."""
    torch.manual_seed(num_layers)
    once = AdditionLSTM(VOCAB_SIZE, answer_length=4, hidden_size=32, num_layers=num_layers, project_once=True)
    with torch.no_grad():
        for parameter in once.parameters():
            parameter.uniform_(-0.5, 0.5)
    repeated = AdditionLSTM(VOCAB_SIZE, answer_length=4, hidden_size=32, num_layers=num_layers, project_once=False)
    repeated.load_state_dict(once.state_dict())  # strict: nn.LSTM's own parameters, checkpoints unchanged
    questions = torch.randint(0, VOCAB_SIZE, (64, 7))
    answers = torch.randint(0, VOCAB_SIZE, (64, 4))
    logits = {}
    for name, net in (("once", once), ("repeated", repeated)):
        logits[name] = net(questions)
        answer_loss(logits[name], answers).backward()
    assert logits["once"].abs().max() > 1  # far from a network that outputs next to nothing
    torch.testing.assert_close(logits["once"], logits["repeated"], atol=1e-6, rtol=1e-5)
    for (name, mine), theirs in zip(once.named_parameters(), repeated.parameters(), strict=True):
        torch.testing.assert_close(mine.grad, theirs.grad, atol=1e-6, rtol=1e-5, msg=name)


class LogEveryStep(Callback):
    """Logs a constant on every training step: the steps the logger writes it on are the steps the logger writes."""

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        pl_module.log("probe", 1.0)


def test_train_loss_is_logged_on_exactly_the_steps_the_logger_writes(tmp_path):
    """``AdditionModel`` logs ``train/loss`` only on the steps the logger writes (every ``log_every_n_steps``-th),
    since ``self.log`` costs a share of a step. Both the model's calls and the written rows are counted; nothing
    private to Lightning is named."""
    logged = []

    class Watched(AdditionModel):
        def log(self, name, value, *args, **kwargs):
            if name == "train/loss":
                logged.append(self.trainer.global_step)
            super().log(name, value, *args, **kwargs)

    data = AdditionDataModule(digits=2, num_samples=600, test_samples=50, batch_size=64)  # one order: 9 steps
    trainer = Trainer(max_epochs=1, log_every_n_steps=4, logger=CSVLogger(tmp_path), callbacks=[LogEveryStep()],
                      enable_progress_bar=False, enable_checkpointing=False, enable_model_summary=False,
                      limit_val_batches=0)  # fmt: skip
    trainer.fit(Watched(digits=2), data)
    with open(tmp_path / "lightning_logs" / "version_0" / "metrics.csv") as written:
        rows = list(csv.DictReader(written))
    steps_written = [row["step"] for row in rows if row.get("probe")]
    assert steps_written == ["3", "7"]  # steps 4 and 8 of 9, as the logger counts them
    assert [row["step"] for row in rows if row.get("train/loss")] == steps_written
    assert logged == [3, 7]  # and the model called self.log on those steps only
