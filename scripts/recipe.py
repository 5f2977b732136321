"""What each change to the 3-digit recipe bought: wrong answers over every ordered problem, and training seconds.

    python scripts/recipe.py            # seven 3-digit runs, one change at a time: about 8 minutes on 2 CPU cores
    python scripts/recipe.py --quick    # the same steps on the 2-digit config for one epoch, for the test

Starts from the recipe the 3-digit config had before it knew addition (8 epochs, the reference's draw, one order,
no weight decay, no clipping) and adds the changes of today's ``configs/3digit.yaml`` one at a time, cumulatively,
each run trained by the CLI in a fresh process with the shipped seed. Per step: the wrong answers of the checkpoint
``fit`` kept over all 1,000,000 ordered problems, the hard problems it misses, the epoch and training seconds to 99%
exact validation accuracy, and the whole fit's training seconds. Writes docs/recipe.md and docs/recipe.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from report import machine_description
from seeds import SHIPPED_SEED, measure
from timing import ROOT

# (what changes, the CLI arguments that undo every later change): each step drops the first of the undoings.
BEFORE = [
    ("14 epochs instead of 8", "--trainer.max_epochs=8"),
    ("a quarter of the draws uniform over all ordered pairs (`data.uniform_share: 0.25`)", "--data.uniform_share=0"),
    ("each training problem in both orders (`data.both_orders: true`)", "--data.both_orders=false"),
    ("weight decay 0.1", "--model.weight_decay=0"),
    ("gradients clipped at norm 1 (`trainer.gradient_clip_val: 1.0`)", "--trainer.gradient_clip_val=null"),
    ("weight decay 0.2 instead of 0.1", "--model.weight_decay=0.1"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the 2-digit config for one epoch, for the test")
    parser.add_argument("--output", type=Path, default=ROOT / "docs", help="where recipe.md and recipe.json go")
    args = parser.parse_args()
    config, extra = ("2digit", ["--trainer.max_epochs=1"]) if args.quick else ("3digit", [])
    rows = []
    with tempfile.TemporaryDirectory() as log_dir:
        for step in range(len(BEFORE) + 1):
            # Earliest change last, so that its undoing wins where two set the same argument (weight decay).
            undone = [undo for _, undo in reversed(BEFORE[step:])]
            if args.quick:
                undone = [undo for undo in undone if "max_epochs" not in undo]
            run = measure(config, SHIPPED_SEED, [*undone, *extra], log_dir, samples=1_000_000)
            change = "the recipe before" if step == 0 else f"+ {BEFORE[step - 1][0]}"
            rows.append({"change": change, "arguments": undone, **run})
            print(f"{rows[-1]['change']}: {rows[-1]['wrong']:,} wrong", flush=True)
    command = "python scripts/recipe.py" + (" --quick" if args.quick else "")
    results = {"machine": machine_description(), "command": command, "config": f"configs/{config}.yaml", "rows": rows}
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "recipe.json").write_text(json.dumps(results, indent=2) + "\n")
    m = results["machine"]
    lines = ["# What each change to the 3-digit recipe bought", "",
             f"Measured by `{command}` on {m['date']}: {m['cpu']}, {m['cores']} cores, torch {m['torch']}. Each row "
             f"trains `{results['config']}` with the CLI (seed 1234) with every change above it and none below it; "
             "wrong answers are the kept checkpoint's over every ordered problem, a+b and b+a both counting; seconds "
             "are training seconds (validation and start-up excluded).", "",
             "| change | wrong | hard problems missed | 99% exact val: epoch (training s) | epochs | training s |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        reached = "not reached" if r["epoch_99"] is None else f"{r['epoch_99']} ({r['train_s_99']:.1f} s)"
        lines.append(f"| {r['change']} | {r['wrong']:,} of {r['problems']:,} | {', '.join(r['hard_wrong']) or 'none'} "
                     f"| {reached} | {r['epochs']} | {r['train_s']:.1f} |")  # fmt: skip
    if args.quick:
        lines += ["", "**Quick mode**: one epoch of the 2-digit config; these figures say nothing."]
    (args.output / "recipe.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.output / 'recipe.md'}")


if __name__ == "__main__":
    main()
