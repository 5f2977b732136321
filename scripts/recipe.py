"""What each change to the 3-digit recipe bought: seconds, examples seen and wrong answers over every ordered problem.

    python scripts/recipe.py            # one 3-digit fit per change, in a fresh process each: about 20 minutes
    python scripts/recipe.py --quick    # the same steps on the 2-digit config for one epoch, for the test

Starts from the recipe the 3-digit config had before (:data:`STEPS`' undoings all applied) and adds the changes of
today's ``configs/3digit.yaml`` one at a time, cumulatively, with the shipped seed. Per step: the whole fit's
seconds (validation included), the training examples it showed, the epoch it reached 99% exact on validation, and
the wrong answers of the checkpoint it kept over all 1,000,000 ordered problems. Writes docs/recipe.md and .json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from report import DOCS, command, header, machine, seconds, table
from runs import fit, knows

# (the change, the CLI arguments that undo it): step k runs with the undoings of every change from k on.
STEPS = [
    ("the decoder projects its constant input once (`model.project_once`)", ["--model.project_once=false"]),
    ("AdamW's second-moment decay 0.99 instead of 0.999 (`model.betas`)", ["--model.betas=[0.9,0.999]"]),
    ("batch 384, one-cycle to 0.025", ["--data.batch_size=192", "--model.learning_rate=0.016"]),
    ("weight decay 0.1 instead of 0.2", ["--model.weight_decay=0.2"]),
    ("every format at least 2% of an epoch (`data.format_floor`)", ["--data.format_floor=0"]),
    ("5% of the problems with 9s in the lowest columns and no carry (`data.nines_share`)", ["--data.nines_share=0"]),
    ("1% of the problems with 9s in the highest columns of both (`data.top_nines_share`)",
     ["--data.top_nines_share=0"]),
    ("10 epochs instead of 14", ["--trainer.max_epochs=14"]),
    ("2% of the problems drawn as carry chains into a new digit (`data.carry_share`)", ["--data.carry_share=0"]),
    ("the operands' digits in turns, column by column (`data.interleave`)", ["--data.interleave=false"]),
    ("5 epochs instead of 10, warming up over 15% of them instead of 30%",
     ["--trainer.max_epochs=10", "--model.warmup_fraction=0.3"]),
    ("1% of the problems with 0s in the lowest columns of both (`data.zeros_share`)", ["--data.zeros_share=0"]),
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the 2-digit config for one epoch, for the test")
    parser.add_argument("--output", type=Path, default=DOCS, help="where recipe.md and recipe.json go")
    args = parser.parse_args()
    config = "2digit" if args.quick else "3digit"
    rows = []
    for step in range(len(STEPS) + 1):
        # Later arguments win: the earliest change's undoing of a setting two changes touch (the epochs) goes last.
        undone = [argument for _, undo in reversed(STEPS[step:]) for argument in undo]
        if args.quick:
            undone = [argument for argument in undone if "max_epochs" not in argument] + ["--trainer.max_epochs=1"]
        with tempfile.TemporaryDirectory() as folder:
            run = fit(config, *undone, folder=folder)
            known = knows(run.checkpoint)
        reached = run.first("val/seq_acc", 0.99)
        rows.append(
            {"change": "the recipe before" if step == 0 else f"+ {STEPS[step - 1][0]}", "arguments": undone,
             "fit_s": run.train_s, "epochs": len(run.epochs), "examples": run.examples,
             "epoch_99": reached and int(reached["epoch"]), "wrong": known["wrong"], "problems": known["problems"],
             "hard_wrong": known["hard_wrong"]}
        )  # fmt: skip
        print(f"{rows[-1]['change']}: {rows[-1]['wrong']:,} wrong in {rows[-1]['fit_s']:.1f} s", flush=True)
    results = {"machine": machine(), "command": command(), "config": config, "rows": rows}
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "recipe.json").write_text(json.dumps(results, indent=2) + "\n")
    what = (
        f"Each row trains `configs/{config}.yaml` (seed 1234) with every change above it and none below it; wrong "
        "answers are the kept checkpoint's over every ordered problem; seconds are the whole fit's, validation "
        "included; examples are the training problems shown, repeats counted."
    )
    lines = header("What each change to the 3-digit recipe bought", results, what) + [""]
    lines += table(
        ["change", "fit s", "examples seen", "99% exact: epoch", "wrong", "hard problems missed"],
        [[r["change"], seconds(r["fit_s"]), f"{r['examples']:,}", r["epoch_99"] if r["epoch_99"] is not None
          else "not reached", f"**{r['wrong']:,}** of {r['problems']:,}", ", ".join(r["hard_wrong"]) or "none"]
         for r in rows],
    )  # fmt: skip
    (args.output / "recipe.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.output / 'recipe.md'}")


if __name__ == "__main__":
    main()
