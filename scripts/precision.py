"""bf16-mixed on this CPU, measured: a config's exact validation accuracy and seconds against 32-true.

    python scripts/precision.py            # two runs of the 2-digit config: about a minute on 2 CPU cores
    python scripts/precision.py --config 5digit --epochs 1    # one epoch of the 5-digit config in each
    python scripts/precision.py --quick    # 2 epochs each, for the test

Prints a Markdown table for docs/precision.md. The runs differ only in ``--trainer.precision``; seconds are the
whole fit's, validation included, each in a fresh process (:func:`runs.fit`).
"""

from __future__ import annotations

import argparse
import tempfile

import torch
from report import SHIPPED_CONFIGS, command, header, machine, percent, positive, seconds, table
from runs import fit

from lit_addition.network import cpu_lstm_runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--config", default="2digit", choices=SHIPPED_CONFIGS, help="a config of configs/ (default: 2digit)"
    )
    parser.add_argument("--epochs", type=positive, help="train this many epochs (default: the config's)")
    parser.add_argument("--quick", action="store_true", help="2 epochs each, for the test")
    args = parser.parse_args()
    epochs = 2 if args.quick else args.epochs
    lstm = "bfloat16" if cpu_lstm_runs(torch.bfloat16) else "float32: this CPU has no bfloat16 LSTM"
    rows = []
    for precision in ("32-true", "bf16-mixed"):
        with tempfile.TemporaryDirectory() as folder:
            shorter = [f"--trainer.max_epochs={epochs}"] if epochs else []
            run = fit(args.config, f"--trainer.precision={precision}", *shorter, folder=folder)
        rows.append([f"`{precision}`", percent(run.epochs[-1]["val/seq_acc"]), seconds(run.train_s), run.train_s])
    measured = {"machine": machine(), "command": command()}
    trained = f"{epochs} epoch(s) of " if epochs else ""
    what = (
        f"{trained}`configs/{args.config}.yaml` ({rows[0][0]} and {rows[1][0]}, the LSTMs under bf16-mixed in {lstm})."
    )
    print("\n".join(header("bf16-mixed on this CPU", measured, what) + [""]))
    body = [row[:3] + [f"{row[3] / rows[0][3]:.2f}x"] for row in rows]
    print("\n".join(table(["precision", "val/seq_acc", "fit s", "vs 32-true"], body)))


if __name__ == "__main__":
    main()
