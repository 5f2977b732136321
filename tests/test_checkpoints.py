"""Bad checkpoints, once for every way in: each kind of bad file gets its own one-line message from the inference
core (``load_file`` reads, ``check_ours`` checks, ``read_checkpoint`` and ``CheckpointAdder.load`` do both), every
command that takes ``--ckpt_path`` ends in that one line with exit status 2, and a checkpoint whose structure does
not fit the config is refused by name while one that differs only in how it was trained loads."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import TINY, refusal
from lightning.pytorch import Trainer

import lit_addition.commands
from lit_addition import AdditionDataModule, AdditionModel, InputError
from lit_addition.commands import COMMANDS, TRAINER_COMMANDS
from lit_addition.inference import CheckpointAdder, check_ours, load_file, read_checkpoint
from lit_addition.network import STRUCTURAL_HPARAMS

HOW_TO_GET_ONE = "pass a .ckpt file that `python -m lit_addition fit` wrote (under logs/*/version_*/checkpoints/)"
NOT_OURS = (
    "is a PyTorch file but not a lit_addition checkpoint (it lacks the model's hyperparameters digits, reverse, "
    f"reverse_answer, hidden_size, num_layers or its weights): {HOW_TO_GET_ONE}"
)
SOME_PROBLEMS = ["0+0", "99+99", "35+61", "7+8"]
UNREADABLE = "cannot be read ({}): it is truncated, corrupt, or more than a weights-only PyTorch file; "
UNREADABLE += HOW_TO_GET_ONE


def bad_files(good: Path) -> dict:
    """Each way a checkpoint can be wrong: how to make it at a path, and the message after ``checkpoint PATH `` (or
    after ``PATH `` where the file is a PyTorch file, only not ours); ``*`` stands for torch's own reason."""
    contents = torch.load(good, weights_only=True)
    other_width = {**contents, "hyper_parameters": {**contents["hyper_parameters"], "hidden_size": 32}}
    no_width = {**contents, "hyper_parameters": {**contents["hyper_parameters"], "hidden_size": 0}}
    return {
        "missing": (None, "does not exist: " + HOW_TO_GET_ONE),
        "directory": (lambda p: p.mkdir(), "is a directory: " + HOW_TO_GET_ONE),
        "empty": (lambda p: p.write_bytes(b""), "is empty: " + HOW_TO_GET_ONE),
        "truncated": (lambda p: p.write_bytes(good.read_bytes()[:50_000]), UNREADABLE.format("*")),  # reason: the cut
        "random bytes": (lambda p: p.write_bytes(np.random.default_rng(0).bytes(5_000)),
                         UNREADABLE.format("Weights only load failed")),
        "pickled module": (lambda p: torch.save(torch.nn.Linear(2, 2), p),
                           UNREADABLE.format("Weights only load failed")),
        "foreign tensors": (lambda p: torch.save({"weight": torch.zeros(3)}, p), NOT_OURS),
        "another project's checkpoint": (lambda p: torch.save({"state_dict": {}, "hyper_parameters": {"lr": 0.1}}, p),
                                         NOT_OURS),
        "weights of another shape": (lambda p: torch.save(other_width, p), "holds weights that do not fit its own "
                                     "hyperparameters (Error(s) in loading state_dict for AdditionLSTM): "
                                     + HOW_TO_GET_ONE),
        "a width of zero": (lambda p: torch.save(no_width, p),
                            f"holds weights that do not fit its own hyperparameters (*): {HOW_TO_GET_ONE}"),
    }  # fmt: skip


KINDS = [
    "missing", "directory", "empty", "truncated", "random bytes", "pickled module", "foreign tensors",
    "another project's checkpoint", "weights of another shape", "a width of zero",
]  # fmt: skip


def made(kind: str, good: Path, folder: Path) -> tuple[Path, str]:
    """A bad file of ``kind`` in ``folder``, and the whole message it must get, as a regular expression."""
    make, message = bad_files(good)[kind]
    path = folder / "model.ckpt"
    if make is not None:
        make(path)
    start = f"{path} " if message == NOT_OURS else f"checkpoint {path} "
    return path, re.escape(start + message).replace(r"\*", "[^\n]+")


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_bad_file_gets_its_own_line_from_the_inference_core(kind, checkpoint_path, tmp_path):
    path, message = made(kind, checkpoint_path, tmp_path)
    with pytest.raises(InputError) as refused:
        CheckpointAdder.load(path)
    assert re.fullmatch(message, str(refused.value)), str(refused.value)


def test_load_file_reads_any_weights_only_file_and_check_ours_refuses_what_is_not_ours(checkpoint_path, tmp_path):
    torch.save({"weight": torch.arange(3)}, tmp_path / "foreign.ckpt")
    assert torch.equal(load_file(tmp_path / "foreign.ckpt")["weight"], torch.arange(3))
    with pytest.raises(InputError, match=rf"^the file {re.escape(NOT_OURS)}$"):
        check_ours(load_file(tmp_path / "foreign.ckpt"), "the file")
    with pytest.raises(InputError, match=rf"^{re.escape(str(tmp_path / 'foreign.ckpt'))} {re.escape(NOT_OURS)}$"):
        read_checkpoint(tmp_path / "foreign.ckpt")
    ours = read_checkpoint(checkpoint_path)  # the two together, on one of ours
    assert check_ours(ours, checkpoint_path) is ours
    assert ours["hyper_parameters"]["digits"] == 2 and ours["datamodule_hyper_parameters"]["seed"] == 5
    assert all(t.device.type == "cpu" for t in ours["state_dict"].values())


# What each command needs besides --ckpt_path to get as far as reading it. Lightning's commands take the tiny data.
COMMAND_ARGS = {
    "answer": ["1+1"],
    "export": ["--output", "out"],
    "analyze": ["--output", "out"],
    "demo": [],
    "serve": [],
    **{command: [*TINY, "--trainer.logger=false"] for command in ("validate", "test", "predict")},
}
# serve exists where the serving work has landed; test it with the others then.
SERVE = Path(lit_addition.commands.__file__).with_name("serve.py").exists()
CHECKPOINT_COMMANDS = [c for c in ("answer", "export", "analyze", "demo", "serve", "validate", "test", "predict")
                       if c != "serve" or SERVE]  # fmt: skip
WAYS_WRONG = ["missing", "random bytes", "foreign tensors"]  # missing, corrupt, a PyTorch file that is not ours


def test_every_command_that_takes_a_checkpoint_is_covered():
    assert set(CHECKPOINT_COMMANDS) == {*COMMANDS, *TRAINER_COMMANDS} - {"fit"}


@pytest.mark.parametrize("kind", WAYS_WRONG)
@pytest.mark.parametrize("command", CHECKPOINT_COMMANDS)
def test_every_command_refuses_a_bad_checkpoint_in_one_line(command, kind, run_main, checkpoint_path, tmp_path):
    path, message = made(kind, checkpoint_path, tmp_path)
    reason = refusal(run_main(command, f"--ckpt_path={path}", *COMMAND_ARGS[command]))
    assert re.fullmatch(message, reason), reason
    # Nothing written (no out/, no logs/), but for the config.yaml that Lightning's commands save before they read a
    # checkpoint at a path that does not exist.
    written = {p.name for p in tmp_path.iterdir()} - {"model.ckpt"}
    assert written <= ({"config.yaml"} if command in TRAINER_COMMANDS else set()), written


def test_a_checkpoint_of_another_structure_is_refused_by_name(run_main, checkpoint_path, tmp_path):
    """The config's digits and layout (the default config's: 3, in turns) and the checkpoint's (2, not) differ: the
    model names each clash."""
    reason = refusal(run_main("validate", f"--ckpt_path={checkpoint_path}", "--trainer.logger=false"))
    assert reason == (
        "the checkpoint does not match the config: it was trained with digits=2 (config has 3), interleave=False "
        "(config has True); set those values (data.* for digits and reversal, model.* for the network) to the "
        "checkpoint's"
    )
    assert not (tmp_path / "logs").exists()


def structure(checkpoint: dict) -> dict:
    """The model arguments that decide a checkpoint's shapes and text, as the checkpoint records them."""
    return {name: checkpoint["hyper_parameters"][name] for name in STRUCTURAL_HPARAMS}


def test_a_structural_clash_is_refused_by_the_model_whoever_loads_it(checkpoint_path):
    saved = torch.load(checkpoint_path, weights_only=True)
    clashes = {"digits": 3, "reverse": False, "reverse_answer": False, "zero_pad": True, "interleave": True,
               "hidden_size": 32, "num_layers": 2}  # fmt: skip
    assert clashes.keys() == set(STRUCTURAL_HPARAMS)
    for name, value in clashes.items():
        model = AdditionModel(**{**structure(saved), name: value})
        named = re.escape(f"{name}={saved['hyper_parameters'][name]!r} (config has {value!r}); ")
        with pytest.raises(InputError, match=f"^the checkpoint does not match the config: it was trained with {named}"):
            model.on_load_checkpoint(saved)


def test_a_checkpoint_that_differs_only_in_training_settings_loads_its_weights(checkpoint_path, trained_data, tmp_path):
    """Written before ``project_once`` existed, with another learning rate: the structure fits, so it loads."""
    saved = torch.load(checkpoint_path, weights_only=True)
    older = {name: value for name, value in saved["hyper_parameters"].items() if name != "project_once"}
    torch.save({**saved, "hyper_parameters": {**older, "learning_rate": 0.5}}, tmp_path / "older.ckpt")
    model = AdditionModel(**structure(saved), learning_rate=0.001)
    trainer = Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path)
    trainer.validate(model, AdditionDataModule(**trained_data), ckpt_path=tmp_path / "older.ckpt", verbose=False)
    weights = model.state_dict()
    assert all(torch.equal(weights[name], value) for name, value in saved["state_dict"].items())
    assert model.hparams.learning_rate == 0.001  # the config's: only the weights come from the file
    assert CheckpointAdder.load(tmp_path / "older.ckpt").net.project_once  # what every checkpoint before it ran


@pytest.mark.parametrize("field", ["zero_pad", "interleave"])
def test_a_checkpoint_written_before_an_encoding_field_existed_reads_as_without_it(field, checkpoint_path, tmp_path):
    saved = torch.load(checkpoint_path, weights_only=True)
    assert saved["hyper_parameters"].pop(field) is False
    old = tmp_path / "old.ckpt"
    torch.save(saved, old)
    adder = CheckpointAdder.load(old)
    assert adder.hparams[field] is False and getattr(adder.encoding, field) is False
    assert adder.answer(SOME_PROBLEMS) == CheckpointAdder.load(checkpoint_path).answer(SOME_PROBLEMS)
