"""What this machine can run, probed rather than assumed, and the one check that stands between the trainer flags a
person gives and the Trainer that runs them.

Machines of this project's kind differ: some CPUs have bfloat16 instructions and some do not (oneDNN then has no
bfloat16 LSTM), some have a CUDA GPU, and torch may be a CPU-only build. Nothing here trusts a CPU model name or a
flag list. :func:`~lit_addition.network.cpu_lstm_runs` runs a tiny LSTM in the dtype and caches the answer.

:func:`check_trainer_flags` runs before the real Trainer is built. It builds a bare, silent Trainer from the trainer
flags the person set (:func:`given_flags`) and turns every way they can fail on this machine into one
:class:`InputError` that names the flag and the fix:

1. Lightning refuses the flags (``--trainer.accelerator gpu`` without a GPU, ``fsdp`` on a CPU, an unknown
   strategy): each flag is taken away in turn, and a flag whose removal lets Lightning build a Trainer is the one to
   blame; the fix names what Lightning picks without it.
2. Lightning builds a Trainer that does not run what was asked: another precision than the one given (Lightning
   turns ``16-mixed`` on a CPU into ``bf16-mixed``), or more CPU processes than the machine has cores.
3. The model cannot run in the asked precision on this CPU: one forward and backward pass of a copy of the model,
   as the Trainer would run it, fails with the flag and works in float32 (``bf16-true`` on a CPU without bfloat16).

Only what the flags explain is bad input. The real Trainer is built after the check, so a failure there, a bug of
ours among them, keeps its traceback. :class:`HeldLogs` holds Lightning's log lines back until the check has passed.
"""

from __future__ import annotations

import copy
import logging
import os
import warnings
from collections.abc import Callable, Mapping
from inspect import signature
from typing import Any

import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.accelerators import CPUAccelerator

from lit_addition.network import cpu_lstm_runs
from lit_addition.runtime.errors import InputError

# The flags that say where and how a Trainer computes; how Lightning resolved each one, as a person would write it.
RESOLVED: dict[str, Callable[[Trainer], Any]] = {
    "accelerator": lambda trainer: type(trainer.accelerator).__name__.removesuffix("Accelerator").lower(),
    "strategy": lambda trainer: getattr(trainer.strategy, "strategy_name", type(trainer.strategy).__name__),
    "devices": lambda trainer: trainer.num_devices,
    "num_nodes": lambda trainer: trainer.num_nodes,
    "precision": lambda trainer: trainer.precision,
}
# The short names Lightning accepts for its precisions, and the full name each stands for.
PRECISION_ALIASES = {"16": "16-mixed", "bf16": "bf16-mixed", "32": "32-true", "64": "64-true"}
_QUIET_TRIAL = {"logger": False, "enable_checkpointing": False, "enable_progress_bar": False}
LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric")


def cpu_cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def describe() -> str:
    """This machine as the error messages show it: torch's build, the CUDA devices, the CPU cores and whether the
    CPU runs a bfloat16 LSTM."""
    build = f"torch {torch.__version__}" + ("" if torch.version.cuda else " (a CPU-only build)")
    gpus = torch.cuda.device_count() if torch.version.cuda else 0
    cuda = f"{gpus} CUDA GPU(s)" if gpus else "no CUDA GPU"
    bf16 = "a bfloat16 LSTM" if cpu_lstm_runs(torch.bfloat16) else "no bfloat16 LSTM"
    return f"{build}, {cuda}, {cpu_cores()} CPU core(s) with {bf16}"


def given_flags(trainer_section: Mapping[str, Any]) -> dict[str, Any]:
    """The plain-valued trainer flags a person set: those that differ from the Trainer's own defaults. Objects such
    as the logger and callbacks are left out: they are not flags to take away one at a time."""
    defaults = {name: p.default for name, p in signature(Trainer.__init__).parameters.items()}
    plain = (str, int, float, bool, type(None))
    return {
        name: value
        for name, value in trainer_section.items()
        if name in defaults
        and value != defaults[name]
        and (isinstance(value, plain) or (isinstance(value, list | tuple) and all(isinstance(v, plain) for v in value)))
    }


def check_trainer_flags(flags: Mapping[str, Any], model: LightningModule) -> None:
    """Check, before the real Trainer is built, that this machine can run ``model`` as the person's ``flags`` ask.

    A bare Trainer is built from the flags alone, with Lightning's messages silenced, so that a refused run prints
    its one line and nothing else; the real Trainer, built afterwards, says what Lightning says as usual.

    Raises:
        InputError: a flag this machine cannot honour, named with the reason and what to use instead.
    """
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        trial = _trial(flags)
    if isinstance(trial, Exception):
        raise InputError(_refusal(_blame(flags), flags, _reason(trial)))
    _check_resolved(trial, flags, said)
    _check_model_runs(trial, flags, model)


class HeldLogs:
    """Lightning's log lines (``Seed set to 1234``, ...), held back from the start of a command until
    :meth:`release`, so that a command refused for bad input prints its one line and nothing else. Leaving the
    ``with`` block releases them, unless bad input (:class:`InputError`) is leaving it."""

    def __init__(self) -> None:
        self.records: list[logging.LogRecord] = []
        self.handlers: list[logging.Handler] = []
        for name in LIGHTNING_LOGGERS:  # the handlers Lightning's records reach: its own, or the root's
            logger: logging.Logger | None = logging.getLogger(name)
            while logger is not None:
                self.handlers += [handler for handler in logger.handlers if handler not in self.handlers]
                logger = logger.parent if logger.propagate else None

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(LIGHTNING_LOGGERS):
            return True
        self.records.append(record)
        return False

    def __enter__(self) -> HeldLogs:
        for handler in self.handlers:
            handler.addFilter(self)
        return self

    def release(self) -> None:
        """Let Lightning's log lines through again, those held first."""
        for handler in self.handlers:
            handler.removeFilter(self)
        self.handlers = []
        records, self.records = self.records, []
        for record in records:
            logging.getLogger(record.name).handle(record)

    def __exit__(self, kind: type[BaseException] | None, *rest: Any) -> None:
        if kind is not None and issubclass(kind, InputError):
            self.records = []
        self.release()


def _trial(flags: Mapping[str, Any]) -> Trainer | Exception:
    """A bare Trainer built from ``flags`` alone with Lightning's log lines silenced, or the error Lightning raises."""
    loggers = [logging.getLogger(name) for name in LIGHTNING_LOGGERS]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        return Trainer(**{**flags, **_QUIET_TRIAL})
    except Exception as error:
        return error
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _blame(flags: Mapping[str, Any]) -> list[tuple[str, Trainer | None]]:
    """The flags whose removal alone lets Lightning build a Trainer, each with that Trainer; all the flags together
    (with no Trainer) when none does so alone."""
    blamed = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in flags:
            trainer = _trial({k: v for k, v in flags.items() if k != name})
            if not isinstance(trainer, Exception):
                blamed.append((name, trainer))
    together = [(name, None) for name in flags if name in RESOLVED] or [(name, None) for name in flags]
    return blamed or together


def _option(name: str, value: Any) -> str:
    return f"--trainer.{name} {value}"


def _refusal(blamed: list[tuple[str, Trainer | None]], flags: Mapping[str, Any], reason: str) -> str:
    given = " ".join(_option(name, flags[name]) for name, _ in blamed)
    fixes = []
    for name, trainer in blamed:
        if trainer is None:
            continue
        instead = f" (here Lightning then picks {RESOLVED[name](trainer)})" if name in RESOLVED else ""
        fixes.append(f"drop --trainer.{name}{instead}")
    fix = " or ".join(fixes) if fixes else "change these flags"
    return f"{given} cannot run here: {reason} [this machine: {describe()}]: {fix}"


def _reason(error: BaseException) -> str:
    """An exception's message as one sentence-like line."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text.rstrip(".!")


def _check_resolved(trainer: Trainer, flags: Mapping[str, Any], held: list[warnings.WarningMessage]) -> None:
    asked = flags.get("precision")
    if asked is not None and PRECISION_ALIASES.get(str(asked), str(asked)) != trainer.precision:
        said = next((str(w.message) for w in held if "precision" in str(w.message)), "")
        raise InputError(
            f"{_option('precision', asked)} cannot run here: Lightning would run {trainer.precision} instead"
            f"{' (' + _reason(said) + ')' if said else ''} [this machine: {describe()}]: ask for "
            f"--trainer.precision {trainer.precision} or 32-true here"
        )
    cores = cpu_cores()
    if isinstance(trainer.accelerator, CPUAccelerator) and trainer.num_devices > cores:
        raise InputError(
            f"{_option('devices', flags.get('devices', trainer.num_devices))} asks for {trainer.num_devices} CPU "
            f"processes, but this machine has {cores} CPU core(s) [this machine: {describe()}]: use "
            f"--trainer.devices {cores} or fewer"
        )


def _runs(trainer: Trainer | None, model: LightningModule) -> Exception | None:
    """The error one forward and backward pass of a copy of ``model`` raises on the CPU, under ``trainer``'s
    precision (or plain float32 without a trainer), or None when it runs."""
    with torch.random.fork_rng(devices=[]), torch.enable_grad():
        twin = copy.deepcopy(model).cpu()
        try:
            if trainer is not None:
                twin = trainer.precision_plugin.convert_module(twin)
                with trainer.precision_plugin.forward_context():
                    output = twin(twin.example_input_array)
            else:
                output = twin(twin.example_input_array)
            output.float().sum().backward()
        except RuntimeError as error:
            return error
    return None


def _check_model_runs(trainer: Trainer, flags: Mapping[str, Any], model: LightningModule) -> None:
    # Only the CPU's kernels differ from machine to machine; a probe on a GPU would also initialise CUDA before
    # Lightning forks its workers.
    if trainer.strategy.root_device.type != "cpu" or model.example_input_array is None or "precision" not in flags:
        return
    error = _runs(trainer, model)
    if error is None:
        return
    if _runs(None, model) is not None:
        raise error  # it fails in float32 too: not the flag's doing
    raise InputError(
        f"{_option('precision', flags['precision'])} cannot run this model on this CPU: {_reason(error)} "
        f"[this machine: {describe()}]: drop --trainer.precision (32-true), or use bf16-mixed"
    )
