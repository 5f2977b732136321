"""``analyze``: every figure of the report counted again directly, problem by problem, from the model's own answers;
the error map read back pixel by pixel; sampled spaces; the report without matplotlib; bad output folders and
sample counts. Bad checkpoints: test_checkpoints.py."""

import json
import sys
from collections import Counter
from pathlib import Path

import lightning as L
import numpy as np
import pytest
from helpers import refusal
from matplotlib.image import imread

from lit_addition import AdditionDataModule, AdditionModel
from lit_addition.commands.analyze import analyze
from lit_addition.commands.plots import EMPTY, RIGHT, WRONG
from lit_addition.evaluation import BUCKETS, longest_carry_chain, problems_to_ask
from lit_addition.inference import CheckpointAdder
from lit_addition.runtime.text import hard_problems


def carries_by_hand(a: int, b: int) -> int:
    """The longest run of consecutive carries, adding the decimal strings column by column."""
    longest = run = carry = 0
    for x, y in zip(str(a).zfill(9)[::-1], str(b).zfill(9)[::-1], strict=True):
        carry = int(int(x) + int(y) + carry >= 10)
        run = run + 1 if carry else 0
        longest = max(longest, run)
    return longest


@pytest.fixture(scope="module")
def analyzed(checkpoint_path, trained_data, tmp_path_factory):
    """The report of the session's 2-digit model, and every problem as asked with the model's own answer to it."""
    output = tmp_path_factory.mktemp("analysis")
    report = analyze(checkpoint_path, output)
    adder = CheckpointAdder.load(checkpoint_path)
    a, b, bucket, whole_space = problems_to_ask(2, adder.splits(), samples=1, seed=0)
    answers = adder.answer([f"{x}+{y}" for x, y in zip(a, b, strict=True)])
    right = np.array([answer == str(x + y) for answer, x, y in zip(answers, a, b, strict=True)])
    return report, output, a, b, bucket, right


def test_carry_chains_match_addition_by_hand():
    assert longest_carry_chain(np.array([999, 535, 55, 19, 0, 909]), np.array([1, 61, 45, 1, 0, 91]), 3).tolist() == [
        3, 0, 2, 1, 0, 3,
    ]  # fmt: skip
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 10**5, 2_000), rng.integers(0, 10**5, 2_000)
    assert longest_carry_chain(a, b, 5).tolist() == [carries_by_hand(x, y) for x, y in zip(a, b, strict=True)]


def test_every_ordered_problem_is_asked_once_in_the_split_of_its_pair(analyzed, trained_data):
    _, _, a, b, bucket, _ = analyzed
    asked = Counter(zip(a.tolist(), b.tolist(), strict=True))
    assert len(asked) == 10_000 and set(asked.values()) == {1} and all(x < 100 and y < 100 for x, y in asked)
    data = AdditionDataModule(**trained_data)
    data.setup()
    split_of = {
        pair: split for split in ("train", "val", "test") for x, y in data.problems(split) for pair in [(x, y), (y, x)]
    }
    labels = dict(zip(zip(a.tolist(), b.tolist(), strict=True), (BUCKETS[i] for i in bucket), strict=True))
    assert labels == {pair: split_of.get(pair, "never") for pair in asked}


def test_report_figures_equal_a_direct_count_over_all_10000_ordered_problems(analyzed, checkpoint_path):
    report, output, a, b, bucket, right = analyzed
    assert json.loads((output / "report.json").read_text()) == report
    assert report["checkpoint"] == str(checkpoint_path)
    assert (report["problems"], report["space"], report["whole_space"]) == (10_000, 10_000, True)
    model = CheckpointAdder.load(checkpoint_path)
    every = [f"{x}+{y}" for x in range(100) for y in range(100)]
    wrong = [
        problem for problem, answer in zip(every, model.answer(every), strict=True) if answer != str(eval(problem))
    ]
    assert report["wrong"] == len(wrong) == (~right).sum() > 0 and report["accuracy"] == right.mean()
    by_split = {row["split"]: row for row in report["by_split"]}
    assert sum(row["problems"] for row in report["by_split"]) == 10_000
    for index, name in enumerate(BUCKETS):
        mine = bucket == index
        assert (by_split[name]["problems"], by_split[name]["wrong"]) == (mine.sum(), (~right[mine]).sum())
    chains = np.array([carries_by_hand(x, y) for x, y in zip(a, b, strict=True)])
    for row in report["by_carry_chain"]:
        mine = chains == row["carry_chain"]
        assert (row["problems"], row["wrong"]) == (mine.sum(), (~right[mine]).sum())
        assert row["test"] == pytest.approx(right[mine & (bucket == BUCKETS.index("test"))].mean(), abs=1e-12)
    lengths = sorted(zip((len(str(x)) for x in a), (len(str(y)) for y in b), strict=True))
    digit_pairs = Counter(tuple(sorted(pair)) for pair in lengths)
    assert {tuple(row["digits"]): row["problems"] for row in report["by_digit_counts"]} == digit_pairs
    assert [row["place"] for row in report["by_position"]] == ["10^0", "10^1", "10^2"]
    new_digit = a + b >= 100
    assert report["carry_into_new_digit"]["problems"] == new_digit.sum() == 4_950
    assert report["carry_into_new_digit"]["wrong"] == (~right[new_digit]).sum()


def test_the_hard_problems_are_asked_and_reported(analyzed, checkpoint_path):
    report = analyzed[0]
    named = hard_problems(2)
    assert [(row["what"], row["problem"]) for row in report["hard"]] == [(w, f"{x}+{y}") for w, x, y in named]
    assert [row["problem"] for row in report["hard"]][:6] == ["99+1", "1+99", "99+99", "98+99", "99+98", "0+0"]
    answers = CheckpointAdder.load(checkpoint_path).answer([row["problem"] for row in report["hard"]])
    assert [row["answer"] for row in report["hard"]] == answers
    assert report["hard_wrong"] == [row["problem"] for row in report["hard"] if row["answer"] != row["true"]]
    assert "## Hard problems" in (analyzed[1] / "report.md").read_text()


def test_worst_problems_are_wrong_answers_with_the_least_probable_true_sum(analyzed, checkpoint_path):
    report = analyzed[0]
    worst = report["worst"]
    assert len(worst) == min(20, report["wrong"])
    assert [row["p_true"] for row in worst] == sorted(row["p_true"] for row in worst)
    answers = CheckpointAdder.load(checkpoint_path).answer([row["problem"] for row in worst])
    for row, answer in zip(worst, answers, strict=True):
        a, b = map(int, row["problem"].split("+"))
        assert row["true"] == str(a + b) != row["answer"] == answer
        assert row["p_true"] < row["p_answer"]
    markdown = (analyzed[1] / "report.md").read_text()
    assert f"| `{worst[0]['problem']}` | {worst[0]['true']} | {worst[0]['answer']} |" in markdown
    assert "| never generated |" in markdown and "![error map](errors.png)" in markdown


def test_error_map_has_one_pixel_per_problem(analyzed):
    report, output, a, b, _, right = analyzed
    where = report["error_map"]
    assert (where["size"], where["numbers_per_pixel"]) == (100, 1)
    image = np.round(imread(output / "errors.png")[..., :3] * 255).astype(np.uint8)
    top, left, size = where["top"], where["left"], where["size"]
    grid = image[top : top + size, left : left + size][::-1]  # row 0 at the bottom: b = 0
    expected = np.empty((100, 100, 3), dtype=np.uint8)
    expected[:] = EMPTY
    expected[b, a] = np.where(right[:, None], RIGHT, WRONG)
    assert np.array_equal(grid, expected)
    assert (grid == WRONG).all(-1).sum() == report["wrong"] > 0 and not (grid == EMPTY).all(-1).any()
    assert (output / "carry.png").stat().st_size > 0


def test_a_large_space_is_sampled_uniformly_seeded_and_binned(tmp_path):
    root = tmp_path / "trained"
    trainer = L.Trainer(max_steps=1, logger=False, enable_progress_bar=False, enable_model_summary=False,
                        default_root_dir=root)  # fmt: skip
    trainer.fit(AdditionModel(digits=4), AdditionDataModule(digits=4, num_samples=200, test_samples=50))
    (checkpoint,) = root.rglob("*.ckpt")
    report = analyze(checkpoint, tmp_path / "out", samples=3_000, seed=7)
    assert (report["problems"], report["space"], report["whole_space"]) == (3_000, 10**8, False)
    assert sum(row["problems"] for row in report["by_split"]) == 3_000
    assert report["error_map"]["numbers_per_pixel"] == 10
    data = CheckpointAdder.load(checkpoint).splits()
    a, b, _, _ = problems_to_ask(4, data, samples=3_000, seed=7)
    again, _, _, _ = problems_to_ask(4, data, samples=3_000, seed=7)
    other, _, _, _ = problems_to_ask(4, data, samples=3_000, seed=8)
    assert np.array_equal(a, again) and not np.array_equal(a, other)
    assert len(set(zip(a.tolist(), b.tolist(), strict=True))) == 3_000
    # Uniform over ordered pairs: each operand's mean is half the range, the larger's 2/3, the smaller's 1/3.
    assert a.mean() == pytest.approx(5_000, rel=0.04) and b.mean() == pytest.approx(5_000, rel=0.04)
    assert np.maximum(a, b).mean() == pytest.approx(6_667, rel=0.03)
    assert len(report["hard"]) == len(hard_problems(4))  # asked whatever the sample


def test_without_matplotlib_the_tables_are_written_and_one_line_says_how_to_get_the_plots(
    checkpoint_path, run_main, tmp_path, monkeypatch
):
    # None in sys.modules makes `import matplotlib` fail as if it were not installed; the plots module, once
    # forgotten, is imported again, and fails to import it.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.delitem(sys.modules, "lit_addition.commands.plots", raising=False)
    ran = run_main("analyze", "--ckpt_path", str(checkpoint_path), "--output", "report")
    assert (ran.status, ran.err) == (0, [])
    output = tmp_path / "report"
    assert sorted(p.name for p in output.iterdir()) == ["report.json", "report.md"]
    assert json.loads((output / "report.json").read_text())["plots"] is None
    hint = "the plots need matplotlib: pip install 'lit-addition[plot]'"
    assert f"Not drawn: {hint}." in (output / "report.md").read_text()
    assert ran.out[0].startswith("Every ordered problem of the 2-digit space (10,000 problems: a+b and b+a both count)")
    assert ran.out[-1] == f"no errors.png or carry.png: {hint}"
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # nothing else written to the current directory


def test_bad_output_folders_and_sample_counts_get_one_line(checkpoint_path, run_main, tmp_path):
    (tmp_path / "a_file").write_text("")
    ckpt = str(checkpoint_path)
    assert refusal(run_main("analyze", "--ckpt_path", ckpt, "--output", "a_file")) == (
        "--output a_file is a file: give a folder (it is created if missing)"
    )
    inside_a_file = Path("a_file") / "report"
    assert refusal(run_main("analyze", "--ckpt_path", ckpt, "--output", str(inside_a_file))) == (
        f"--output {inside_a_file} cannot be written (Not a directory): give a folder you can write to"
    )
    for option in ("--samples", "--batch_size"):
        assert refusal(run_main("analyze", "--ckpt_path", ckpt, "--output", "out", option, "0")) == (
            f"{option} must be at least 1, got 0"
        )
    assert not (tmp_path / "out").exists()
