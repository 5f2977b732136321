"""What this machine is, probed rather than assumed, and the rules for trainer flags that Lightning itself lacks.

Lightning refuses most flags a machine cannot honour when the CLI builds the real Trainer (``accelerator gpu``
without a GPU, ``fsdp`` on a CPU, an unknown strategy); :func:`refusal` turns its exception into one line with the
machine's description and a fix. :func:`check_precision` adds, before the Trainer is built, the two rules Lightning
lacks: ``16-mixed`` on a CPU, which Lightning silently turns into ``bf16-mixed``, and a precision in which this CPU
has no LSTM (oneDNN has no bfloat16 LSTM without AVX512-BF16 or AMX: probed, never read from the CPU's name).
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.accelerators import CUDAAccelerator, MPSAccelerator

from lit_addition.network import cpu_lstm_runs
from lit_addition.runtime.errors import InputError

_TRUE_HALF = {"bf16-true": torch.bfloat16, "16-true": torch.float16}  # the LSTMs' weights in a half dtype
# What to use instead, by the flag Lightning refused: the first rule with a word in its message. Strategy and device
# messages also name an accelerator ("requires a GPU accelerator"), so they come first.
_FIXES = (
    (("strategy", "fsdp", "deepspeed"), "strategy", "drop --trainer.strategy, or use ddp, which also runs on CPUs"),
    (("devices",), "devices", "give --trainer.devices a number of processes (1, 2, ...) or auto"),
    (("num_nodes",), "num_nodes", "give --trainer.num_nodes 1 or more"),
    (("accelerator", "gpu", "cuda", "mps", "tpu"), "accelerator", "drop --trainer.accelerator: auto picks what it has"),
)


def cpu_cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def cpu_name() -> str:
    """The CPU's model name as the kernel reports it."""
    info = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in info.read_text().splitlines() if line.startswith("model name")]
    return names[0] if names else platform.processor()


def gpu_name() -> str | None:
    return torch.cuda.get_device_name() if torch.cuda.is_available() else None


def describe() -> str:
    """This machine in one line: torch's build, the GPUs, the CPU cores and whether they run a bfloat16 LSTM."""
    build = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}"
    gpus = f"{torch.cuda.device_count()} CUDA GPU(s): {gpu_name()}" if torch.cuda.is_available() else "no CUDA GPU"
    lstm = "with" if cpu_lstm_runs(torch.bfloat16) else "without"
    return f"torch {torch.__version__} ({build}), {gpus}, {cpu_cores()} CPU core(s) {lstm} a bfloat16 LSTM"


def check_precision(trainer: Mapping[str, Any]) -> None:
    """Refuse a precision that the CPU the run would use cannot train in as asked (``trainer``: the Trainer's
    arguments as configured)."""
    precision, accelerator = str(trainer.get("precision")), trainer.get("accelerator")
    gpu = CUDAAccelerator.is_available() or MPSAccelerator.is_available()
    if accelerator != "cpu" and (accelerator not in (None, "auto") or gpu):
        return
    if precision in ("16", "16-mixed"):
        raise InputError(
            f"--trainer.precision {precision} cannot run on a CPU: Lightning would train in bf16-mixed instead "
            f"[this machine: {describe()}]: ask for --trainer.precision bf16-mixed or 32-true"
        )
    if precision in _TRUE_HALF and not cpu_lstm_runs(_TRUE_HALF[precision]):
        raise InputError(
            f"--trainer.precision {precision} cannot run this model on this CPU: it has no "
            f"{str(_TRUE_HALF[precision]).removeprefix('torch.')} LSTM [this machine: {describe()}]: use 32-true, or "
            "bf16-mixed, which runs the LSTMs in float32 here"
        )


def refusal(error: Exception, trainer: Mapping[str, Any]) -> InputError:
    """Lightning's refusal to build the Trainer as one line: its reason, this machine, and what to use instead."""
    reason = " ".join(str(error).split()).rstrip(".") or type(error).__name__
    rule = next(((flag, fix) for words, flag, fix in _FIXES if any(word in reason.lower() for word in words)), None)
    given = f"--trainer.{rule[0]} {trainer.get(rule[0])}" if rule else "the trainer flags"
    return InputError(f"{given} cannot run here: {reason} [this machine: {describe()}]{': ' + rule[1] if rule else ''}")
