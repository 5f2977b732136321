"""``export``: an ONNX model with a runner that answers exactly as the checkpoint does in a process that cannot import
lit_addition or torch, and behaves as ``answer`` does on the command line; safetensors weights that answer as the
checkpoint does in a process that cannot import Lightning; and a README.md whose front matter the Hub's own parser
reads as the Space's settings and the model's metadata, and whose numbers are the checkpoint's."""

import json
import os
import pty
import subprocess
import sys
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import ModelCard, metadata_load
from packaging.requirements import Requirement
from processes import BLOCK_LIGHTNING, BLOCK_LIT_ADDITION

from lit_addition import AdditionDataModule, InputError
from lit_addition.__main__ import main
from lit_addition.commands.export import check_export, export
from lit_addition.commands.model_card import CARD_FILE, model_card
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


def test_export_writes_the_model_the_verbatim_core_the_runner_the_demo_the_weights_and_the_card(exported):
    assert {p.name for p in exported.iterdir()} == {
        "model.onnx",
        *SHIPPED,
        "facts.json",
        "requirements.txt",
        "model.safetensors",
        "config.json",
        "README.md",
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
    # The runner as a script: one line per good problem, an error per bad one and a summary, status 2.
    assert runner_lines == [f"12+34 = {model.answer(['12+34'])[0]}"]
    assert result.stderr.strip().splitlines()[-2:] == [
        """error: argument 2: '5*3': '*' is not allowed: use only the digits 0-9, "+" and spaces, e.g. 535+61""",
        "error: 1 of 2 problem(s) could not be answered: fix the arguments named above",
    ]
    assert result.returncode == 2


def test_a_model_that_reads_the_digits_in_turns_exports_and_answers_as_its_checkpoint(
    interleaved_checkpoint_path, tmp_path
):
    folder = tmp_path / "exported"
    main(["export", "--ckpt_path", str(interleaved_checkpoint_path), "--output", str(folder)])
    model = CheckpointAdder.load(interleaved_checkpoint_path)
    assert model.encoding.interleave and model.encoding.question_length == 4  # 2 digits in turns, no "+"
    good = [f"{x}+{y}" for x in range(0, 100, 7) for y in range(0, 100, 9)]
    (tmp_path / "problems.json").write_text(json.dumps({"good": good, "bad": BAD}))
    result = subprocess.run(
        [sys.executable, "-I", "-B", "-c", ISOLATED, str(folder), str(tmp_path / "problems.json")],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    isolated = json.loads(result.stdout.splitlines()[0])
    assert isolated["answers"] == model.answer(good)
    assert isolated["errors"] == [str(error) for error in model.answer_each(BAD)]
    assert json.loads((folder / "config.json").read_text())["interleave"] is True


def run_adder(exported: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """``python adder.py ARGS`` in the exported folder, as a user runs it there."""
    command = [sys.executable, "-B", "adder.py", *args]  # -I would leave the folder off sys.path
    return subprocess.run(command, input=stdin, capture_output=True, text=True, cwd=exported)


def test_the_runner_answers_standard_input_as_answer_does(exported, checkpoint_path):
    model = CheckpointAdder.load(checkpoint_path)
    result = run_adder(exported, stdin="12+34\n5*3\n 99 + 1 \n")
    assert result.stdout.splitlines() == [
        f"12+34 = {model.answer(['12+34'])[0]}",
        f"99 + 1 = {model.answer(['99+1'])[0]}",
    ]
    assert result.stderr.splitlines() == [
        """error: line 2: '5*3': '*' is not allowed: use only the digits 0-9, "+" and spaces, e.g. 535+61""",
        "error: 1 of 3 problem(s) could not be answered: fix the lines named above",
    ]
    assert result.returncode == 2
    assert (run_adder(exported, stdin="").returncode, run_adder(exported, stdin="").stdout) == (0, "")


def test_the_runner_writes_json_lines_as_answer_does(exported, checkpoint_path):
    problems = ["12+34", "5*3", "123+4"]
    result = run_adder(exported, "--json", *problems)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    expected = subprocess.run(
        [sys.executable, "-m", "lit_addition", "answer", "--ckpt_path", str(checkpoint_path), "--json", *problems],
        capture_output=True, text=True,
    )  # fmt: skip
    assert records == [json.loads(line) for line in expected.stdout.splitlines()]
    assert [record["line"] for record in records] == [1, 2, 3] and "answer" in records[0] and "error" in records[2]
    assert result.stderr == expected.stderr and result.returncode == expected.returncode == 2


def test_the_runner_has_help_and_says_how_to_type_at_a_terminal(exported, checkpoint_path):
    result = run_adder(exported, "--help")
    assert result.returncode == 0 and result.stdout.startswith("usage: python adder.py [-h] [--json]")
    assert "--batch_size" in result.stdout and result.stderr == ""
    # At a terminal: a line saying how to type, each problem answered as it is typed, Ctrl-D to end.
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-B", "adder.py"], stdin=terminal, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, cwd=exported,
    )  # fmt: skip
    os.close(terminal)
    os.write(controller, b"12+34\n\x04")
    out, err = process.communicate(timeout=60)
    os.close(controller)
    assert out == f"12+34 = {CheckpointAdder.load(checkpoint_path).answer(['12+34'])[0]}\n"
    assert err == "reading one problem per line, such as 535+61; Ctrl-D to end\n" and process.returncode == 0


# Run in a fresh interpreter that cannot import Lightning: the safetensors weights, loaded through huggingface_hub's
# mixin and into a plain AdditionLSTM, answer the problems given.
WITHOUT_LIGHTNING = (
    BLOCK_LIGHTNING
    + r"""
import json
import safetensors.torch
from lit_addition.hub import HubAdditionLSTM
from lit_addition.inference import NetworkAdder
from lit_addition.network import AdditionLSTM
from lit_addition.runtime.encoding import VOCAB_SIZE

folder, problems_file = sys.argv[1:]
problems = json.load(open(problems_file))
hub = HubAdditionLSTM.from_pretrained(folder)
config = json.load(open(f"{folder}/config.json"))
plain = AdditionLSTM(VOCAB_SIZE, hub.encoding.answer_length, config["hidden_size"], config["num_layers"])
safetensors.torch.load_model(plain, f"{folder}/model.safetensors")
answers = {"hub": hub.adder().answer(problems), "plain": NetworkAdder(plain.eval(), hub.encoding).answer(problems)}
print(json.dumps({**answers, "lightning": any(name.startswith("lightning") for name in sys.modules)}))
"""
)


def test_safetensors_weights_answer_the_whole_test_split_as_the_checkpoint_without_lightning(
    exported, checkpoint_path, tmp_path
):
    model = CheckpointAdder.load(checkpoint_path)
    a, b = model.splits()["test"]
    problems = [f"{x}+{y}" for x, y in zip(a.tolist(), b.tolist(), strict=True)]
    (tmp_path / "problems.json").write_text(json.dumps(problems))
    result = subprocess.run(
        [sys.executable, "-I", "-B", "-c", WITHOUT_LIGHTNING, str(exported), str(tmp_path / "problems.json")],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.splitlines()[-1])
    assert len(problems) == 1_000 and loaded["hub"] == loaded["plain"] == model.answer(problems)
    assert loaded["lightning"] is False
    config = json.loads((exported / "config.json").read_text())
    assert config == {**asdict(model.encoding), "hidden_size": 64, "num_layers": 1}


def test_the_readme_front_matter_is_a_space_and_a_model_card_to_the_hubs_parser(exported, checkpoint_path):
    card = ModelCard.load(exported / CARD_FILE)
    data = card.data.to_dict()
    assert {key: data[key] for key in ("sdk", "sdk_version", "app_file")} == {
        "sdk": "gradio", "sdk_version": metadata.version("gradio"), "app_file": "app.py",
    }  # fmt: skip
    assert (data["license"], data["library_name"]) == ("apache-2.0", "lit_addition")
    assert metadata.metadata("lit-addition")["License-Expression"] == "Apache-2.0"  # the license, from pyproject
    assert {"addition", "lstm", "seq2seq"} <= set(data["tags"])
    score = check_export(CheckpointAdder.load(checkpoint_path), CheckpointAdder.load(checkpoint_path)).score
    results = {result.metric_name: result for result in card.data.eval_results}
    assert results["test/seq_acc"].metric_value == score.seq_acc and results["test/seq_acc"].dataset_split == "test"
    assert results["test/char_acc"].metric_value == score.char_acc
    raw = metadata_load(exported / CARD_FILE)  # the YAML as the Hub stores it
    assert raw["model-index"][0]["results"][0]["metrics"][0]["type"] == "exact_match"
    # save_pretrained wrote its weights and config beside the card, not a card of its own over it.
    assert card.text.lstrip().startswith("# lit_addition: 2-digit addition LSTM")
    assert "PytorchModelHubMixin integration" not in card.text


def test_model_card_reports_the_checkpoints_config_data_and_test_scores(exported, checkpoint_path, trained_data):
    card = ModelCard.load(exported / CARD_FILE).text
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
    assert "exported to ONNX and safetensors from `tiny.ckpt`" in card
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
    assert "Not measured: the checkpoint records no data module with a test split" in card.text
    assert "The checkpoint does not record its data module." in card.text
    assert card.data.eval_results is None and "model-index" not in card.data.to_dict()
    assert card.data.sdk == "gradio"


def test_export_refuses_a_file_as_output_and_a_bad_checkpoint(checkpoint_path, tmp_path, capsys):
    (tmp_path / "taken").write_text("")
    with pytest.raises(InputError, match=r"--output .*taken is a file: give a folder"):
        export(checkpoint_path, tmp_path / "taken")
    with pytest.raises(SystemExit) as exit:
        main(["export", "--ckpt_path", str(tmp_path / "missing.ckpt"), "--output", str(tmp_path / "out")])
    assert exit.value.code == 2
    assert capsys.readouterr().err.startswith(f"error: checkpoint {tmp_path / 'missing.ckpt'} does not exist")
    assert not (tmp_path / "out").exists()
