"""Shared fixtures: a small 2-digit data module, set up once per test that asks for it, a real checkpoint of a
small trained model, written once per session, that model exported, the command line run in this process
(``run_main``), and a CPU without a bfloat16 LSTM. Helpers that are not fixtures are in helpers.py."""

from collections.abc import Callable
from pathlib import Path

import lightning as L
import pytest
import torch
from helpers import Ran
from helpers import run_main as run_main_here
from lightning.pytorch.callbacks import ModelCheckpoint

from lit_addition import AdditionDataModule, AdditionModel
from lit_addition.__main__ import main
from lit_addition.network import cpu_lstm_runs

# The answers are written units first, as every shipped config writes them (the class default is the reference's).
TRAINED_DATA = {"digits": 2, "num_samples": 2_000, "test_samples": 1_000, "batch_size": 64, "seed": 5,
                "reverse_answer": True}  # fmt: skip
TRAINED_MODEL = {"digits": 2, "reverse_answer": True, "hidden_size": 64, "learning_rate": 0.02}
# What oneDNN says on a CPU without bfloat16 instructions (AMD Zen 3, for one) when asked for a bfloat16 LSTM.
ONEDNN_REFUSAL = "could not create a primitive descriptor for the LSTM forward propagation primitive"


@pytest.fixture
def small_data() -> AdditionDataModule:
    # One order per problem, so that a split's tensors are its drawn problems; tests of both_orders turn it on.
    data = AdditionDataModule(
        digits=2, num_samples=2_000, val_fraction=0.1, test_samples=500, batch_size=64, seed=3, both_orders=False
    )
    data.setup("fit")
    return data


@pytest.fixture
def run_main(capsys, monkeypatch, tmp_path) -> Callable[..., Ran]:
    """Runs ``lit_addition.__main__.main([...])`` in this process, in ``tmp_path`` (where ``fit`` writes its
    ``logs/``): ``run_main("fit", *args, stdin=None)`` returns the exit status and the stdout and stderr lines."""
    monkeypatch.chdir(tmp_path)
    return lambda *args, stdin=None: run_main_here(capsys, list(args), stdin)


def train_tiny(root: Path, name: str, **layout: bool) -> Path:
    """``root/<name>.ckpt``: the model of ``TRAINED_MODEL`` fitted to ``TRAINED_DATA`` for four epochs, with the
    question ``layout`` (``interleave=True``, say) given to both, as the command line links it."""
    L.seed_everything(0, verbose=False)
    trainer = L.Trainer(
        max_epochs=4,
        logger=False,
        callbacks=[ModelCheckpoint(dirpath=root, filename=name)],
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=root,
    )
    trainer.fit(AdditionModel(**TRAINED_MODEL, **layout), AdditionDataModule(**TRAINED_DATA, **layout))
    return root / f"{name}.ckpt"


@pytest.fixture(scope="session")
def checkpoint_path(tmp_path_factory) -> Path:
    """A checkpoint written by ``fit`` with its data module, as a user's would be: a 2-digit model trained for a
    few seconds of CPU. It is far from accurate, which suits tests that compare two ways of answering: its
    answers, right or wrong, must agree."""
    return train_tiny(tmp_path_factory.mktemp("trained"), "tiny")


@pytest.fixture(scope="session")
def interleaved_checkpoint_path(tmp_path_factory) -> Path:
    """The same, with the operands' digits written in turns (``data.interleave``)."""
    return train_tiny(tmp_path_factory.mktemp("trained"), "turns", interleave=True)


@pytest.fixture(scope="session")
def trained_data() -> dict:
    """The data module arguments the session's checkpoint was trained with, for tests that rebuild its data."""
    return dict(TRAINED_DATA)


@pytest.fixture(scope="session")
def exported(checkpoint_path, tmp_path_factory) -> Path:
    """The session's checkpoint exported by the CLI into a folder that already held a file of the user's own."""
    folder = tmp_path_factory.mktemp("exported")
    (folder / "notes.txt").write_text("the user's own file\n")
    main(["export", "--ckpt_path", str(checkpoint_path), "--output", str(folder)])
    return folder


@pytest.fixture
def cpu_without_bf16(monkeypatch):
    """This process's CPU as one without bfloat16 instructions: the LSTM refuses bfloat16 as oneDNN does there.
    Yields oneDNN's message."""
    forward = torch.nn.LSTM.forward

    def refusing(self, input, hx=None):
        autocast_bf16 = torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
        if input.device.type == "cpu" and (input.dtype == torch.bfloat16 or autocast_bf16):
            raise RuntimeError(ONEDNN_REFUSAL)
        return forward(self, input, hx)

    cpu_lstm_runs.cache_clear()
    monkeypatch.setattr(torch.nn.LSTM, "forward", refusing)
    yield ONEDNN_REFUSAL
    cpu_lstm_runs.cache_clear()
