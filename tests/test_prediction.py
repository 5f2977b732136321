"""LightningCLI's ``predict`` on lines of problems: the dataset of lines, and ``predictions.jsonl`` in the log
directory with every line in place, bad lines included, written once even under DDP (a slow test: two processes)."""

import json
import subprocess
import sys

import pytest
import torch

from lit_addition import AdditionDataModule, InputError
from lit_addition.inference import CheckpointAdder
from lit_addition.prediction import PREDICTIONS_FILE, ProblemLines
from lit_addition.runtime.encoding import Encoding

STAR = """'5*3': '*' is not allowed: use only the digits 0-9, "+" and spaces, e.g. 535+61"""


def test_lines_that_parse_become_question_ids_and_the_others_keep_their_errors():
    encoding = Encoding(digits=2)
    lines = ProblemLines(["12+34", "5*3", " 9 + 9 ", ""], encoding)
    assert len(lines) == 2
    assert lines.rows.tolist() == [0, 2]
    assert encoding.decode_questions(lines.questions.numpy()) == ["12+34", "9+9"]
    assert {row: str(error) for row, error in lines.errors.items()} == {
        1: STAR,
        3: 'empty problem: write two whole numbers joined by "+", e.g. 535+61',
    }
    questions, rows = lines.__getitems__([1, 0])
    assert torch.equal(questions, lines.questions[[1, 0]]) and rows.tolist() == [2, 0]


def test_a_file_is_read_with_any_line_ending_and_bytes_that_are_not_utf8_fail_alone(tmp_path):
    path = tmp_path / "problems.txt"
    path.write_bytes(b"1+2\r\n3+4\r5+6\n\xff\xfe+1\n")
    lines = ProblemLines.from_file(path, Encoding(digits=2))
    assert lines.lines == ["1+2", "3+4", "5+6", "\ufffd\ufffd+1"]
    assert list(lines.errors) == [3]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "predict_file {path} is not a file: give a text file with one problem per line"),
        (b"", "predict_file {path} is empty: give a text file with one problem per line"),
        (
            b"5*3\n\n",
            "no line of predict_file {path} can be answered; line 1: " + STAR + " (and 1 more)",
        ),
    ],
)
def test_a_file_with_nothing_to_answer_is_refused(content, message, tmp_path):
    path = tmp_path / "problems.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as refused:
        ProblemLines.from_file(path, Encoding(digits=2))
    assert str(refused.value) == message.format(path=path)


def as_trained(checkpoint_path) -> list[str]:
    """The settings the checkpoint was trained with, as flags: its data, and float32. The command line's defaults
    are another config's, whose bf16-mixed would round this far-from-accurate model's near ties its own way, where
    the inference core answers in float32."""
    saved = CheckpointAdder.load(checkpoint_path).data_hparams
    data = [f"--data.{name}={value}" for name, value in saved.items() if value is not None]
    return [*data, "--trainer.precision=32-true"]


def predict(checkpoint_path, run_main, *args):
    """Run ``predict`` through ``main`` in this process, with the checkpoint's settings."""
    trained = as_trained(checkpoint_path)
    return run_main("predict", f"--ckpt_path={checkpoint_path}", *trained, "--trainer.enable_progress_bar=false", *args)


def test_predict_file_writes_every_line_in_place_and_fails_at_the_end(checkpoint_path, run_main, tmp_path):
    (tmp_path / "problems.txt").write_text("12+34\n5*3\n 99 + 1 \n-5+3\n")
    ran = predict(checkpoint_path, run_main, "--data.predict_file=problems.txt")
    (written,) = tmp_path.glob(f"logs/*/version_0/{PREDICTIONS_FILE}")
    answers = CheckpointAdder.load(checkpoint_path).answer(["12+34", "99+1"])
    assert [json.loads(line) for line in written.read_text().splitlines()] == [
        {"line": 1, "problem": "12+34", "answer": answers[0]},
        {"line": 2, "problem": "5*3", "error": STAR},
        {"line": 3, "problem": " 99 + 1 ", "answer": answers[1]},
        {
            "line": 4,
            "problem": "-5+3",
            "error": "'-5+3': negative numbers are not supported: both numbers must be 0 or more",
        },
    ]
    assert ran.err == [
        f"error: line 2: {STAR}",
        "error: line 4: '-5+3': negative numbers are not supported: both numbers must be 0 or more",
        f"error: 2 line(s) could not be answered: each is named above and recorded in {written.relative_to(tmp_path)}",
    ]
    assert ran.status == 2


def test_predict_without_a_file_answers_the_test_split(checkpoint_path, trained_data, run_main, tmp_path):
    ran = predict(checkpoint_path, run_main, "--trainer.logger=false", f"--trainer.default_root_dir={tmp_path}")
    assert (ran.status, ran.err) == (0, [])
    records = [json.loads(line) for line in (tmp_path / PREDICTIONS_FILE).read_text().splitlines()]
    data = AdditionDataModule(**trained_data)
    data.setup()
    test = [f"{a}+{b}" for a, b in data.problems("test")]
    assert [r["problem"] for r in records] == test
    assert [r["answer"] for r in records] == CheckpointAdder.load(checkpoint_path).answer(test)


@pytest.mark.slow
def test_under_ddp_the_file_is_written_once_with_every_rank_share(checkpoint_path, tmp_path):
    """Two CPU processes share 101 lines in batches of 8; rank 0 gathers and writes them all, in order."""
    problems = [f"{n % 100}+{n * 7 % 100}" for n in range(100)] + ["bad"]
    (tmp_path / "problems.txt").write_text("\n".join(problems) + "\n")
    trained = as_trained(checkpoint_path)
    result = subprocess.run(
        [sys.executable, "-m", "lit_addition", "predict", f"--ckpt_path={checkpoint_path}", *trained]
        + ["--data.predict_file=problems.txt", "--data.eval_batch_size=8", "--trainer.enable_progress_bar=false"]
        + ["--trainer.accelerator=cpu", "--trainer.devices=2", "--trainer.strategy=ddp"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result.stderr
    (written,) = tmp_path.glob(f"logs/*/version_0/{PREDICTIONS_FILE}")
    records = [json.loads(line) for line in written.open()]
    assert [r["line"] for r in records] == list(range(1, 102))
    assert [r["answer"] for r in records[:100]] == CheckpointAdder.load(checkpoint_path).answer(problems[:100])
    assert "error" in records[100]
    assert result.stderr.count("error: line 101:") == 1  # reported once, by rank 0
