"""The benchmark and results scripts run in their small modes, so they cannot rot; no figure here is a speed claim."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_script(name: str, *args: str) -> str:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / name), *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_benchmark_quick_writes_every_section(tmp_path):
    run_script("benchmark.py", "--quick", "--output", str(tmp_path))
    results = json.loads((tmp_path / "benchmarks.json").read_text())
    assert [row["problems"] for row in results["data"]["configs"]] == [5_050, 55_000]
    assert results["data"]["reference_loop"]["problems"] == 2_000
    (overhead,) = results["overhead"]
    assert overhead["batch_size"] == 32
    assert overhead["ratio"] == overhead["lightning_s_per_epoch"] / overhead["bare_s_per_epoch"]
    (recipe,) = results["time_to_accuracy"]
    assert recipe["epochs_run"] == 2 and len(recipe["curve"]) == 2
    assert 0 <= recipe["test_seq_acc"] <= 1
    loop = results["tuned_loop"]
    assert (loop["batch_size"], loop["peak_lr"], len(loop["runs"])) == (512, 0.02, 2)
    assert loop["train_s_total"] == min(run["train_s_total"] for run in loop["runs"]) > 0
    assert results["inference"]["problems"] == 5_050
    analysis = results["analysis"]
    assert (analysis["problems"], analysis["whole_space"]) == (10_000, True)
    assert analysis["evaluation_s"] < analysis["total_s"]
    report = (tmp_path / "benchmarks.md").read_text()
    assert "`python scripts/benchmark.py --quick`" in report
    headings = ("## 1. Generating", "## 2. Lightning's overhead", "## 3. Time to 99%", "## 4. Inference", "## 5. Error")
    for heading in headings:
        assert heading in report


def test_results_table_rows_merge_by_config(tmp_path):
    machine = {"cpu": "earlier CPU", "cores": 2, "gpu": None, "date": "2026-11-24"}
    earlier = {"config": "5digit", "overrides": [], "machine": machine, "epochs_run": 8, "char_epoch": 3,
               "char_train_s": 100.0, "seq_epoch": 5, "seq_train_s": 200.0, "test_seq_acc": 0.999,
               "reference_epochs": 30, "curve": []}  # fmt: skip
    stored = {"5digit": earlier}
    (tmp_path / "results.json").write_text(json.dumps(stored))
    run_script("results.py", "--configs", "2digit", "--output", str(tmp_path), "--", "--trainer.max_epochs=2")
    rows = json.loads((tmp_path / "results.json").read_text())
    assert rows["5digit"] == stored["5digit"]  # an earlier row survives a later run
    row = rows["2digit"]
    assert row["epochs_run"] == 2 and [r["epoch"] for r in row["curve"]] == [1, 2]
    assert row["reference_epochs"] == 55
    assert row["overrides"] == ["--trainer.max_epochs=2"]
    table = (tmp_path / "results.md").read_text()
    assert "| 5digit | 8 | 3 (100 s) | 5 (200 s) | 99.90% | 30 | earlier CPU, 2 cores, 2026-11-24 |" in table
    assert "| 2digit `--trainer.max_epochs=2` | 2 |" in table


@pytest.mark.slow  # torch.compile takes most of a minute to compile even for a few steps
def test_ablations_quick_compares_every_change(tmp_path):
    run_script("ablations.py", "--quick", "--output", str(tmp_path))
    results = json.loads((tmp_path / "ablations.json").read_text())
    changes = [row["change"] for row in results["rows"]]
    assert changes[:2] == ["fused AdamW", "torch.compile"] and len(changes) == 8
    assert changes[2].startswith("bf16 autocast (LSTMs in") and changes[3].startswith("bf16 autocast, LSTMs in float32")
    for row in results["rows"]:
        assert row["ratio"] == row["candidate_ms"] / row["baseline_ms"] and row["baseline_ms"] > 0
    assert "| fused AdamW |" in (tmp_path / "ablations.md").read_text()


def test_precision_quick_compares_three_runs():
    table = run_script("precision.py", "--quick").splitlines()
    rows = [line for line in table if line.startswith("| `")]
    assert len(rows) == 3 and rows[0].startswith("| `32-true` |") and rows[0].endswith("| 1.00x |")
    assert rows[1].startswith("| `bf16-mixed`, LSTMs in ") and "the fallback, forced" in rows[2]


def test_seeds_quick_counts_every_ordered_problem_per_seed(tmp_path):
    run_script(
        "seeds.py", "--configs", "2digit", "--seeds", "2", "--output", str(tmp_path), "--", "--trainer.max_epochs=1"
    )
    rows = json.loads((tmp_path / "seeds.json").read_text())
    assert [(row["config"], row["seed"], row["epochs"]) for row in rows] == [("2digit", 1234, 1), ("2digit", 1, 1)]
    for row in rows:
        assert (row["problems"], row["whole_space"]) == (10_000, True) and 0 < row["wrong"] <= 10_000
        assert row["epoch_99"] is None and "99+99" in row["hard_wrong"]  # one epoch learns next to nothing
    assert "| 2digit `--trainer.max_epochs=1` | 1234 | 10,000 (all) |" in (tmp_path / "seeds.md").read_text()


@pytest.mark.slow  # seven short trainings, each in a fresh process
def test_recipe_quick_adds_one_change_at_a_time(tmp_path):
    run_script("recipe.py", "--quick", "--output", str(tmp_path))
    rows = json.loads((tmp_path / "recipe.json").read_text())["rows"]
    assert [len(row["arguments"]) for row in rows] == [5, 5, 4, 3, 2, 1, 0]  # the epochs stay at one in quick mode
    decays = [argument for argument in rows[0]["arguments"] if argument.startswith("--model.weight_decay")]
    assert decays[-1] == "--model.weight_decay=0"  # the last word on weight decay: none at the start
    assert rows[0]["change"] == "the recipe before" and rows[-1]["arguments"] == []
    assert all(row["problems"] == 10_000 and row["epochs"] == 1 for row in rows)
    assert "| + weight decay 0.1 |" in (tmp_path / "recipe.md").read_text()
