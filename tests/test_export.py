"""``export``: an ONNX model with a runner that answers exactly as the checkpoint does in a process that cannot import
lit_addition or torch, and a model card whose numbers are the checkpoint's."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lit_addition import AdditionDataModule, InputError, encoding
from lit_addition.checkpoint import load_model, read_checkpoint
from lit_addition.cli import main
from lit_addition.export import CARD_FILE, evaluate_test_split, export
from lit_addition.model_card import model_card

# Run in a fresh interpreter: block lit_addition and torch, then use the exported folder alone.
ISOLATED = r"""
import importlib.abc, json, runpy, sys

class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"lit_addition", "torch", "lightning"}:
            raise ModuleNotFoundError(f"blocked: {name}")

sys.meta_path.insert(0, Blocked())
try:
    import lit_addition
    sys.exit("lit_addition was importable")
except ModuleNotFoundError:
    pass
folder, problems_file = sys.argv[1:]
sys.path.insert(0, folder)
from addition_onnx import OnnxAdder

adder = OnnxAdder()
problems = json.load(open(problems_file))
errors = [str(e) for e in adder.answer_each(problems["bad"])]
print(json.dumps({"answers": adder.answer(problems["good"]), "errors": errors, "torch": "torch" in sys.modules}))
sys.argv = ["addition_onnx.py", "12+34", "5*3"]
runpy.run_path(f"{folder}/addition_onnx.py", run_name="__main__")
"""

BAD = ["5*3", "123+4", "-5+3", "", "٣+1", "1+2+3"]


@pytest.fixture(scope="module")
def exported(checkpoint_path, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("exported")
    (folder / "app.py").write_text("# a demo app that lives in the same folder\n")
    main(["export", "--ckpt_path", str(checkpoint_path), "--output", str(folder)])
    return folder


def test_export_writes_the_model_the_verbatim_core_the_runner_and_the_card(exported):
    assert {p.name for p in exported.iterdir()} == {
        "model.onnx",
        "encoding.py",
        "addition_onnx.py",
        CARD_FILE,
        "app.py",
    }
    assert (exported / "encoding.py").read_bytes() == Path(encoding.__file__).read_bytes()
    assert (exported / "app.py").read_text() == "# a demo app that lives in the same folder\n"  # left alone


def test_exported_model_answers_as_the_checkpoint_without_lit_addition_or_torch(exported, checkpoint_path, tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 100, 1_000), rng.integers(0, 100, 1_000)
    good = [f"{x}+{y}" if i % 3 else f" {x} + {y} " for i, (x, y) in enumerate(zip(a, b, strict=True))]
    (tmp_path / "problems.json").write_text(json.dumps({"good": good, "bad": BAD}))
    result = subprocess.run(
        [sys.executable, "-I", "-c", ISOLATED, str(exported), str(tmp_path / "problems.json")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    first_line, *runner_lines = result.stdout.splitlines()
    isolated = json.loads(first_line)
    model = load_model(checkpoint_path)
    assert isolated["answers"] == model.answer(good)
    assert isolated["errors"] == [str(error) for error in model.encoding.answer_each(BAD, model.logits)]
    assert isolated["torch"] is False
    # The runner as a script: one line per good problem, an error per bad one, status 2.
    assert runner_lines == [f"12+34 = {model.answer(['12+34'])[0]}"]
    assert result.stderr.strip().splitlines()[-1] == (
        """error: argument 2: '5*3': '*' is not allowed: use only the digits 0-9, "+" and spaces, e.g. 535+61"""
    )
    assert result.returncode == 2


def test_model_card_reports_the_checkpoints_config_data_and_test_scores(exported, checkpoint_path, trained_data):
    card = (exported / CARD_FILE).read_text()
    data = AdditionDataModule(**trained_data)
    data.setup()
    test = data.problems("test")
    answers = load_model(checkpoint_path).answer([f"{a}+{b}" for a, b in test])
    exact = np.mean([answer == str(a + b) for answer, (a, b) in zip(answers, test, strict=True)])
    assert f"| exact answers (`test/seq_acc`) | {exact:.2%} |" in card
    assert "| answers identical to the checkpoint's | 100.00% |" in card
    assert "1,000 problems regenerated from the data module's seed (5)" in card
    assert "| `hidden_size` | `64` |" in card and "| `seed` | `5` |" in card
    assert "Two whole numbers from 0 to 99 (at most 2 digit(s) each)" in card
    assert 'python addition_onnx.py "53+6" "99+1"' in card  # examples the 2-digit model accepts
    assert "exported to ONNX from `tiny.ckpt`" in card
    for section in ("## Use", "## Model", "## Data", "## Evaluation", "## Intended use", "## Limits"):
        assert section in card


def test_a_checkpoint_without_a_test_split_gets_a_card_that_says_so(checkpoint_path):
    model = load_model(checkpoint_path)
    assert evaluate_test_split(model.logits, model, {}) is None
    checkpoint = {**read_checkpoint(checkpoint_path), "datamodule_hyper_parameters": None}
    card = model_card(model, checkpoint, "tiny.ckpt", None)
    assert "Not measured: the checkpoint records no data module with a test split" in card
    assert "The checkpoint does not record its data module." in card


def test_export_refuses_a_file_as_output_and_a_bad_checkpoint(checkpoint_path, tmp_path, capsys):
    (tmp_path / "taken").write_text("")
    with pytest.raises(InputError, match=r"--output .*taken is a file: give a folder"):
        export(checkpoint_path, tmp_path / "taken")
    with pytest.raises(SystemExit) as exit:
        main(["export", "--ckpt_path", str(tmp_path / "missing.ckpt"), "--output", str(tmp_path / "out")])
    assert exit.value.code == 2
    assert capsys.readouterr().err.startswith(f"error: checkpoint {tmp_path / 'missing.ckpt'} does not exist")
    assert not (tmp_path / "out").exists()
