"""The measuring scripts run in their quick modes into a temporary folder, so they cannot rot: each writes the files
it promises, with the fields its reports need, figures that can be true (0 <= wrong <= problems, positive seconds,
the epochs asked for) and rows that merge with earlier ones by config and seed. No figure here is a speed claim, and
no script's own ratio or minimum is worked out again here. Each script runs in this process (its ``main``, with its
own command line); the fits it measures run as a user runs them, in fresh processes."""

import json
import runpy
import sys

import pytest
import torch
from helpers import ROOT, config

from lit_addition.network import cpu_lstm_runs
from lit_addition.runtime.text import hard_problems

SCRIPTS = ROOT / "scripts"
HARD_2_DIGITS = {f"{a}+{b}" for _, a, b in hard_problems(2)}


def run_script(monkeypatch, capsys, name: str, *args: str) -> list[str]:
    """``python scripts/NAME ARGS``, in this process; returns what it printed, line by line."""
    monkeypatch.syspath_prepend(str(SCRIPTS))  # the scripts import each other, as from their own folder
    monkeypatch.setattr(sys, "argv", [str(SCRIPTS / name), *args])
    capsys.readouterr()
    runpy.run_path(str(SCRIPTS / name), run_name="__main__")
    return capsys.readouterr().out.splitlines()


def assert_asked_the_whole_space(row: dict) -> None:
    """A row of a checkpoint asked every ordered 2-digit problem: counts that can be true."""
    assert row["problems"] == 10_000 and row.get("whole_space", True) is True
    assert 0 <= row["wrong"] <= row["problems"]
    assert set(row["hard_wrong"]) <= HARD_2_DIGITS


def assert_recorded_here(measured: dict, script: str) -> None:
    """The machine and the command that measured a report, as the report's header names them."""
    assert {"cpu", "cores", "gpu", "machine", "python", "lightning", "torch_threads", "date"} <= measured[
        "machine"
    ].keys()
    assert measured["machine"]["cores"] >= 1 and measured["command"].startswith(f"python scripts/{script} ")


def test_benchmark_quick_writes_every_section(monkeypatch, capsys, tmp_path):
    printed = run_script(monkeypatch, capsys, "benchmark.py", "--quick", "--output", str(tmp_path))
    assert printed[-1] == f"wrote {tmp_path / 'benchmarks.md'}"
    results = json.loads((tmp_path / "benchmarks.json").read_text())
    assert_recorded_here(results, "benchmark.py")
    assert results["quick"] is True
    know = results["know"]
    assert know["config"] == "2digit" and know["epochs"] == 2  # quick: the 2-digit config for two epochs
    assert know["fit_s"] == min(know["fit_runs_s"]) > 0 and len(know["fit_runs_s"]) == 2
    assert know["ask_s"] > 0 and know["loop_s"] > 0
    assert_asked_the_whole_space(know)
    assert 0 <= know["loop_wrong"] <= 10_000 and 0 <= know["loop_final_val"] <= 1
    if know["fit_99"] is not None:  # reached 99% exact on validation: at an epoch that ran
        assert 0 <= know["fit_99"]["epoch"] < know["epochs"]
    overhead = results["overhead"]
    assert overhead["batch_size"] == config("2digit")["data"]["batch_size"]
    assert len(overhead["pairs"]) == 1 and overhead["flops"] > 0  # quick: one pair of epochs
    assert overhead["pairs"][0].keys() == {"bare_s", "fit_s"} and min(overhead["pairs"][0].values()) > 0
    assert "float32" in results["peak_gflops"] and ("bfloat16" in results["peak_gflops"]) == cpu_lstm_runs(
        torch.bfloat16
    )
    assert results["setup_s"].keys() == {"2digit"} and results["setup_s"]["2digit"] > 0
    report = (tmp_path / "benchmarks.md").read_text()
    assert f"`{results['command']}`" in report
    for heading in ("Time to know", "Lightning's own cost", "How close to the machine's limit",
                    "Drawing and asking the problems"):  # fmt: skip
        assert f"\n## {heading}\n" in report
    assert f"**{know['wrong']:,}** of 10,000" in report


def earlier_row(config_name: str, seed: int, overrides: list[str], wrong: int) -> dict:
    """A row of seeds.json as an earlier run on another machine wrote it."""
    machine = {"cpu": "earlier CPU", "cores": 8, "gpu": None, "machine": "an earlier machine", "python": "3.11",
               "lightning": "2.6", "torch_threads": 8, "date": "2026-11-24"}  # fmt: skip
    return {"config": config_name, "seed": seed, "overrides": overrides, "machine": machine,
            "command": "python scripts/seeds.py", "epochs": 8, "train_s": 300.0, "process_s": 310.0,
            "reached": {"char_acc": {"epoch": 2, "train_s": 80.0}, "seq_acc": {"epoch": 4, "train_s": 150.0}},
            "checkpoint": "epoch007.ckpt", "problems": 1_000_000, "whole_space": False, "wrong": wrong,
            "hard_wrong": [], "worst": ["99999+1 = 10000 (never)"] if wrong else []}  # fmt: skip


def test_seeds_counts_every_problem_per_seed_and_merges_rows_by_config_and_seed(monkeypatch, capsys, tmp_path):
    quick = ["--trainer.max_epochs=1"]
    kept = earlier_row("5digit", 1234, [], wrong=3)
    replaced = earlier_row("2digit", 7, quick, wrong=-1)  # the same config, seed and overrides as a row run now
    (tmp_path / "seeds.json").write_text(json.dumps([kept, replaced]))
    printed = run_script(
        monkeypatch, capsys, "seeds.py", "--configs", "2digit", "--seeds", "1234", "7", "--output", str(tmp_path),
        "--", *quick,
    )  # fmt: skip
    rows = json.loads((tmp_path / "seeds.json").read_text())
    ours = [row for row in rows if row["config"] == "2digit"]
    assert [(row["seed"], row["overrides"], row["epochs"]) for row in ours] == [(1234, quick, 1), (7, quick, 1)]
    assert [row for row in rows if row["config"] == "5digit"] == [kept]  # an earlier row survives a later run
    for row in ours:
        assert_asked_the_whole_space(row)
        assert_recorded_here(row, "seeds.py")
        assert row["train_s"] > 0 and row["process_s"] > row["train_s"] and row["checkpoint"].startswith("epoch")
        assert row["reached"].keys() == {"char_acc", "seq_acc"}
        assert len(row["worst"]) == min(20, row["wrong"])
    assert printed == [f"2digit seed {row['seed']}: {row['wrong']:,} wrong of 10,000" for row in ours]
    table = (tmp_path / "seeds.md").read_text()
    for row in ours:
        assert (
            f"| 2digit `--trainer.max_epochs=1` | {row['seed']} (chosen on) | 10,000 (all) | **{row['wrong']:,}** |"
            in table
        )
    kept_row = (
        "| 5digit | 1234 (chosen on) | 1,000,000 (sampled) | **3** | none | 4 (150.0 s) | 8 | 300.0 | earlier CPU"
    )
    assert kept_row in table
    # The reference's table: the shipped seed's row of each config run without overrides, here the earlier one.
    results = (tmp_path / "results.md").read_text()
    assert "| 5digit | 8 | 2 (80.0 s) | 4 (150.0 s) | 3 of 1,000,000 |" in results and "| 2digit |" not in results


def test_precision_quick_compares_bf16_mixed_with_32_true(monkeypatch, capsys):
    printed = run_script(monkeypatch, capsys, "precision.py", "--quick")
    assert printed[0] == "# bf16-mixed on this CPU"
    lstm = "in bfloat16" if cpu_lstm_runs(torch.bfloat16) else "in float32: this CPU has no bfloat16 LSTM"
    assert printed[2].startswith("Measured by `python scripts/precision.py --quick`") and lstm in printed[2]
    rows = [line.split(" | ") for line in printed if line.startswith("| `")]
    assert [row[0] for row in rows] == ["| `32-true`", "| `bf16-mixed`"]
    for _, accuracy, seconds, _ in rows:
        assert 0 <= float(accuracy.removesuffix("%")) <= 100 and float(seconds) > 0
    assert rows[0][3] == "1.00x |"  # the baseline, against itself


@pytest.mark.slow  # one fit per step of the recipe, each in a fresh process: over half a minute
def test_recipe_quick_adds_one_change_at_a_time(monkeypatch, capsys, tmp_path):
    printed = run_script(monkeypatch, capsys, "recipe.py", "--quick", "--output", str(tmp_path))
    assert printed[-1] == f"wrote {tmp_path / 'recipe.md'}"
    results = json.loads((tmp_path / "recipe.json").read_text())
    assert_recorded_here(results, "recipe.py")
    rows = results["rows"]
    assert results["config"] == "2digit" and len(rows) >= 2
    assert rows[0]["change"] == "the recipe before" and all(row["change"].startswith("+ ") for row in rows[1:])
    # Cumulative: each step keeps the undoings of the changes after it (the quick mode drops those of the epochs),
    # and the last runs the config as shipped, but for the one epoch of the quick mode.
    for before, after in zip(rows, rows[1:], strict=False):
        assert set(after["arguments"]) <= set(before["arguments"])
    assert rows[-1]["arguments"] == ["--trainer.max_epochs=1"] and len(rows[0]["arguments"]) > 1
    for row in rows:
        assert_asked_the_whole_space(row)
        assert row["epochs"] == 1 and row["fit_s"] > 0 and row["examples"] > 0
    table = (tmp_path / "recipe.md").read_text()
    assert all(f"| {row['change']} |" in table for row in rows)


@pytest.mark.parametrize(
    ("script", "args", "refusal"),
    [
        (
            "baselines.py",
            ["9digit"],
            "argument config: invalid choice: '9digit' (choose from '2digit', '3digit', '4digit', '5digit')",
        ),
        ("baselines.py", ["2digit", "--epochs", "0"], "argument --epochs: '0' is not a whole number of at least 1"),
        ("precision.py", ["--epochs", "two"], "argument --epochs: 'two' is not a whole number of at least 1"),
    ],
)
def test_scripts_refuse_a_bad_config_or_epoch_count_in_one_line(monkeypatch, capsys, script, args, refusal):
    with pytest.raises(SystemExit) as exit_:
        run_script(monkeypatch, capsys, script, *args)
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"{script}: error: {refusal}"
