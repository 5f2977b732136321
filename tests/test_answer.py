"""The ``answer`` command: arguments and piped lines, text and JSON, bad lines alongside good ones, exit status,
batch-by-batch streaming, and, in a fresh process with a file on its standard input, a start without Lightning or
the export, demo and plot extras (the inference core imports no Lightning). Bad checkpoints: test_checkpoints.py."""

import json
import subprocess
import sys

from helpers import refusal

from lit_addition.inference import CheckpointAdder
from lit_addition.runtime.adder import Adder, answer_stream

NEGATIVE = "'-5+3': negative numbers are not supported: both numbers must be 0 or more"
STAR = """'5*3': '*' is not allowed: use only the digits 0-9, "+" and spaces, e.g. 535+61"""
TOO_LONG = (
    "'123+4': 123 has 3 digits, but this model adds numbers of at most 2 digits (0 to 99): use a model trained with "
    "more digits"
)
FULL_WIDTH = "'５+1': '５' is not an ASCII digit: write the numbers with the digits 0-9"


def test_problems_as_arguments_get_one_line_each_and_bad_ones_an_error(checkpoint_path, run_main):
    problems = ["12+34", " 7 + 8 ", "5*3", "99+1", "123+4", "-5+3", "５+1"]
    answers = CheckpointAdder.load(checkpoint_path).answer(["12+34", "7+8", "99+1"])
    # "--" ends the options, as usual, so that "-5+3" reaches the parser rather than argparse.
    ran = run_main("answer", "--ckpt_path", str(checkpoint_path), "--", *problems)
    assert ran.out == [f"12+34 = {answers[0]}", f"7 + 8 = {answers[1]}", f"99+1 = {answers[2]}"]
    assert ran.err == [
        f"error: argument 3: {STAR}",
        f"error: argument 5: {TOO_LONG}",
        f"error: argument 6: {NEGATIVE}",
        f"error: argument 7: {FULL_WIDTH}",
        "error: 4 of 7 problem(s) could not be answered: fix the arguments named above",
    ]
    assert ran.status == 2


def test_all_good_problems_exit_0(checkpoint_path, run_main):
    ran = run_main("answer", "--ckpt_path", str(checkpoint_path), "1+1", "2+2")
    assert (ran.status, len(ran.out), ran.err) == (0, 2, [])


def test_stdin_lines_with_json_output_keep_every_line_in_place(checkpoint_path, run_main):
    lines = b"12+34\r\n\n-5+3\n99 + 1\n\xff+1\n1+2+3"  # CRLF, an empty line, bytes that are not UTF-8, no final EOL
    good = CheckpointAdder.load(checkpoint_path).answer(["12+34", "99+1"])
    ran = run_main("answer", "--ckpt_path", str(checkpoint_path), "--json", stdin=lines)
    assert [json.loads(line) for line in ran.out] == [
        {"line": 1, "problem": "12+34", "answer": good[0]},
        {"line": 2, "problem": "", "error": 'empty problem: write two whole numbers joined by "+", e.g. 535+61'},
        {"line": 3, "problem": "-5+3", "error": NEGATIVE},
        {"line": 4, "problem": "99 + 1", "answer": good[1]},
        {"line": 5, "problem": "\ufffd+1", "error": "'\ufffd+1': the text is not valid UTF-8: save it as UTF-8"},
        {
            "line": 6,
            "problem": "1+2+3",
            "error": """'1+2+3': 2 "+" signs found: a problem adds two numbers, e.g. 535+61""",
        },
    ]
    assert [line.split(": ")[1] for line in ran.err] == [
        "line 2",
        "line 3",
        "line 5",
        "line 6",
        "4 of 6 problem(s) could not be answered",
    ]
    assert ran.status == 2


def test_stdin_streams_in_batches_without_reading_ahead(checkpoint_path, capsys):
    """Each batch is answered and printed before the next batch is read: memory stays bounded for any file."""
    model = CheckpointAdder.load(checkpoint_path)
    consumed = 0

    def lines():
        nonlocal consumed
        for number in range(10):
            consumed += 1
            yield f"{number}+{number}"

    seen_when_predicting = []

    class Watched(Adder):
        encoding = model.encoding

        def logits(self, question_ids):
            seen_when_predicting.append(consumed)
            return model.logits(question_ids)

    total, failed = answer_stream(Watched(), lines(), batch_size=4, as_json=False)
    assert (total, failed) == (10, 0)
    assert seen_when_predicting == [4, 8, 10]
    answers = model.answer([f"{n}+{n}" for n in range(10)])
    assert capsys.readouterr().out.splitlines() == [f"{n}+{n} = {answer}" for n, answer in enumerate(answers)]


def test_batch_size_below_one_is_refused(checkpoint_path, run_main):
    ran = run_main("answer", "--ckpt_path", str(checkpoint_path), "--batch_size", "0", "1+1")
    assert refusal(ran) == "batch_size must be at least 1, got 0" and ran.out == []


# Runs `python -m lit_addition ARGS` and prints, at exit, which heavy modules the process imported; first, that the
# inference core imports no Lightning.
WATCHED = """
import atexit, json, runpy, sys
import lit_addition.inference
assert "lightning" not in sys.modules, "lit_addition.inference imported Lightning"
heavy = ("gradio", "onnx", "onnxscript", "onnxruntime", "matplotlib", "lightning", "litserve")
atexit.register(lambda: print(json.dumps([m for m in heavy if m in sys.modules]), file=sys.stderr))
sys.argv = ["lit_addition", *sys.argv[1:]]
runpy.run_module("lit_addition", run_name="__main__", alter_sys=True)
"""


def test_a_piped_file_is_answered_by_a_process_without_lightning_or_the_extras(checkpoint_path, tmp_path):
    """The real command in a fresh process, with a file on stdin, as a user would pipe it: what it imports is only
    known in a process of its own."""
    problems = tmp_path / "problems.txt"
    problems.write_text("12+34\n5*3\n99+1\n")
    with problems.open("rb") as stdin:
        result = subprocess.run(
            [sys.executable, "-c", WATCHED, "answer", "--ckpt_path", str(checkpoint_path)],
            stdin=stdin,
            capture_output=True,
            text=True,
        )
    answers = CheckpointAdder.load(checkpoint_path).answer(["12+34", "99+1"])
    assert result.stdout.splitlines() == [f"12+34 = {answers[0]}", f"99+1 = {answers[1]}"]
    *errors, imported = result.stderr.splitlines()
    assert errors == [
        f"error: line 2: {STAR}",
        "error: 1 of 3 problem(s) could not be answered: fix the lines named above",
    ]
    assert json.loads(imported) == []
    assert result.returncode == 2
