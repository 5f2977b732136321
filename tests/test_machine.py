"""Flags this machine cannot honour end in one line; capabilities are probed; a log file gets clean lines.

The misconfigurations run as a user runs them, in a subprocess, and each must end with exit status 2 and exactly one
line on stderr, ``error: ...``, naming the flag. The bfloat16 paths run on every machine: where the CPU has a
bfloat16 LSTM, the fixture ``cpu_without_bf16`` (conftest.py) makes it refuse bfloat16 as CPUs without one do.
"""

import re
import subprocess
import sys

import pytest
import torch

from lit_addition import AdditionModel
from lit_addition.__main__ import main
from lit_addition.callbacks import SamplePredictions
from lit_addition.cli import build_cli, one_line
from lit_addition.machine import check_trainer_flags, cpu_cores, given_flags
from lit_addition.network import cpu_lstm_runs
from lit_addition.runtime.errors import InputError

TINY = ["--data.digits=2", "--data.num_samples=600", "--data.test_samples=50", "--data.batch_size=64"]


def run_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lit_addition", *args], cwd=cwd, capture_output=True, text=True)


MISCONFIGURATIONS = {
    "gpu without CUDA": (["--trainer.accelerator=gpu"], "--trainer.accelerator gpu cannot run here"),
    "16-mixed on CPU": (
        ["--trainer.accelerator=cpu", "--trainer.precision=16-mixed"],
        "--trainer.precision 16-mixed cannot run here: Lightning would run bf16-mixed instead",
    ),
    "fsdp on CPU": (
        ["--trainer.accelerator=cpu", "--trainer.strategy=fsdp"],
        "--trainer.strategy fsdp cannot run here",
    ),
    "more CPU devices than cores": (
        ["--trainer.accelerator=cpu", f"--trainer.devices={cpu_cores() + 1}"],
        f"asks for {cpu_cores() + 1} CPU processes, but this machine has {cpu_cores()} CPU core(s)",
    ),
    "unknown precision": (["--trainer.precision=15"], "--trainer.precision 15 is not one of 64, 32, 16,"),
    "unknown strategy": (["--trainer.strategy=nosuch"], "--trainer.strategy nosuch cannot run here"),
    "CPU devices as a list": (["--trainer.devices=[0, 1]"], "drop --trainer.devices (here Lightning then picks 1)"),
}


@pytest.mark.parametrize(("args", "message"), MISCONFIGURATIONS.values(), ids=MISCONFIGURATIONS.keys())
def test_a_flag_this_machine_cannot_honour_ends_in_one_line(tmp_path, args, message):
    if "gpu" in " ".join(args) and torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU, so --trainer.accelerator gpu is not a misconfiguration here")
    result = run_cli("fit", *TINY, *args, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("error: ") and message in line
    assert not (tmp_path / "logs").exists()  # refused before anything was written


def test_the_fix_names_what_lightning_picks_without_the_flag():
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    with pytest.raises(InputError) as refusal:
        check_trainer_flags({"accelerator": "gpu", "max_epochs": 3}, AdditionModel(digits=2))
    assert str(refusal.value).endswith("drop --trainer.accelerator (here Lightning then picks cpu)")
    assert "no CUDA GPU" in str(refusal.value)


def test_only_flags_that_differ_from_the_trainers_defaults_are_blamed():
    section = {"accelerator": "gpu", "devices": "auto", "max_epochs": 8, "callbacks": [object()], "logger": {}}
    assert given_flags(section) == {"accelerator": "gpu", "max_epochs": 8}


def test_a_jsonargparse_error_becomes_one_line():
    message = (
        'Parser key "trainer.max_epochs":\n  Does not validate against any of the Union subtypes\n'
        "  Subtypes: [<class 'int'>, <class 'NoneType'>]\n  Errors:\n    - Expected a <class 'int'>\n"
        "  Given value type: <class 'str'>\n  Given value: abc"
    )
    assert one_line(message) == "--trainer.max_epochs abc is not one of a whole number, null"
    assert one_line("unrecognized arguments:\n  --data.digitz 3") == "unrecognized arguments: --data.digitz 3"


def test_a_bug_of_ours_keeps_its_traceback(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug in lit_addition")

    monkeypatch.setattr(SamplePredictions, "on_validation_epoch_end", broken)
    with pytest.raises(ZeroDivisionError):
        main(
            ["fit", *TINY, "--trainer.max_epochs=1", "--trainer.logger=false", f"--trainer.default_root_dir={tmp_path}"]
        )


def test_a_model_that_fails_in_float32_too_is_not_blamed_on_the_precision(monkeypatch):
    model = AdditionModel(digits=2)
    monkeypatch.setattr(model.net, "forward", lambda ids: (_ for _ in ()).throw(RuntimeError("a bug of ours")))
    with pytest.raises(RuntimeError, match="a bug of ours"):
        check_trainer_flags({"precision": "bf16-mixed"}, model)


def test_without_a_bfloat16_lstm_bf16_mixed_runs_the_lstms_in_float32(cpu_without_bf16, tmp_path):
    assert not cpu_lstm_runs(torch.bfloat16)
    cli = build_cli(
        [*TINY, "--trainer.precision=bf16-mixed", "--trainer.max_epochs=2", "--trainer.logger=false",
         "--trainer.enable_progress_bar=false", "--samples.n=0", f"--trainer.default_root_dir={tmp_path}"],
        run=False,
    )  # fmt: skip
    cli.trainer.fit(cli.model, cli.datamodule)
    assert cli.trainer.current_epoch == 2 and torch.isfinite(cli.trainer.callback_metrics["val/loss"])
    dtypes = []
    cli.model.net.encoder.register_forward_hook(lambda module, inputs, output: dtypes.append(output[0].dtype))
    with cli.trainer.precision_plugin.forward_context():
        logits = cli.model(cli.datamodule.dataset("val").questions[:8])
    assert dtypes == [torch.float32] and logits.dtype == torch.bfloat16  # the LSTMs in float32, the head in bf16


def test_without_a_bfloat16_lstm_bf16_true_is_refused_with_one_line(cpu_without_bf16):
    with pytest.raises(InputError) as refusal:
        check_trainer_flags({"precision": "bf16-true"}, AdditionModel(digits=2))
    reason = cpu_without_bf16  # what oneDNN says on such a CPU
    assert str(refusal.value).startswith(f"--trainer.precision bf16-true cannot run this model on this CPU: {reason}")
    assert "no bfloat16 LSTM" in str(refusal.value)


@pytest.mark.parametrize("ranks", [1, 2], ids=["one process", "two DDP ranks"])
def test_a_log_file_gets_one_line_per_epoch_and_whole_sample_lines(tmp_path, ranks):
    log = tmp_path / "train.log"
    with log.open("w") as output:
        distributed = ["--trainer.accelerator=cpu", f"--trainer.devices={ranks}", "--trainer.strategy=ddp"]
        command = [sys.executable, "-m", "lit_addition", "fit", *TINY, "--trainer.max_epochs=2"]
        result = subprocess.run(
            [*command, *(distributed if ranks > 1 else [])], cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT
        )
    assert result.returncode == 0, log.read_text()
    text = log.read_text(encoding="utf-8")
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    epochs = [line for line in lines if line.startswith("Epoch ")]
    assert [line.split(":")[0] for line in epochs] == ["Epoch 1/2", "Epoch 2/2"]
    assert all(re.search(r": \d+\.\d s, train/char_acc .* val/seq_acc \d\.\d{4}$", line) for line in epochs)
    samples = [line for line in lines if " T " in line]
    assert len(samples) == 20 and all(re.match(r"Q \d+\+\d+ +T \d+ +[☑☒]", line) for line in samples)
    assert "LeafSpec" not in text and "Tip:" not in text
