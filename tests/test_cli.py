"""The command line end to end, in this process: a real ``fit`` and what it writes (checkpoints, config.yaml,
TensorBoard events, the sample lines), ``validate`` from its checkpoint, the callback sections, the entry point's
commands, and bad input ending in exactly one line, ``error: ...``, and exit status 2, with nothing written: values
jsonargparse refuses by their type, sizes that cannot be drawn, an unknown command, the optimiser flags the CLI does
not offer. A bug of ours keeps its traceback. (Flags this machine cannot honour: test_machine.py; bad checkpoints:
test_checkpoints.py.)"""

import contextlib
import inspect
import io
import re
import sys

import pytest
import torch
import yaml
from helpers import TINY, config, refusal
from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import ProgressBar, RichProgressBar, TQDMProgressBar
from lightning.pytorch.cli import LightningCLI
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lit_addition.__main__ import main
from lit_addition.callbacks import EpochLines, SamplePredictions
from lit_addition.cli import build_cli
from lit_addition.commands import COMMANDS, TRAINER_COMMANDS

EPOCHS = 2


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """``python -m lit_addition fit`` of the tiny run for two epochs, in this process, in a folder of its own; returns
    the run's directory and what it printed."""
    root = tmp_path_factory.mktemp("fit")
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.chdir(root)
        main(["fit", *TINY, f"--trainer.max_epochs={EPOCHS}", "--trainer.log_every_n_steps=1",
              "--trainer.enable_progress_bar=false", "--model.lr_schedule=onecycle"])  # fmt: skip
    name = config("3digit")["trainer"]["logger"]["init_args"]["name"]  # the default config's logger
    return root / "logs" / name / "version_0", printed.getvalue()


def test_fit_writes_checkpoints_config_and_tensorboard_events(fitted):
    run_dir, printed = fitted
    checkpoints = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert "last.ckpt" in checkpoints
    assert any(name.startswith("epoch") and "seq_acc" in name for name in checkpoints)
    events = EventAccumulator(str(run_dir))
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"train/loss", "train/char_acc", "val/loss", "val/char_acc", "val/seq_acc", "train/lr"} <= scalars
    assert "time/train_s" in scalars and not any(tag.startswith("hp/") for tag in scalars)
    # Once per epoch, at the index of its last step (9 steps an epoch), and the final value once more at the final
    # step, where the run summary gives it to the HParams tab.
    logged = events.Scalars("val/seq_acc")
    assert [e.step for e in logged] == [8, 17, 18] and logged[-1].value == logged[-2].value
    assert "val/samples/text_summary" in events.Tags()["tensors"]
    assert sum(line.startswith("Q ") for line in printed.splitlines()) == 10 * EPOCHS  # 10 samples per epoch


def test_the_runs_config_yaml_rebuilds_the_runs_model_and_data(fitted, tmp_path):
    run_dir, _ = fitted
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["data"]["num_samples"] == 600 and saved["trainer"]["max_epochs"] == EPOCHS
    for name in inspect.signature(Trainer.fit).parameters:  # fit's own arguments: the rest is what any command takes
        saved.pop(name, None)
    (tmp_path / "again.yaml").write_text(yaml.safe_dump(saved))
    again = build_cli(
        ["--config", str(tmp_path / "again.yaml"), "--trainer.logger=false", f"--trainer.default_root_dir={tmp_path}"],
        run=False,
    )
    contents = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert _ours(again.model.hparams) == _ours(contents["hyper_parameters"])
    assert _ours(again.datamodule.hparams) == _ours(contents["datamodule_hyper_parameters"])


def _ours(hparams) -> dict:
    return {name: value for name, value in dict(hparams).items() if not name.startswith("_")}


def test_validate_from_the_checkpoint_reproduces_the_logged_metric(fitted, tmp_path):
    run_dir, _ = fitted
    events = EventAccumulator(str(run_dir))
    events.Reload()
    logged = events.Scalars("val/seq_acc")[-1].value
    cli = build_cli([*TINY, "--trainer.logger=false", f"--trainer.default_root_dir={tmp_path}"], run=False)
    (metrics,) = cli.trainer.validate(cli.model, cli.datamodule, ckpt_path=run_dir / "checkpoints" / "last.ckpt")
    assert metrics["val/seq_acc"] == pytest.approx(logged, abs=0)


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
    redrawn = build_cli([*TINY, root, "--progress_bar.refresh_rate=1"], run=False).trainer.progress_bar_callback
    assert redrawn.refresh_rate == 1
    assert (
        build_cli([*TINY, root, "--trainer.enable_progress_bar=false"], run=False).trainer.progress_bar_callback is None
    )
    own = build_cli([*TINY, root, "--trainer.callbacks=RichProgressBar"], run=False).trainer
    assert [type(c) for c in own.callbacks if isinstance(c, ProgressBar)] == [RichProgressBar]
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    assert isinstance(build_cli([*TINY, root], run=False).trainer.progress_bar_callback, EpochLines)


def test_the_entry_point_offers_lightnings_commands_and_ours(capsys):
    assert set(COMMANDS) == {"answer", "export", "analyze", "demo", "serve"}
    assert tuple(LightningCLI.subcommands()) == TRAINER_COMMANDS  # named without importing Lightning
    with pytest.raises(SystemExit) as exit:
        main(["--help"])
    assert exit.value.code == 0
    help_text = capsys.readouterr().out
    assert "{fit,validate,test,predict}" in help_text  # LightningCLI owns everything but our commands
    assert "Commands that use a trained model: answer, export, analyze, demo, serve." in help_text
    with pytest.raises(SystemExit):
        main(["answer", "--help"])
    assert "--ckpt_path" in capsys.readouterr().out


def restriction(key: str, kind: str, value: str, rule: str) -> str:
    """jsonargparse's refusal of a value outside its restricted type, on one line, as the entry point prints it."""
    return f'Parser key "{key}": Not of type {kind}: {value} does not conform to restriction {rule}: see python -m ' \
        "lit_addition fit --help"  # fmt: skip


# Every value a signature's type refuses, the flag as given and jsonargparse's whole line.
OUT_OF_RANGE = {
    "val_fraction 0": (
        "--data.val_fraction=0", restriction("data.val_fraction", "OpenUnitInterval", "0", "v>0 and v<1"),
    ),
    "val_fraction 1": (
        "--data.val_fraction=1", restriction("data.val_fraction", "OpenUnitInterval", "1", "v>0 and v<1"),
    ),
    "num_samples 0": ("--data.num_samples=0", restriction("data.num_samples", "PositiveInt", "0", "v>0")),
    "test_samples -1": ("--data.test_samples=-1", restriction("data.test_samples", "NonNegativeInt", "-1", "v>=0")),
    "uniform_share 2": (
        "--data.uniform_share=2", restriction("data.uniform_share", "ClosedUnitInterval", "2", "v>=0 and v<=1"),
    ),
    "carry_share -0.5": (
        "--data.carry_share=-0.5", restriction("data.carry_share", "ClosedUnitInterval", "-0.5", "v>=0 and v<=1"),
    ),
    "batch_size 0": ("--data.batch_size=0", restriction("data.batch_size", "PositiveInt", "0", "v>0")),
    "eval_batch_size 0": ("--data.eval_batch_size=0", restriction("data.eval_batch_size", "PositiveInt", "0", "v>0")),
    "num_workers -1": ("--data.num_workers=-1", restriction("data.num_workers", "NonNegativeInt", "-1", "v>=0")),
    "hidden_size 0": ("--model.hidden_size=0", restriction("model.hidden_size", "PositiveInt", "0", "v>0")),
    "num_layers 0": ("--model.num_layers=0", restriction("model.num_layers", "PositiveInt", "0", "v>0")),
    "learning_rate 0": ("--model.learning_rate=0", restriction("model.learning_rate", "PositiveFloat", "0", "v>0")),
    "weight_decay -0.1": (
        "--model.weight_decay=-0.1", restriction("model.weight_decay", "NonNegativeFloat", "-0.1", "v>=0"),
    ),
    "warmup_fraction 1": (
        "--model.warmup_fraction=1", restriction("model.warmup_fraction", "OpenUnitInterval", "1", "v>0 and v<1"),
    ),
}  # fmt: skip


@pytest.mark.parametrize(("flag", "line"), OUT_OF_RANGE.values(), ids=OUT_OF_RANGE.keys())
def test_a_value_outside_its_type_is_jsonargparses_message_on_one_line(run_main, tmp_path, flag, line):
    assert refusal(run_main("fit", *TINY, flag)) == line
    assert not (tmp_path / "logs").exists()


# Requests each value of which is fine but that cannot be drawn together, or at all (the messages' starts).
IMPOSSIBLE = {
    "more problems than exist": (
        ["--data.digits=2"],  # the default config's 50,000 + 5,000 problems
        "num_samples + test_samples = 50,000 + 5,000 = 55,000, but only 5,050 distinct problems exist with up to 2 "
        "digit(s) per operand (a+b and b+a count once): lower num_samples or test_samples",
    ),
    "no validation problem": (
        [*TINY, "--data.num_samples=3"],
        "num_samples=3 with val_fraction=0.1 leaves 0 validation and 3 training problems; both need at least one",
    ),
    "no training problem": (
        [*TINY, "--data.num_samples=2", "--data.val_fraction=0.9"],
        "num_samples=2 with val_fraction=0.9 leaves 2 validation and 0 training problems; both need at least one",
    ),
    "digits 12": (["--data.digits=12"], "digits must be a whole number from 1 to 9, got 12"),
    "more memory than free": (
        ["--data.digits", "7", "--data.num_samples", "100000000000"],
        "100,000,005,000 problems (num_samples + test_samples) need about ",
    ),
}


@pytest.mark.parametrize(("args", "start"), IMPOSSIBLE.values(), ids=IMPOSSIBLE.keys())
def test_a_request_that_cannot_be_drawn_is_refused_in_one_line(run_main, tmp_path, args, start):
    assert refusal(run_main("fit", *args)).startswith(start)
    assert not (tmp_path / "logs").exists()


def test_the_memory_refusal_says_what_is_needed_what_is_free_and_what_to_lower(run_main):
    reason = refusal(run_main("fit", "--data.digits", "7", "--data.num_samples", "100000000000"))
    pattern = (
        r"100,000,005,000 problems \(num_samples \+ test_samples\) need about ([\d,.]+) GiB of memory to draw and "
        r"encode, but this machine has ([\d,.]+) GiB free: lower data.num_samples"
    )
    needed, free = (float(number.replace(",", "")) for number in re.fullmatch(pattern, reason).groups())
    assert needed > free >= 0


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["fti"], "no command 'fti': choose one of fit, validate, test, predict, answer, export, analyze, demo, serve"),
        (["fit", *TINY, "--optimizer", "SGD"], "unrecognized arguments: --optimizer SGD: see python -m lit_addition "
         "fit --help"),
        (["fit", *TINY, "--lr_scheduler", "StepLR"], "unrecognized arguments: --lr_scheduler StepLR: see python -m "
         "lit_addition fit --help"),
        (["fit", *TINY, "--trainer.max_epochs=abc"], 'Parser key "trainer.max_epochs": Does not validate against any '
         "of the Union subtypes Subtypes: [<class 'int'>, <class 'NoneType'>] Errors: - Expected a <class 'int'> - "
         "Expected a <class 'NoneType'> Given value type: <class 'str'> Given value: abc: see python -m lit_addition "
         "fit --help"),
    ],
    ids=["unknown command", "--optimizer", "--lr_scheduler", "not a number"],
)  # fmt: skip
def test_what_the_cli_does_not_offer_is_refused_in_one_line(run_main, tmp_path, args, line):
    assert refusal(run_main(*args)) == line
    assert not (tmp_path / "logs").exists()


def test_a_bug_of_ours_keeps_its_traceback(run_main, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug in lit_addition")

    monkeypatch.setattr(SamplePredictions, "on_validation_epoch_end", broken)
    with pytest.raises(ZeroDivisionError, match="a bug in lit_addition"):
        run_main("fit", *TINY, "--trainer.max_epochs=1", "--trainer.logger=false")
