"""The reference's results table, reproduced: writes docs/results.md, docs/results.json and a learning-curve plot.

    python scripts/results.py                          # 2- and 3-digit configs (minutes on 2 CPU cores)
    python scripts/results.py --configs 4digit 5digit  # the long ones; their rows join the earlier ones

Each config is trained by the CLI in a fresh process. Per config the table gives the epochs and training seconds to
99% per-character accuracy (the reference's "accuracy") and to 99% exact answers, the exact accuracy of the best
checkpoint on the held-out test split, and the epochs the reference reports. Rows are kept in results.json by config,
each with the machine and command that measured it, so configs can be run at different times (or on a GPU with
``-- --trainer.accelerator gpu``) and the table regenerated. The plot needs matplotlib (``pip install .[plot]``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from report import machine_description
from timing import ROOT, train_config

# Epochs to "99% train/test accuracy" in the reference's results table (Keras' per-character accuracy).
REFERENCE_EPOCHS = {"2digit": 55, "3digit": 100, "4digit": 20, "5digit": 30}


def measure(config: str, overrides: list[str], log_dir: str) -> dict:
    run = train_config(f"configs/{config}.yaml", f"--trainer.logger.init_args.save_dir={log_dir}", *overrides)
    curve = [{k: r[k] for k in ("epoch", "train_s", "val/char_acc", "val/seq_acc")} for r in run.epochs]
    row = {
        "config": config,
        "overrides": overrides,
        "machine": machine_description(),
        "epochs_run": len(run.epochs),
        "process_s": run.ended - run.started,
        "test_seq_acc": run.test["test/seq_acc"],
        "test_char_acc": run.test["test/char_acc"],
        "reference_epochs": REFERENCE_EPOCHS[config],
        "curve": curve,
    }
    for metric, key in (("val/char_acc", "char"), ("val/seq_acc", "seq")):
        reached = run.first(metric, 0.99)
        row[f"{key}_epoch"] = reached and reached["epoch"]
        row[f"{key}_train_s"] = reached and reached["train_s"]
    return row


def _cell(epoch: int | None, seconds: float | None) -> str:
    return "not reached" if epoch is None else f"{epoch} ({seconds:.0f} s)"


def write_markdown(rows: dict[str, dict], path: Path) -> None:
    lines = [
        "# The reference's results table, reproduced",
        "",
        "Each row is one run of `python scripts/results.py --configs CONFIG` (which trains "
        "`python -m lit_addition fit --config configs/CONFIG.yaml` in a fresh process, then tests its best "
        "checkpoint). Training seconds exclude validation and start-up. The reference's figure is the epoch at which "
        "its table reports 99% accuracy, Keras' per-character accuracy, with batch 32.",
        "",
        "| config | epochs run | to 99% per-character: epoch (training s) | to 99% exact: epoch (training s) "
        "| test exact (best checkpoint) | reference: epochs to 99% | machine |",
        "|---|---|---|---|---|---|---|",
    ]
    for config in sorted(rows):
        r, m = rows[config], rows[config]["machine"]
        overrides = f" `{' '.join(r['overrides'])}`" if r["overrides"] else ""
        machine = m["gpu"] or f"{m['cpu']}, {m['cores']} cores"
        lines.append(
            f"| {config}{overrides} | {r['epochs_run']} | {_cell(r['char_epoch'], r['char_train_s'])} | "
            f"{_cell(r['seq_epoch'], r['seq_train_s'])} | {100 * r['test_seq_acc']:.2f}% | {r['reference_epochs']} "
            f"| {machine}, {m['date']} |"
        )
    lines += ["", "![Learning curves](learning-curves.png)" if (path.parent / "learning-curves.png").exists() else ""]
    path.write_text("\n".join(lines).rstrip() + "\n")


def plot(rows: dict[str, dict], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for config in sorted(rows):
        curve = rows[config]["curve"]
        for axis, metric in zip(axes, ("val/char_acc", "val/seq_acc"), strict=True):
            axis.plot([r["epoch"] for r in curve], [r[metric] for r in curve], marker="o", label=config)
    for axis, title in zip(axes, ("per-character accuracy", "exact-answer accuracy"), strict=True):
        axis.axhline(0.99, color="grey", linestyle=":", linewidth=1)
        axis.set(title=f"validation {title}", xlabel="epoch", ylim=(0, 1.01))
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=["2digit", "3digit"], choices=sorted(REFERENCE_EPOCHS))
    parser.add_argument("--output", type=Path, default=ROOT / "docs")
    parser.add_argument("overrides", nargs="*", help="extra CLI arguments after --, e.g. -- --trainer.max_epochs=2")
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    store = args.output / "results.json"
    rows = json.loads(store.read_text()) if store.exists() else {}
    with tempfile.TemporaryDirectory() as log_dir:
        for config in args.configs:
            rows[config] = measure(config, args.overrides, log_dir)
            store.write_text(json.dumps(rows, indent=2) + "\n")  # after each config: no finished run is lost
            print(f"{config}: exact 99% at epoch {rows[config]['seq_epoch']}, test {rows[config]['test_seq_acc']:.4f}")
    if not plot(rows, args.output / "learning-curves.png"):
        print("learning-curves.png not drawn: matplotlib is missing; pip install 'lit-addition[plot]' to get it")
    write_markdown(rows, args.output / "results.md")
    print(f"wrote {args.output / 'results.md'}")


if __name__ == "__main__":
    main()
