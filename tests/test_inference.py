"""The inference core: a checkpoint opened once answers like the network itself, GPU checkpoints open on the CPU, its
splits (drawn by ``splits.draw_splits``, without Lightning) and test score are the data module's for the same
settings, older checkpoints regenerate theirs, and every command that uses a model reads the file once. (Bad files:
test_checkpoints.py; that the core imports no Lightning: test_answer.py.)"""

import numpy as np
import pytest
import torch
import torch.serialization

from lit_addition import AdditionDataModule, AdditionModel, InputError
from lit_addition.__main__ import main
from lit_addition.commands import demo
from lit_addition.inference import CheckpointAdder
from lit_addition.runtime import app


def network_answers(model: AdditionModel, a: list[int], b: list[int]) -> list[str]:
    """The answers straight from the network on integer-encoded questions: no parsing involved."""
    questions = torch.from_numpy(model.encoding.encode_questions(np.array(a), np.array(b)))
    with torch.no_grad():
        return model.encoding.decode_answers(model(questions).argmax(-1).numpy())


def test_answer_from_a_checkpoint_is_the_networks_answer(checkpoint_path):
    model = AdditionModel.load_from_checkpoint(checkpoint_path)
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 100, 300).tolist(), rng.integers(0, 100, 300).tolist()
    problems = [f"{x}+{y}" if i % 2 else f" {x} + {y} " for i, (x, y) in enumerate(zip(a, b, strict=True))]
    assert model.hparams.digits == 2  # from the checkpoint; the caller never said
    assert model.answer(problems, batch_size=64) == network_answers(model, a, b)
    assert CheckpointAdder.load(checkpoint_path).answer(problems) == model.answer(problems)


def test_answer_refuses_a_bad_problem_by_name(checkpoint_path):
    with pytest.raises(InputError, match=r"^'123\+4': 123 has 3 digits, but this model adds numbers of at most 2"):
        CheckpointAdder.load(checkpoint_path).answer(["1+2", "123+4"])


def test_the_network_is_in_eval_mode_on_the_cpu(checkpoint_path):
    net = CheckpointAdder.load(checkpoint_path).net
    assert not net.training and {p.device for p in net.parameters()} == {torch.device("cpu")}


def test_splits_and_test_score_are_the_data_modules(checkpoint_path, trained_data):
    adder = CheckpointAdder.load(checkpoint_path)
    data = AdditionDataModule(**trained_data)
    data.setup()
    for split, (a, b) in adder.splits().items():
        assert list(zip(a.tolist(), b.tolist(), strict=True)) == data.problems(split)
    test = data.problems("test")
    answers = adder.answer([f"{x}+{y}" for x, y in test])
    right = [answer == str(x + y) for answer, (x, y) in zip(answers, test, strict=True)]
    assert adder.test_score.problems == len(test) == 1_000
    assert adder.test_score.seq_acc == pytest.approx(sum(right) / len(right), abs=1e-12)
    parameters = sum(p.numel() for p in adder.net.parameters())
    assert adder.facts == {"digits": 2, "parameters": parameters, "test_seq_acc": adder.test_score.seq_acc,
                           "test_problems": 1_000, "source": "tiny.ckpt"}  # fmt: skip


@pytest.fixture
def loads(monkeypatch):
    """Counts the files torch.load opens."""
    opened: list[str] = []
    load = torch.load

    def counting(path, *args, **kwargs):
        opened.append(str(path))
        return load(path, *args, **kwargs)

    monkeypatch.setattr(torch, "load", counting)
    return opened


def test_every_command_reads_the_checkpoint_once(checkpoint_path, tmp_path, loads, monkeypatch, capsys):
    main(["answer", "--ckpt_path", str(checkpoint_path), "1+1"])
    main(["analyze", "--ckpt_path", str(checkpoint_path), "--output", str(tmp_path / "analysis")])
    main(["export", "--ckpt_path", str(checkpoint_path), "--output", str(tmp_path / "exported")])
    served = []
    monkeypatch.setattr(app, "serve", lambda page, host, port: served.append(page))
    monkeypatch.setattr(demo, "_app", lambda: app)
    main(["demo", "--ckpt_path", str(checkpoint_path)])
    assert loads == [str(checkpoint_path)] * 4 and len(served) == 1


def test_checkpoint_written_on_a_gpu_opens_on_the_cpu(checkpoint_path, tmp_path, monkeypatch):
    """Tag every tensor ``cuda:0`` when saving, exactly as a checkpoint saved from a GPU is tagged."""
    contents = torch.load(checkpoint_path, weights_only=True)
    monkeypatch.setattr(torch.serialization, "_package_registry", list(torch.serialization._package_registry))
    torch.serialization.register_package(0, lambda storage: "cuda:0", lambda storage, location: None)
    torch.save(contents, tmp_path / "gpu.ckpt")
    monkeypatch.undo()
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(tmp_path / "gpu.ckpt", weights_only=True)
    expected = CheckpointAdder.load(checkpoint_path).answer(["12+34", "99+1"])
    assert CheckpointAdder.load(tmp_path / "gpu.ckpt").answer(["12+34", "99+1"]) == expected
    assert AdditionModel.load_from_checkpoint(tmp_path / "gpu.ckpt").cpu().answer(["12+34", "99+1"]) == expected


def test_a_checkpoint_from_before_the_data_options_regenerates_its_splits_without_them(checkpoint_path, tmp_path):
    contents = torch.load(checkpoint_path, weights_only=True)
    options = (
        "both_orders",
        "uniform_share",
        "carry_share",
        "nines_share",
        "top_nines_share",
        "short_chain_share",
        "zeros_share",
        "train_small_formats",
        "val_seen_answers",
    )
    older = {name: value for name, value in contents["datamodule_hyper_parameters"].items() if name not in options}
    torch.save({**contents, "datamodule_hyper_parameters": older}, tmp_path / "older.ckpt")
    data = CheckpointAdder.load(tmp_path / "older.ckpt").data_hparams
    assert [data[name] for name in options] == [False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, False]
    assert {name: data[name] for name in older if not name.startswith("_")} == {
        name: value for name, value in older.items() if not name.startswith("_")
    }


@pytest.mark.parametrize("both_orders", [False, True])
def test_a_checkpoints_splits_are_the_data_modules_whatever_the_draw(checkpoint_path, tmp_path, both_orders):
    """Regenerated from the saved data settings, uniform and carry-chain draws included; swapping the training
    problems (both_orders) is the data module's business, not the split's."""
    settings = {"digits": 3, "num_samples": 4_000, "val_fraction": 0.15, "test_samples": 700, "seed": 21,
                "uniform_share": 0.3, "carry_share": 0.25, "nines_share": 0.1, "top_nines_share": 0.02,
                "short_chain_share": 0.05, "zeros_share": 0.02, "train_small_formats": 100, "val_seen_answers": True,
                "both_orders": both_orders}  # fmt: skip
    data = AdditionDataModule(**settings)
    data.setup()
    contents = torch.load(checkpoint_path, weights_only=True)
    torch.save({**contents, "datamodule_hyper_parameters": dict(data.hparams)}, tmp_path / "drawn.ckpt")
    adder = CheckpointAdder.load(tmp_path / "drawn.ckpt")
    splits = adder.splits()
    assert list(splits) == ["train", "val", "test"]
    for split, (a, b) in splits.items():
        assert list(zip(a.tolist(), b.tolist(), strict=True)) == data.problems(split)
    assert [len(splits[split][0]) for split in ("train", "val", "test")] == [3_400, 600, 700]
