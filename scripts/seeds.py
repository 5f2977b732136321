"""Does a shipped config know addition whatever the seed? Trains it over several seeds and counts its wrong answers.

    python scripts/seeds.py --configs 2digit 3digit --seeds 3     # docs/seeds.md and docs/seeds.json
    python scripts/seeds.py --configs 4digit 5digit --seeds 1     # rows join the earlier ones

Each run trains ``configs/CONFIG.yaml`` with the CLI in a fresh process, ``seed_everything`` and ``data.seed`` both
set to the run's seed (the shipped 1234 first, then 1, 2, ...), then asks the checkpoint that ``fit`` kept what
``analyze`` asks: every ordered problem of a 2- or 3-digit space (a+b and b+a both count), or 1,000,000 ordered
problems drawn uniformly from a larger one, and the hard problems (all nines, the longest carry chains, zeros, ...).
Per run: the wrong answers, the hard problems missed, the epoch and training seconds to 99% exact validation
accuracy, and the whole fit's training seconds (validation and start-up excluded) and process seconds.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from report import machine_description
from timing import ROOT, train_config

SHIPPED_SEED = 1234
LARGE_SPACE_SAMPLES = 1_000_000  # ordered problems asked of a space too large to ask whole (4 and 5 digits)


def seeds(count: int) -> list[int]:
    """The shipped seed, then 1, 2, ...: ``count`` seeds in all."""
    return [SHIPPED_SEED, *range(1, count)]


def measure(config: str, seed: int, overrides: list[str], log_dir: str, samples: int) -> dict:
    run = train_config(
        f"configs/{config}.yaml", f"--seed_everything={seed}", f"--data.seed={seed}",
        f"--trainer.logger.init_args.save_dir={log_dir}", *overrides, test=False, analyze=samples,
    )  # fmt: skip
    reached = run.first("val/seq_acc", 0.99)
    analysis = run.analysis
    return {
        "config": config,
        "seed": seed,
        "overrides": overrides,
        "machine": machine_description(),
        "epochs": len(run.epochs),
        "epoch_99": reached and reached["epoch"],
        "train_s_99": reached and reached["train_s"],
        "train_s": run.epochs[-1]["train_s"],
        "process_s": run.ended - run.started,
        "checkpoint": analysis["checkpoint"],
        "problems": analysis["problems"],
        "whole_space": analysis["whole_space"],
        "wrong": analysis["wrong"],
        "hard_wrong": analysis["hard_wrong"],
        "new_digit_wrong": analysis["carry_into_new_digit"]["wrong"],
        "worst": [f"{row['problem']} = {row['answer']}" for row in analysis["worst"][:5]],
    }


def write_markdown(rows: list[dict], path: Path) -> None:
    lines = [
        "# Every problem, every seed",
        "",
        "Each row is one run of `python scripts/seeds.py --configs CONFIG --seeds N`: the config trained with "
        "`seed_everything` and `data.seed` set to the seed, then the checkpoint `fit` kept asked every ordered "
        f"problem of its space (a+b and b+a both count), or {LARGE_SPACE_SAMPLES:,} drawn uniformly from a larger "
        "space, and the hard problems of `analyze` (all nines, one below, the longest carry chains, zeros, a carry "
        "through every column, the smallest sum with a new digit). Training seconds exclude validation and "
        "start-up; process seconds are the whole command.",
        "",
        "| config | seed | problems asked | wrong | hard problems missed | to 99% exact: epoch (training s) "
        "| epochs | training s | process s | machine |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        m = r["machine"]
        asked = f"{r['problems']:,}" + (" (all)" if r["whole_space"] else " (sampled)")
        reached = "not reached" if r["epoch_99"] is None else f"{r['epoch_99']} ({r['train_s_99']:.1f} s)"
        config = r["config"] + (f" `{' '.join(r['overrides'])}`" if r["overrides"] else "")
        lines.append(
            f"| {config} | {r['seed']} | {asked} | {r['wrong']:,} | {', '.join(r['hard_wrong']) or 'none'} | "
            f"{reached} | {r['epochs']} | {r['train_s']:.1f} | {r['process_s']:.1f} | "
            f"{m['gpu'] or m['cpu']}, {m['cores']} cores, {m['date']} |"
        )
    wrong = [r for r in rows if r["wrong"]]
    if wrong:
        lines += ["", "Wrong answers, up to five per run, least likely true sum first:", ""]
        lines += [f"- {r['config']}, seed {r['seed']}: {'; '.join(r['worst'])}" for r in wrong]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=["2digit", "3digit"])
    parser.add_argument("--seeds", type=int, default=3, help="how many seeds: 1234, then 1, 2, ... (default: 3)")
    parser.add_argument("--samples", type=int, default=LARGE_SPACE_SAMPLES, help="problems asked of a large space")
    parser.add_argument("--output", type=Path, default=ROOT / "docs", help="where seeds.md and seeds.json go")
    parser.add_argument("overrides", nargs="*", help="extra CLI arguments after --, e.g. -- --trainer.max_epochs=2")
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    store = args.output / "seeds.json"
    rows = json.loads(store.read_text()) if store.exists() else []
    with tempfile.TemporaryDirectory() as log_dir:
        for config in args.configs:
            for seed in seeds(args.seeds):
                row = measure(config, seed, args.overrides, log_dir, args.samples)
                rows = [r for r in rows if (r["config"], r["seed"]) != (config, seed)] + [row]
                store.write_text(json.dumps(rows, indent=2) + "\n")  # after each run: no finished run is lost
                print(f"{config} seed {seed}: {row['wrong']:,} wrong of {row['problems']:,}", flush=True)
    rows.sort(key=lambda r: (r["config"], r["seed"] != SHIPPED_SEED, r["seed"]))
    store.write_text(json.dumps(rows, indent=2) + "\n")
    write_markdown(rows, args.output / "seeds.md")
    print(f"wrote {args.output / 'seeds.md'}")


if __name__ == "__main__":
    main()
