"""``export``: an ONNX model with a runner that answers exactly as the checkpoint does in a process that cannot import
lit_addition or torch, and a model card whose numbers are the checkpoint's."""

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from packaging.requirements import Requirement
from processes import BLOCK_LIT_ADDITION

from lit_addition import AdditionDataModule, InputError
from lit_addition.__main__ import main
from lit_addition.commands.export import CARD_FILE, check_export, export
from lit_addition.commands.model_card import model_card
from lit_addition.inference import CheckpointAdder, read_checkpoint
from lit_addition.runtime import APP, RUNNER, SHIPPED, encoding, requirements

# Run in a fresh interpreter that cannot import lit_addition or torch, using the exported folder alone.
ISOLATED = (
    BLOCK_LIT_ADDITION
    + r"""
import json, runpy
folder, problems_file = sys.argv[1:]
sys.path.insert(0, folder)
from adder import OnnxAdder

adder = OnnxAdder()
problems = json.load(open(problems_file))
errors = [str(e) for e in adder.answer_each(problems["bad"])]
print(json.dumps({"answers": adder.answer(problems["good"]), "errors": errors, "torch": "torch" in sys.modules}))
sys.argv = ["adder.py", "12+34", "5*3"]
runpy.run_path(f"{folder}/adder.py", run_name="__main__")
"""
)

BAD = ["5*3", "123+4", "-5+3", "", "٣+1", "1+2+3"]


def test_export_writes_the_model_the_verbatim_core_the_runner_the_demo_and_the_card(exported):
    assert {p.name for p in exported.iterdir()} == {
        "model.onnx",
        *SHIPPED,
        "facts.json",
        "requirements.txt",
        CARD_FILE,
        "notes.txt",
    }
    for name in SHIPPED:
        assert (exported / name).read_bytes() == (Path(encoding.__file__).parent / name).read_bytes()
    assert (exported / "notes.txt").read_text() == "the user's own file\n"  # left alone
    assert (exported / "requirements.txt").read_text().splitlines() == requirements()


def test_the_exported_requirements_are_the_packages_own_ranges_written_once():
    declared = {
        Requirement(r.split(";")[0]).name: Requirement(r.split(";")[0]) for r in metadata.requires("lit-addition")
    }
    shipped = [Requirement(r) for r in requirements()]
    assert [r.name for r in shipped] == [*RUNNER, *APP] == ["numpy", "onnxruntime", "gradio"]
    assert all(r.specifier == declared[r.name].specifier and str(r.specifier) for r in shipped)


def test_exported_model_answers_as_the_checkpoint_without_lit_addition_or_torch(exported, checkpoint_path, tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 100, 1_000), rng.integers(0, 100, 1_000)
    good = [f"{x}+{y}" if i % 3 else f" {x} + {y} " for i, (x, y) in enumerate(zip(a, b, strict=True))]
    (tmp_path / "problems.json").write_text(json.dumps({"good": good, "bad": BAD}))
    result = subprocess.run(
        [sys.executable, "-I", "-B", "-c", ISOLATED, str(exported), str(tmp_path / "problems.json")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    first_line, *runner_lines = result.stdout.splitlines()
    isolated = json.loads(first_line)
    model = CheckpointAdder.load(checkpoint_path)
    assert isolated["answers"] == model.answer(good)
    assert isolated["errors"] == [str(error) for error in model.answer_each(BAD)]
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
    answers = CheckpointAdder.load(checkpoint_path).answer([f"{a}+{b}" for a, b in test])
    exact = np.mean([answer == str(a + b) for answer, (a, b) in zip(answers, test, strict=True)])
    assert f"| exact answers (`test/seq_acc`) | {exact:.2%} |" in card
    assert "| answers identical to the checkpoint's | 100.00% |" in card
    assert "1,000 problems regenerated from the data module's seed (5)" in card
    assert "| `hidden_size` | `64` |" in card and "| `seed` | `5` |" in card
    assert "Two whole numbers from 0 to 99 (at most 2 digit(s) each)" in card
    assert 'python adder.py "53+6" "99+1"' in card  # examples the 2-digit model accepts
    assert "exported to ONNX from `tiny.ckpt`" in card
    for section in ("## Use", "## Model", "## Data", "## Evaluation", "## Intended use", "## Limits"):
        assert section in card


def test_facts_for_the_demo_page_are_the_cards(exported, checkpoint_path):
    facts = json.loads((exported / "facts.json").read_text())
    model = CheckpointAdder.load(checkpoint_path)
    assert facts["digits"] == 2 and facts["test_problems"] == 1_000 and facts["source"] == "tiny.ckpt"
    assert facts["parameters"] == sum(p.numel() for p in model.net.parameters())
    assert f"| exact answers (`test/seq_acc`) | {facts['test_seq_acc']:.2%} |" in (exported / CARD_FILE).read_text()


def test_the_data_module_of_a_cli_checkpoint_is_rebuilt_without_lightnings_own_entries(checkpoint_path):
    checkpoint = read_checkpoint(checkpoint_path)
    saved = {**checkpoint["datamodule_hyper_parameters"], "_instantiator": "lightning.pytorch.cli.instantiate_module"}
    adder = CheckpointAdder({**checkpoint, "datamodule_hyper_parameters": saved}, checkpoint_path)
    assert adder.data_hparams == checkpoint["datamodule_hyper_parameters"]
    check = check_export(adder, adder)
    assert check.score.problems == 1_000 and check.agreement == 1.0


def test_a_checkpoint_without_a_test_split_gets_a_card_that_says_so(checkpoint_path):
    checkpoint = {**read_checkpoint(checkpoint_path), "datamodule_hyper_parameters": None}
    adder = CheckpointAdder(checkpoint, checkpoint_path)
    assert check_export(adder, adder) is None and adder.facts["test_seq_acc"] is None
    card = model_card(adder, None)
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
