"""What each speed idea buys, measured: milliseconds per training step with and without it, side by side.

    python scripts/ablations.py            # about 3 minutes on 2 CPU cores; writes docs/ablations.md/json
    python scripts/ablations.py --quick    # a few steps each, for the test

Each row times the same training steps (3-digit data, batch 32, the shipped network) two ways, interleaved and
repeated so that a change in machine load hits both alike, and reports the best of each and their ratio:

* fused AdamW against PyTorch's default (a Python loop over the parameters on CPU);
* ``torch.compile`` of the network against eager mode (the compile time is reported apart);
* bf16 autocast against float32 (the LSTMs in bfloat16 on CPUs with a bfloat16 LSTM, such as AVX512-BF16 or AMX),
  and the same with the LSTMs in float32, the fallback that CPUs without one run;
* one intra-op thread against all of them;
* in the CLI's real fit, ``train/loss`` logged on every step against only on the steps the logger writes;
* in the CLI's real fit, the progress bar redrawn after every step against every 20 steps;
* the accuracy bookkeeping per step: two torchmetrics classifiers against :class:`~lit_addition.AnswerAccuracy`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import torch
import torch.nn.functional as F
from lightning.pytorch import Callback
from report import machine_description
from timing import ROOT, on_a_terminal
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassExactMatch

from lit_addition import AdditionDataModule, AdditionModel, network
from lit_addition.cli import build_cli
from lit_addition.metrics import AnswerAccuracy
from lit_addition.runtime.encoding import VOCAB_SIZE

BATCH = 32


def bare_steps(data: AdditionDataModule, steps: int, *, fused: bool = True, compiled: bool = False,
               bf16: bool = False, lstm_fallback: bool = False, threads: int | None = None) -> float:  # fmt: skip
    """Milliseconds per step of a plain training loop, the first steps (and any compilation) excluded.
    ``lstm_fallback`` runs bf16 autocast as on a CPU without a bfloat16 LSTM: the LSTMs in float32."""
    if lstm_fallback:
        with mock.patch.object(network, "cpu_lstm_runs", lambda dtype: False):
            return bare_steps(data, steps, fused=fused, compiled=compiled, bf16=bf16, threads=threads)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads or previous_threads)
    torch.manual_seed(0)
    net = AdditionModel().net
    forward = torch.compile(net) if compiled else net
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, fused=fused)
    train = data.dataset("train")
    warmup = min(20, steps // 2)
    start = time.perf_counter()
    for step, index in enumerate(torch.randperm(len(train)).split(BATCH)[:steps]):
        if step == warmup:
            start = time.perf_counter()
        questions, answers = train[index]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(forward(questions).transpose(1, 2).float(), answers)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    torch.set_num_threads(previous_threads)
    return (time.perf_counter() - start) / (steps - warmup) * 1e3


class LogEveryStep(AdditionModel):
    """The shipped model, but logging ``train/loss`` on every training step, as Lightning's examples do."""

    def _logs_this_step(self) -> bool:
        return True


class StepClock(Callback):
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == 20:
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if batch_idx == trainer.num_training_batches - 1:  # before validation and checkpointing
            self.ms_per_step = (time.perf_counter() - self.start) / (batch_idx + 1 - 20) * 1e3


def fit_steps(steps: int, model_class: type[AdditionModel] = AdditionModel, *args: str) -> float:
    """Milliseconds per step of the CLI's real fit (logger, checkpoints, progress bar on), for ``steps`` steps, with
    extra CLI ``args``."""
    with tempfile.TemporaryDirectory() as log_dir, on_a_terminal():  # the live bar draws, as at a terminal
        cli = build_cli(
            ["--config", str(ROOT / "configs" / "3digit.yaml"), f"--data.batch_size={BATCH}",
             "--trainer.max_epochs=1", f"--trainer.limit_train_batches={steps}", "--trainer.limit_val_batches=1",
             f"--trainer.logger.init_args.save_dir={log_dir}", *args],
            run=False,
        )  # fmt: skip
        model = model_class(**{k: v for k, v in cli.model.hparams.items() if not k.startswith("_")})
        clock = StepClock()
        cli.trainer.callbacks.append(clock)
        cli.trainer.fit(model, cli.datamodule)
    return clock.ms_per_step


def metric_updates(updates: int, metric_factory: Callable[[], object]) -> float:
    """Milliseconds per ``update`` of a freshly built accuracy metric on one batch's predictions."""
    metric = metric_factory()
    generator = torch.Generator().manual_seed(0)
    target = torch.randint(0, VOCAB_SIZE, (BATCH, 4), generator=generator)
    predicted = torch.randint(0, VOCAB_SIZE, (BATCH, 4), generator=generator)
    start = time.perf_counter()
    for _ in range(updates):
        metric.update(predicted, target)
    return (time.perf_counter() - start) / updates * 1e3


def two_classifiers() -> MetricCollection:
    return MetricCollection(
        {"char_acc": MulticlassAccuracy(VOCAB_SIZE, average="micro", validate_args=False),
         "seq_acc": MulticlassExactMatch(VOCAB_SIZE, validate_args=False)},
        compute_groups=False,
    )  # fmt: skip


def compare(name: str, baseline: Callable[[], float], candidate: Callable[[], float], repeats: int) -> dict:
    base, cand = [], []
    for _ in range(repeats):
        base.append(baseline())
        cand.append(candidate())
    return {"change": name, "baseline_ms": min(base), "candidate_ms": min(cand), "ratio": min(cand) / min(base)}


def compile_seconds(data: AdditionDataModule) -> float:
    """Seconds a first compiled run takes to its second step, with nothing compiled before it in this process and
    Inductor's caches off, so that an earlier run cannot hide the compilation."""
    import torch._dynamo
    import torch._inductor.config

    torch._dynamo.reset()
    with torch._inductor.config.patch(force_disable_caches=True):
        start = time.perf_counter()
        bare_steps(data, 2, compiled=True)
        return time.perf_counter() - start


def write_report(results: dict, path: Path) -> None:
    m = results["machine"]
    lines = ["# What each speed idea buys", "",
             f"Measured by `{results['command']}` on {m['date']}: {m['cpu']}, {m['cores']} cores, torch {m['torch']}, "
             f"Lightning {m['lightning']}. Milliseconds per training step at batch {BATCH} (3-digit data), best of "
             "interleaved repeats; a ratio below 1 means the change is faster.", "",
             "| change | without, ms | with, ms | ratio | kept? |", "|---|---|---|---|---|"]  # fmt: skip
    for row in results["rows"]:
        lines.append(f"| {row['change']} | {row['baseline_ms']:.3f} | {row['candidate_ms']:.3f} | "
                     f"{row['ratio']:.3f} | {row['kept']} |")  # fmt: skip
    if results["compile_s"] is not None:
        lines += [
            "",
            f"`torch.compile` also cost {results['compile_s']:.1f} s of compiling: the time to a first compiled "
            "run's second step, Inductor's caches off.",
        ]
    if results["quick"]:
        lines += ["", "**Quick mode**: a few steps each; these figures say nothing about speed."]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few steps each, for the test")
    parser.add_argument("--output", type=Path, default=ROOT / "docs", help="where ablations.md/json go")
    args = parser.parse_args()
    steps, fit, updates, repeats = (30, 30, 100, 1) if args.quick else (600, 600, 5000, 3)
    data = AdditionDataModule(batch_size=BATCH)
    data.setup()
    lstm_dtype = "bfloat16" if network.cpu_lstm_runs(torch.bfloat16) else "float32: this CPU has no bfloat16 LSTM"
    # (change, without, with, kept in the shipped trainer?)
    plan = [
        ("fused AdamW", lambda: bare_steps(data, steps, fused=False), lambda: bare_steps(data, steps), "yes"),
        ("torch.compile", lambda: bare_steps(data, steps), lambda: bare_steps(data, steps, compiled=True), "no"),
        (f"bf16 autocast (LSTMs in {lstm_dtype})", lambda: bare_steps(data, steps),
         lambda: bare_steps(data, steps, bf16=True), "an option: --trainer.precision bf16-mixed"),
        ("bf16 autocast, LSTMs in float32 (the fallback for CPUs without a bfloat16 LSTM)",
         lambda: bare_steps(data, steps), lambda: bare_steps(data, steps, bf16=True, lstm_fallback=True),
         "where the CPU needs it"),
        ("1 thread instead of all", lambda: bare_steps(data, steps), lambda: bare_steps(data, steps, threads=1),
         "no"),
        ("train/loss logged only on written steps (real fit)", lambda: fit_steps(fit, LogEveryStep),
         lambda: fit_steps(fit, AdditionModel), "yes"),
        ("progress bar redrawn every 20 steps, not every step (real fit)",
         lambda: fit_steps(fit, AdditionModel, "--progress_bar.refresh_rate=1"), lambda: fit_steps(fit), "yes"),
        ("AnswerAccuracy instead of two classifiers (update only)", lambda: metric_updates(updates, two_classifiers),
         lambda: metric_updates(updates, lambda: AnswerAccuracy(4, positions=False)), "yes"),
    ]  # fmt: skip
    command = "python scripts/ablations.py" + (" --quick" if args.quick else "")
    results = {"machine": machine_description(), "command": command, "quick": args.quick, "rows": []}
    results["compile_s"] = None if args.quick else compile_seconds(data)  # first: before any compiled run
    for name, without, with_it, kept in plan:
        results["rows"].append({**compare(name, without, with_it, repeats), "kept": kept})
        print(results["rows"][-1], flush=True)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "ablations.json").write_text(json.dumps(results, indent=2) + "\n")
    write_report(results, args.output / "ablations.md")
    print(f"wrote {args.output / 'ablations.md'} and ablations.json")


if __name__ == "__main__":
    main()
