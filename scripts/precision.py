"""bf16-mixed on this CPU, measured: accuracy and training seconds against 32-true, and the same with the LSTMs in
float32, the fallback that a CPU without a bfloat16 LSTM runs (forced here, so that any CPU can measure it).

    python scripts/precision.py            # three 30-epoch 2-digit runs: about a minute on 2 CPU cores
    python scripts/precision.py --quick    # 2 epochs each, for the test

Prints a Markdown table for docs/precision.md. The three runs are the learning run of tests/test_precision.py, the
same seed and data, so they differ only in precision; seconds are training seconds (validation excluded), each run
in this process, one after the other.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
from unittest import mock

import torch
from report import machine_description
from timing import EpochRecorder

from lit_addition import network
from lit_addition.cli import build_cli

RUN = [
    *("--seed_everything=1", "--data.digits=2", "--data.num_samples=4000", "--data.test_samples=1000"),
    *("--data.batch_size=64", "--model.learning_rate=0.01", "--trainer.accelerator=cpu", "--trainer.logger=false"),
    *("--trainer.enable_progress_bar=false", "--samples.n=0", "--trainer.enable_checkpointing=false"),
]


def measure(precision: str, epochs: int, lstm_fallback: bool) -> dict:
    """val/seq_acc and training seconds of one run."""
    forced = mock.patch.object(network, "cpu_lstm_runs", lambda dtype: False) if lstm_fallback else None
    with forced or contextlib.nullcontext(), tempfile.TemporaryDirectory() as root:
        cli = build_cli(
            [*RUN, f"--trainer.precision={precision}", f"--trainer.max_epochs={epochs}",
             f"--trainer.default_root_dir={root}"],
            run=False,
        )  # fmt: skip
        recorder = EpochRecorder()
        cli.trainer.callbacks.append(recorder)
        with contextlib.redirect_stdout(io.StringIO()):
            cli.trainer.fit(cli.model, cli.datamodule)
    return {"val_seq_acc": cli.trainer.callback_metrics["val/seq_acc"].item(), "train_s": recorder.train_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs each, for the test")
    args = parser.parse_args()
    epochs = 2 if args.quick else 30
    native = "bfloat16" if network.cpu_lstm_runs(torch.bfloat16) else "float32 (no bfloat16 LSTM on this CPU)"
    runs = [
        ("`32-true`", "32-true", False),
        (f"`bf16-mixed`, LSTMs in {native}", "bf16-mixed", False),
        ("`bf16-mixed`, LSTMs in float32 (the fallback, forced)", "bf16-mixed", True),
    ]
    rows = [(name, measure(precision, epochs, fallback)) for name, precision, fallback in runs]
    m = machine_description()
    command = "python scripts/precision.py" + (" --quick" if args.quick else "")
    print(f"Measured by `{command}` on {m['date']}: {m['cpu']}, {m['cores']} cores, torch {m['torch']}.\n")
    print(f"| 2 digits, 4,000 problems, batch 64, {epochs} epochs, seed 1 | `val/seq_acc` | training s | vs 32-true |")
    print("|---|---|---|---|")
    for name, row in rows:
        ratio = row["train_s"] / rows[0][1]["train_s"]
        print(f"| {name} | {row['val_seq_acc']:.2%} | {row['train_s']:.1f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
