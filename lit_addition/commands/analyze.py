"""The ``analyze`` command: where a trained model fails, over its whole problem space, in tables and pictures.

::

    python -m lit_addition analyze --ckpt_path CKPT --output DIR [--samples N] [--seed S]

It asks the model every problem a person can type with its digit count, ``a+b`` and ``b+a`` both counting (2 digits:
10,000; 3 digits: 1,000,000), or a uniform sample of ``--samples`` of them from a larger space, and writes into
``DIR``:

* ``report.json``: exact accuracy overall and for the checkpoint's train, val and test problems and the problems it
  never generated (by the split of each problem's unordered pair); the hard problems (all nines, the longest carry
  chains, zeros, ...) and the sums that carry into a new digit; by the longest carry chain; by the operands' digit
  counts; per answer position; the 20 worst problems; the problem count and the checkpoint;
* ``report.md``: the same as tables;
* ``errors.png``: the error map over the (a, b) grid, one pixel per problem up to 3 digits;
* ``carry.png``: exact accuracy by carry-chain length, per split.

The pictures need matplotlib (the ``plot`` extra); without it the JSON and Markdown are still written.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from tqdm import tqdm

from lit_addition.commands.folders import output_folder
from lit_addition.evaluation import BUCKET_NAMES, SAMPLES, SEED, WORST, evaluate, how_many, summary
from lit_addition.inference import CheckpointAdder
from lit_addition.runtime.adder import ANSWER_BATCH_SIZE
from lit_addition.runtime.errors import InputError

REPORT_JSON, REPORT_MD, ERRORS_PNG, CARRY_PNG = "report.json", "report.md", "errors.png", "carry.png"
PLOT_HINT = "the plots need matplotlib: pip install 'lit-addition[plot]'"


def analyze(
    ckpt_path: str | Path,
    output: str | Path,
    samples: int = SAMPLES,
    seed: int = SEED,
    batch_size: int = ANSWER_BATCH_SIZE,
) -> dict[str, Any]:
    """Evaluate a checkpoint over its problem space and write the report and pictures into the folder ``output``.

    Returns:
        The report, as written to ``report.json``.

    Raises:
        InputError: the checkpoint is bad, ``output`` cannot be written, or ``samples`` or ``batch_size`` is below 1.
    """
    for name, value in (("samples", samples), ("batch_size", batch_size)):
        if value < 1:
            raise InputError(f"--{name} must be at least 1, got {value}")
    adder = CheckpointAdder.load(ckpt_path)
    output = output_folder(output)
    total, _ = how_many(adder.encoding.digits, samples)
    with tqdm(total=total, unit="problems", unit_scale=True, disable=None, desc="analyze") as bar:
        evaluation = evaluate(adder, adder.splits(), samples, seed, batch_size, bar.update)
    report = {"checkpoint": str(ckpt_path), "seed": seed, **summary(evaluation)}
    title = f"{Path(ckpt_path).name}: {evaluation.encoding.digits}-digit addition"
    try:
        from lit_addition.commands.plots import carry_plot, error_map
    except ImportError as error:
        if error.name is None or error.name.split(".")[0] != "matplotlib":
            raise
        report["plots"] = None
    else:
        report["error_map"] = error_map(evaluation, output / ERRORS_PNG, title)
        carry_plot(report, output / CARRY_PNG, title)
        report["plots"] = [ERRORS_PNG, CARRY_PNG]
    (output / REPORT_JSON).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (output / REPORT_MD).write_text(markdown(report), encoding="utf-8")
    return report


def _percent(value: float | None) -> str:
    """A share as a percentage rounded down, so that 100.00% means every one."""
    return "–" if value is None else f"{math.floor(value * 10_000) / 100:.2f}%"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def _scope(report: dict[str, Any]) -> str:
    space = f"the {report['digits']}-digit space ({report['space']:,} problems: a+b and b+a both count)"
    if report["whole_space"]:
        return f"every ordered problem of {space}"
    return f"{report['problems']:,} ordered problems drawn uniformly from {space} with seed {report['seed']}"


def headline(report: dict[str, Any]) -> str:
    """One line: what was evaluated, how long it took, and how much was right."""
    splits = ""
    if report["by_split"] is not None:
        splits = " (" + ", ".join(f"{BUCKET_NAMES[r['split']]} {_percent(r['accuracy'])}" for r in report["by_split"])
        splits += ")"
    line = f"{_scope(report)} in {report['seconds']:.1f} s: {_percent(report['accuracy'])} exact{splits}"
    return line[0].upper() + line[1:]


def _split_name(row: dict[str, Any]) -> str:
    """A split as the tables name it: a split's problems were drawn once each and are asked both ways, so its 50
    drawn test problems are about 100 ordered ones (fewer where a+b is b+a)."""
    name = BUCKET_NAMES[row["split"]]
    return name if row.get("drawn") is None else f"{name} ({row['drawn']:,} drawn, asked as a+b and b+a)"


def _count_row(label: Any, row: dict[str, Any]) -> list[Any]:
    return [label, f"{row['problems']:,}", f"{row['wrong']:,}", _percent(row["accuracy"])]


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown tables."""
    counts = ["problems", "wrong", "exact"]
    splits = [r["split"] for r in report["by_split"] or []]
    lines = [f"# What `{Path(report['checkpoint']).name}` knows", "", headline(report) + ".", ""]
    if not splits:
        lines += ["The checkpoint records no data module, so its train, val and test problems are not known.", ""]
    rows = [_count_row("all", report)] + [_count_row(_split_name(r), r) for r in report["by_split"] or []]
    lines += _table(["", *counts], rows)

    lines += ["", "## Hard problems", "", "The problems a person tries first, always asked.", ""]
    rows = [
        [f"`{r['problem']}`", r["what"], r["true"], r["answer"], "☑" if r["right"] else "☒"] for r in report["hard"]
    ]
    lines += _table(["problem", "what it is", "true sum", "model", "right?"], rows)
    new_digit = report["carry_into_new_digit"]
    lines += ["", f"Sums that carry into a new digit ({report['digits'] + 1} digits): {new_digit['problems']:,} "
              f"problems, {new_digit['wrong']:,} wrong ({_percent(new_digit['accuracy'])} exact)."]  # fmt: skip

    lines += ["", "## By the longest carry chain", ""]
    lines += ["The longest run of consecutive columns that carry (999+1: 3); exact answers overall and per split.", ""]
    lines += _table(
        ["carry chain", *counts, *(BUCKET_NAMES[split] for split in splits)],
        [_count_row(r["carry_chain"], r) + [_percent(r[split]) for split in splits] for r in report["by_carry_chain"]],
    )

    lines += ["", "## By the operands' digit counts", ""]
    rows = [_count_row(" and ".join(map(str, r["digits"])), r) for r in report["by_digit_counts"]]
    lines += _table(["digits", *counts], rows)

    lines += ["", "## By answer position", "", "Characters right at each position of the answer, padding included.", ""]
    rows = [[r["position"], r["place"], f"{r['wrong']:,}", _percent(r["accuracy"])] for r in report["by_position"]]
    lines += _table(["position", "place", "wrong", "right"], rows)

    lines += ["", f"## The {WORST} worst problems", ""]
    lines += ["Wrong answers to which the model gave the true sum the lowest probability, worst first.", ""]
    header = ["problem", "true sum", "model", "P(true sum)", "P(model's answer)", "split", "carry chain"]
    rows = [
        [f"`{r['problem']}`", r["true"], r["answer"], f"{r['p_true']:.2e}", f"{r['p_answer']:.1%}",
         BUCKET_NAMES.get(r["split"], "–"), r["carry_chain"]]
        for r in report["worst"]
    ]  # fmt: skip
    lines += _table(header, rows) if rows else ["None: every answer is right."]

    lines += ["", "## Pictures", ""]
    if report["plots"] is None:
        lines.append(f"Not drawn: {PLOT_HINT}.")
    else:
        lines += [f"![error map]({ERRORS_PNG})", "", f"![accuracy by carry chain]({CARRY_PNG})"]
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Evaluate a checkpoint on its whole problem space; write tables, an error map and plots."
    parser.add_argument("--ckpt_path", required=True, help="checkpoint written by `fit`")
    parser.add_argument("--output", required=True, help="folder to write the report into (created if missing)")
    parser.add_argument(
        "--samples", type=int, default=SAMPLES,
        help="problems to sample when the space is too large to ask whole (4 digits or more; default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--seed",
        type=int,
        default=SEED,
        help="seed of the sample of a space too large to ask whole (default: %(default)s)",
    )
    parser.add_argument(
        "--batch_size", type=int, default=ANSWER_BATCH_SIZE, help="problems per forward pass (default: %(default)s)"
    )


def run(args: argparse.Namespace) -> None:
    report = analyze(args.ckpt_path, args.output, args.samples, args.seed, args.batch_size)
    print(headline(report))
    written = [REPORT_JSON, REPORT_MD, *(report["plots"] or [])]
    print(f"wrote {', '.join(str(Path(args.output) / name) for name in written)}")
    if report["plots"] is None:
        print(f"no errors.png or carry.png: {PLOT_HINT}")
