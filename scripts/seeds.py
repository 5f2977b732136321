"""Does a shipped config know addition whatever the seed? Trains it over seeds and counts its wrong answers; with the
shipped seed, also the reference's results table (epochs to 99% per-character and exact accuracy).

    python scripts/seeds.py --configs 2digit 3digit --seeds 1234 101 102 103 104 105
    python scripts/seeds.py --configs 4digit 5digit --seeds 1234 101 102     # rows join the earlier ones

Each run trains ``configs/CONFIG.yaml`` with ``seed_everything`` and ``data.seed`` both set to the seed, in a fresh
process (:func:`runs.fit`), then asks the checkpoint it kept every ordered problem of a 2- or 3-digit space, or
1,000,000 drawn uniformly from a larger one, and the hard problems. Rows are kept in docs/seeds.json by config and
seed, each with its machine and command, and docs/seeds.md and docs/results.md are written from all of them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from report import DOCS, command, header, machine, seconds, table
from runs import fit, knows

SHIPPED_SEED = 1234
# The seeds each recipe was chosen on (scripts/recipe.py's runs and the sweeps of issue 17); any other is fresh.
CHOSEN_ON = {
    "2digit": {1234, *range(1, 13), *range(201, 206), *range(301, 306), *range(401, 406), *range(501, 506)},
    "3digit": {1234, *range(1, 13), *range(101, 106), *range(201, 206), *range(301, 306), *range(401, 406),
               *range(501, 506), *range(601, 606), *range(701, 706), *range(801, 806), *range(1601, 1606)},
    "4digit": {1234},
    "5digit": {1234, *range(201, 206)},
}  # fmt: skip
# Epochs to "99% train/test accuracy" in the reference's results table (Keras' per-character accuracy, batch 32).
REFERENCE_EPOCHS = {"2digit": 55, "3digit": 100, "4digit": 20, "5digit": 30}


def measure(config: str, seed: int, overrides: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        run = fit(config, f"--seed_everything={seed}", f"--data.seed={seed}", *overrides, folder=folder)
        known = knows(run.checkpoint)
    reached = {metric: run.first(f"val/{metric}", 0.99) for metric in ("char_acc", "seq_acc")}
    reached = {metric: r and {"epoch": int(r["epoch"]), "train_s": r["time/train_s"]} for metric, r in reached.items()}
    return {
        "config": config, "seed": seed, "overrides": overrides, "machine": machine(), "command": command(),
        "epochs": len(run.epochs), "train_s": run.train_s, "process_s": run.process_s,
        "reached": reached,
        "checkpoint": run.checkpoint.name, "problems": known["problems"], "whole_space": known["whole_space"],
        "wrong": known["wrong"], "hard_wrong": known["hard_wrong"],
        "worst": [f"{row['problem']} = {row['answer']} ({row['split'] or 'never'})" for row in known["worst"]],
    }  # fmt: skip


def _reached(row: dict, metric: str) -> str:
    reached = row["reached"][metric]
    return "not reached" if reached is None else f"{reached['epoch']} ({seconds(reached['train_s'])} s)"


def _label(row: dict) -> str:
    """The config of a row, with the overrides it was trained with."""
    return row["config"] + (f" `{' '.join(row['overrides'])}`" if row["overrides"] else "")


def _machine(row: dict) -> str:
    return f"{row['machine']['cpu']}, {row['machine']['cores']} cores, {row['machine']['date']}"


def write(rows: list[dict], output: Path) -> None:
    (output / "seeds.json").write_text(json.dumps(rows, indent=2) + "\n")
    # The header names the machine of the latest day's first row; each row names its own.
    newest = max(rows, key=lambda row: row["machine"]["date"])
    latest = {"machine": newest["machine"], "command": "python scripts/seeds.py ..., one row per run"}
    what = (
        "Each row: the config trained with `seed_everything` and `data.seed` set to the seed, then the checkpoint "
        "`fit` kept asked every ordered problem of its space (a+b and b+a both count), or 1,000,000 drawn "
        "uniformly from a larger one, and the hard problems. Seconds are the whole fit's, validation included."
    )
    lines = header("Every problem, every seed", latest, what) + [""]
    lines += table(
        ["config", "seed", "problems asked", "wrong", "hard problems missed", "99% exact: epoch (s)", "epochs",
         "fit s", "machine, date"],
        [[_label(r),
          f"{r['seed']}" + (" (chosen on)" if r["seed"] in CHOSEN_ON[r["config"]] else " (fresh)"),
          f"{r['problems']:,}" + (" (all)" if r["whole_space"] else " (sampled)"), f"**{r['wrong']:,}**",
          ", ".join(r["hard_wrong"]) or "none", _reached(r, "seq_acc"), r["epochs"], seconds(r["train_s"]),
          _machine(r)] for r in rows],
    )  # fmt: skip
    wrong = [r for r in rows if r["wrong"]]
    if wrong:
        lines += ["", "Wrong answers, up to five per run, least likely true sum first (split of the problem):", ""]
        lines += [f"- {_label(r)}, seed {r['seed']}: {'; '.join(r['worst'][:5])}" for r in wrong]
    (output / "seeds.md").write_text("\n".join(lines) + "\n")
    shipped = [r for r in rows if r["seed"] == SHIPPED_SEED and not r["overrides"]]
    what = "The reference's table, reproduced: the shipped seed's row of each config in docs/seeds.md."
    lines = header("The reference's results table, reproduced", latest, what) + [""]
    lines += table(
        ["config", "epochs", "to 99% per character: epoch (s)", "to 99% exact: epoch (s)", "wrong answers",
         "reference: epochs to 99% (batch 32)", "machine, date"],
        [[r["config"], r["epochs"], _reached(r, "char_acc"), _reached(r, "seq_acc"), f"{r['wrong']:,} of "
          f"{r['problems']:,}", REFERENCE_EPOCHS[r["config"]], _machine(r)] for r in shipped],
    )  # fmt: skip
    (output / "results.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=["2digit", "3digit"], choices=sorted(REFERENCE_EPOCHS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[SHIPPED_SEED])
    parser.add_argument("--output", type=Path, default=DOCS, help="where seeds.md, seeds.json and results.md go")
    parser.add_argument("overrides", nargs="*", help="extra CLI arguments after --, e.g. -- --trainer.max_epochs=2")
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    store = args.output / "seeds.json"
    rows = json.loads(store.read_text()) if store.exists() else []
    for config in args.configs:
        for seed in args.seeds:
            row = measure(config, seed, args.overrides)
            rows = [r for r in rows if (r["config"], r["seed"], r["overrides"]) != (config, seed, args.overrides)]
            rows.append(row)
            rows.sort(key=lambda r: (r["config"], r["seed"] != SHIPPED_SEED, r["seed"]))
            write(rows, args.output)  # after each run: no finished run is lost
            print(f"{config} seed {seed}: {row['wrong']:,} wrong of {row['problems']:,}", flush=True)


if __name__ == "__main__":
    main()
