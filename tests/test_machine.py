"""Trainer flags this machine cannot honour end in one line, ``error: ...``, naming the flag, the machine and the fix,
with exit status 2 and nothing written: Lightning's own refusals, turned into one line by ``machine.refusal``, and
the two precision rules Lightning lacks (``machine.check_precision``). They run in this process through
``lit_addition.__main__.main``; one runs as a user runs it, in a fresh process. Also: oversubscribed CPU DDP is
allowed, the bfloat16 fallback trains, and a log file (not a terminal) gets one clean line per epoch.

The bfloat16 paths run on every machine: where the CPU has a bfloat16 LSTM, the fixture ``cpu_without_bf16``
(conftest.py) makes it refuse bfloat16 as CPUs without one do.
"""

import re
import subprocess
import sys

import pytest
import torch
from helpers import QUIET, TINY, assert_epoch_lines, refusal, run_cli
from lightning.fabric.utilities.exceptions import MisconfigurationException

from lit_addition.cli import build_cli
from lit_addition.machine import check_precision, cpu_cores, describe
from lit_addition.machine import refusal as machine_refusal
from lit_addition.network import cpu_lstm_runs
from lit_addition.runtime.errors import InputError

THIS_MACHINE = f"[this machine: {describe()}]"
NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU, which these flags can use")

# Flags, and the start and end of the line they get (the middle is Lightning's reason, and this machine).
MISCONFIGURATIONS = {
    "gpu without one": pytest.param(
        ["--trainer.accelerator=gpu"],
        "--trainer.accelerator gpu cannot run here: No supported gpu backend found! ",
        ": drop --trainer.accelerator: auto picks what it has",
        marks=NO_GPU,
    ),
    "fsdp on a CPU": (
        ["--trainer.accelerator=cpu", "--trainer.strategy=fsdp"],
        "--trainer.strategy fsdp cannot run here: The strategy `fsdp` requires a GPU accelerator",
        ": drop --trainer.strategy, or use ddp, which also runs on CPUs",
    ),
    "an unknown strategy": (
        ["--trainer.strategy=nosuch"],
        "--trainer.strategy nosuch cannot run here: You selected an invalid strategy name: `strategy='nosuch'`",
        ": drop --trainer.strategy, or use ddp, which also runs on CPUs",
    ),
    "CPU devices as a list": (
        ["--trainer.accelerator=cpu", "--trainer.devices=[0, 1]"],
        "--trainer.devices [0, 1] cannot run here: `devices` selected with `CPUAccelerator` should be an int > 0",
        ": give --trainer.devices a number of processes (1, 2, ...) or auto",
    ),
    "16-mixed on a CPU": (
        ["--trainer.accelerator=cpu", "--trainer.precision=16-mixed"],
        "--trainer.precision 16-mixed cannot run on a CPU: Lightning would train in bf16-mixed instead ",
        ": ask for --trainer.precision bf16-mixed or 32-true",
    ),
    "16-true without a float16 LSTM": pytest.param(
        ["--trainer.accelerator=cpu", "--trainer.precision=16-true"],
        "--trainer.precision 16-true cannot run this model on this CPU: it has no float16 LSTM ",
        ": use 32-true, or bf16-mixed, which runs the LSTMs in float32 here",
        marks=pytest.mark.skipif(cpu_lstm_runs(torch.float16), reason="this CPU has a float16 LSTM"),
    ),
}


@pytest.mark.parametrize(("args", "start", "end"), MISCONFIGURATIONS.values(), ids=MISCONFIGURATIONS.keys())
def test_a_flag_this_machine_cannot_honour_ends_in_one_line(run_main, tmp_path, args, start, end):
    reason = refusal(run_main("fit", *TINY, *args))
    assert reason.startswith(start) and reason.endswith(f" {THIS_MACHINE}{end}"), reason
    assert not (tmp_path / "logs").exists()  # refused before anything was written


def test_bf16_true_without_a_bfloat16_lstm_ends_in_one_line(run_main, tmp_path, cpu_without_bf16):
    reason = refusal(run_main("fit", *TINY, "--trainer.accelerator=cpu", "--trainer.precision=bf16-true"))
    assert reason == (
        "--trainer.precision bf16-true cannot run this model on this CPU: it has no bfloat16 LSTM "
        f"[this machine: {describe()}]: use 32-true, or bf16-mixed, which runs the LSTMs in float32 here"
    )
    assert "without a bfloat16 LSTM" in reason  # describe() probes the same (refusing) CPU
    assert not (tmp_path / "logs").exists()


def test_a_refusal_is_one_line_on_the_real_stderr_of_a_fresh_process(tmp_path):
    """As a user runs it: nothing but the line on stderr, however Lightning's logging is set up outside pytest."""
    result = run_cli("fit", *TINY, "--trainer.accelerator=cpu", "--trainer.strategy=fsdp", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: --trainer.strategy fsdp cannot run here: ")
    assert line.endswith(": drop --trainer.strategy, or use ddp, which also runs on CPUs")
    assert list(tmp_path.iterdir()) == []


@NO_GPU
@pytest.mark.parametrize("accelerator", [None, "auto", "cpu"])
def test_check_precision_refuses_16_mixed_wherever_the_run_lands_on_the_cpu(accelerator):
    with pytest.raises(InputError, match=r"^--trainer.precision 16-mixed cannot run on a CPU: "):
        check_precision({"accelerator": accelerator, "precision": "16-mixed"})


BF16_LSTM = pytest.mark.skipif(not cpu_lstm_runs(torch.bfloat16), reason="this CPU has no bfloat16 LSTM")


@pytest.mark.parametrize("precision", ["32-true", "64-true", "bf16-mixed", pytest.param("bf16-true", marks=BF16_LSTM)])
def test_a_precision_this_cpu_trains_in_gets_its_trainer(precision, tmp_path):
    cli = build_cli(
        [*TINY, "--trainer.accelerator=cpu", f"--trainer.precision={precision}", "--trainer.logger=false",
         f"--trainer.default_root_dir={tmp_path}"],
        run=False,
    )  # fmt: skip
    assert cli.trainer.precision == precision


@NO_GPU
def test_a_gpu_runs_precision_is_left_to_lightning(run_main, cpu_without_bf16):
    """The CPU's LSTMs say nothing about a GPU's: what Lightning refuses here is the accelerator."""
    for precision in ("16-mixed", "bf16-true", "16-true"):
        reason = refusal(run_main("fit", *TINY, "--trainer.accelerator=gpu", f"--trainer.precision={precision}"))
        assert reason.startswith("--trainer.accelerator gpu cannot run here: "), reason


@pytest.mark.parametrize(
    ("error", "flags", "start", "fix"),
    [
        (MisconfigurationException("The strategy `deepspeed` requires a GPU."), {"strategy": "deepspeed"},
         "--trainer.strategy deepspeed cannot run here: The strategy `deepspeed` requires a GPU ",
         "drop --trainer.strategy, or use ddp, which also runs on CPUs"),
        (ValueError("`devices` selected with `CPUAccelerator` should be an int > 0."), {"devices": "0,1"},
         "--trainer.devices 0,1 cannot run here: `devices` selected with `CPUAccelerator` should be an int > 0 ",
         "give --trainer.devices a number of processes (1, 2, ...) or auto"),
        (ValueError("`num_nodes` must be a positive integer, but got 0."), {"num_nodes": 0},
         "--trainer.num_nodes 0 cannot run here: `num_nodes` must be a positive integer, but got 0 ",
         "give --trainer.num_nodes 1 or more"),
        (MisconfigurationException("MPSAccelerator can not run on your system\nsince it is not available."),
         {"accelerator": "mps"}, "--trainer.accelerator mps cannot run here: MPSAccelerator can not run on your system "
         "since it is not available ", "drop --trainer.accelerator: auto picks what it has"),
    ],
    ids=["strategy", "devices", "num_nodes", "accelerator"],
)  # fmt: skip
def test_a_lightning_refusal_names_the_flag_it_is_about_and_its_fix(error, flags, start, fix):
    line = str(machine_refusal(error, flags))
    assert line == f"{start}{THIS_MACHINE}: {fix}" and "\n" not in line


def test_a_refusal_about_no_flag_in_particular_still_is_one_line_with_its_reason():
    line = str(machine_refusal(TypeError("got an unexpected keyword argument\n'x'"), {}))
    assert line == f"the trainer flags cannot run here: got an unexpected keyword argument 'x' {THIS_MACHINE}"


def test_more_cpu_processes_than_cores_is_allowed(tmp_path):
    """Oversubscribed CPU DDP is legitimate (a test of a multi-rank run on a laptop, for one)."""
    devices = cpu_cores() + 1
    cli = build_cli(
        [*TINY, "--trainer.accelerator=cpu", f"--trainer.devices={devices}", "--trainer.strategy=ddp",
         "--trainer.logger=false", f"--trainer.default_root_dir={tmp_path}"],
        run=False,
    )  # fmt: skip
    assert (cli.trainer.num_devices, cli.trainer.world_size) == (devices, devices)


def test_without_a_bfloat16_lstm_bf16_mixed_runs_the_lstms_in_float32(cpu_without_bf16, tmp_path):
    assert not cpu_lstm_runs(torch.bfloat16)
    cli = build_cli(
        [*TINY, *QUIET, "--trainer.precision=bf16-mixed", "--trainer.max_epochs=2",
         f"--trainer.default_root_dir={tmp_path}"],
        run=False,
    )  # fmt: skip
    cli.trainer.fit(cli.model, cli.datamodule)
    assert cli.trainer.current_epoch == 2 and torch.isfinite(cli.trainer.callback_metrics["val/loss"])
    dtypes = []
    cli.model.net.encoder.register_forward_hook(lambda module, inputs, output: dtypes.append(output[0].dtype))
    with cli.trainer.precision_plugin.forward_context():
        logits = cli.model(cli.datamodule.dataset("val").questions[:8])
    assert dtypes == [torch.float32] and logits.dtype == torch.bfloat16  # the LSTMs in float32, the head in bf16


def test_a_log_file_gets_one_line_per_epoch_and_whole_sample_lines(tmp_path):
    """Standard output to a file, as under a scheduler: the real file descriptor is the point, so a fresh process.
    (Two DDP ranks writing to a pipe: test_distributed.py.)"""
    log = tmp_path / "train.log"
    with log.open("w") as output:
        command = [sys.executable, "-m", "lit_addition", "fit", *TINY, "--trainer.max_epochs=2"]
        result = subprocess.run(command, cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT)
    assert result.returncode == 0, log.read_text()
    text = log.read_text(encoding="utf-8")
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert_epoch_lines(lines, epochs=2)
    samples = [line for line in lines if " T " in line]
    assert len(samples) == 20 and all(re.match(r"Q \d+\+\d+ +T \d+ +[☑☒]", line) for line in samples)
    assert "LeafSpec" not in text and "Tip:" not in text
