"""bf16-mixed on this CPU, measured: the 2-digit config's exact validation accuracy and seconds against 32-true.

    python scripts/precision.py            # two runs of the 2-digit config: about a minute on 2 CPU cores
    python scripts/precision.py --quick    # 2 epochs each, for the test

Prints a Markdown table for docs/precision.md. The runs differ only in ``--trainer.precision``; seconds are the
whole fit's, validation included, each in a fresh process (:func:`runs.fit`).
"""

from __future__ import annotations

import argparse
import tempfile

import torch
from report import command, header, machine, percent, seconds, table
from runs import fit

from lit_addition.network import cpu_lstm_runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs each, for the test")
    args = parser.parse_args()
    lstm = "bfloat16" if cpu_lstm_runs(torch.bfloat16) else "float32: this CPU has no bfloat16 LSTM"
    rows = []
    for precision in ("32-true", "bf16-mixed"):
        with tempfile.TemporaryDirectory() as folder:
            quick = ["--trainer.max_epochs=2"] if args.quick else []
            run = fit("2digit", f"--trainer.precision={precision}", *quick, folder=folder)
        rows.append([f"`{precision}`", percent(run.epochs[-1]["val/seq_acc"]), seconds(run.train_s), run.train_s])
    measured = {"machine": machine(), "command": command()}
    what = f"The 2-digit config ({rows[0][0]} and {rows[1][0]}, the LSTMs under bf16-mixed in {lstm})."
    print("\n".join(header("bf16-mixed on this CPU", measured, what) + [""]))
    body = [row[:3] + [f"{row[3] / rows[0][3]:.2f}x"] for row in rows]
    print("\n".join(table(["precision", "val/seq_acc", "fit s", "vs 32-true"], body)))


if __name__ == "__main__":
    main()
