"""Every shipped config parses and instantiates, with what the data and the model share given once; the command
line's defaults are configs/3digit.yaml, read first as LightningCLI's default config file; and the classes' own
defaults are the reference's (the Keras example), which configs/reference/3digit.yaml also holds. Recipe values are
read from the configs, never written here: they are still being tuned."""

import pytest
import torch
from helpers import CONFIGS, config

from lit_addition import AdditionDataModule, AdditionModel
from lit_addition.cli import DEFAULT_CONFIG, SHARED_DATA_ARGUMENTS, build_cli
from lit_addition.model import fused_adamw, optimizer_and_schedule

PATHS = sorted(CONFIGS.rglob("*.yaml"))
REFERENCE_SIZES = {"2digit": 5_000, "3digit": 50_000, "4digit": 400_000, "5digit": 550_000}
# The Keras example's model and data: Adam at a constant 0.001 (AdamW without weight decay), the answer most
# significant digit first, its draw of problems, batch 32.
REFERENCE_MODEL = {"learning_rate": 0.001, "lr_schedule": "constant", "betas": (0.9, 0.999), "weight_decay": 0.0,
                   "reverse": True, "reverse_answer": False, "zero_pad": False, "interleave": False,
                   "hidden_size": 128, "num_layers": 1}  # fmt: skip
REFERENCE_DATA = {"reverse": True, "reverse_answer": False, "zero_pad": False, "interleave": False,
                  "both_orders": False, "uniform_share": 0.0, "carry_share": 0.0, "val_seen_answers": False,
                  "focus_after": 0, "batch_size": 32}  # fmt: skip


def ours(hparams) -> dict:
    """Hyperparameters less Lightning's own entries (``_instantiator``, ``_class_path``)."""
    return {name: value for name, value in dict(hparams).items() if not name.startswith("_")}


def test_configs_exist():
    assert {p.stem for p in PATHS} >= set(REFERENCE_SIZES)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: str(p.relative_to(CONFIGS)))
def test_config_parses_and_instantiates(path, tmp_path):
    cli = build_cli(["--config", str(path), f"--trainer.default_root_dir={tmp_path}"], run=False)
    assert isinstance(cli.model, AdditionModel) and isinstance(cli.datamodule, AdditionDataModule)
    data, model = cli.datamodule.hparams, cli.model.hparams
    assert data.digits == int(path.stem[0])
    for name in SHARED_DATA_ARGUMENTS:  # linked from the data, never given twice
        assert data[name] == model[name], name
    written = config(str(path.relative_to(CONFIGS).with_suffix("")))
    assert not set(SHARED_DATA_ARGUMENTS) & written["model"].keys()
    assert ours(data) == {**ours(data), **written["data"]} and data.num_samples == REFERENCE_SIZES[path.stem]
    assert cli.trainer.max_epochs == written["trainer"]["max_epochs"] > 0
    # Every config names its precision: the default file's (3 digits, 32-true) would otherwise carry into every other.
    assert cli.trainer.precision == written["trainer"]["precision"]


def test_the_defaults_are_the_3digit_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert DEFAULT_CONFIG == CONFIGS / "3digit.yaml"
    default = build_cli([], run=False)
    configured = build_cli(["--config", str(CONFIGS / "3digit.yaml")], run=False)
    settings = {key: value for key, value in default.config.as_dict().items() if key != "config"}
    assert settings == {key: value for key, value in configured.config.as_dict().items() if key != "config"}
    written = config("3digit")
    assert ours(default.datamodule.hparams) == {**ours(default.datamodule.hparams), **written["data"]}
    model = {name: list(value) if isinstance(value, tuple) else value for name, value in default.model.hparams.items()}
    assert ours(model) == {**ours(model), **written["model"]}
    assert default.trainer.max_epochs == written["trainer"]["max_epochs"]
    assert default.trainer.gradient_clip_val == written["trainer"]["gradient_clip_val"]


def test_the_classes_defaults_are_the_references():
    model, data = AdditionModel(), AdditionDataModule()
    assert {name: model.hparams[name] for name in REFERENCE_MODEL} == REFERENCE_MODEL
    assert {name: data.hparams[name] for name in REFERENCE_DATA} == REFERENCE_DATA
    reference = config("reference/3digit")
    assert {name: reference["model"][name] for name in REFERENCE_MODEL if name in reference["model"]} == {
        name: list(value) if isinstance(value, tuple) else value for name, value in REFERENCE_MODEL.items()
        if name in reference["model"]
    }  # fmt: skip
    assert {name: reference["data"][name] for name in REFERENCE_DATA} == REFERENCE_DATA
    assert reference["trainer"]["precision"] == "32-true"


def test_adamw_is_fused_on_cpu_and_cuda_unless_a_mixed_precision_clips():
    cpu, cuda, mps = torch.device("cpu"), torch.device("cuda"), torch.device("mps")
    assert [fused_adamw(cpu, clipped, mixed) for clipped in (False, True) for mixed in (False, True)] == [
        True, True, True, False
    ]  # fmt: skip
    assert fused_adamw(cuda, clipped=False, mixed=True) and not fused_adamw(cuda, clipped=True, mixed=True)
    assert not fused_adamw(mps, clipped=False, mixed=False)


def test_the_default_optimiser_is_adam_at_a_constant_rate():
    """AdamW without weight decay takes Adam's steps; no schedule steps the rate."""
    torch.manual_seed(0)
    weights = [torch.nn.Parameter(torch.randn(5))]
    adam_weights = [torch.nn.Parameter(weights[0].detach().clone())]
    optimizer, schedule = optimizer_and_schedule(weights, AdditionModel().hparams, total_steps=None, fused=False)
    adam = torch.optim.Adam(adam_weights, lr=0.001)
    assert schedule is None
    for _ in range(3):
        for parameters, step in ((weights, optimizer), (adam_weights, adam)):
            step.zero_grad()
            (parameters[0] ** 3).sum().backward()
            step.step()
    assert torch.equal(weights[0], adam_weights[0])
