"""Every shipped config parses and instantiates, and the defaults are the 3-digit config."""

from pathlib import Path

import pytest
import yaml

from lit_addition import AdditionDataModule, AdditionModel
from lit_addition.cli import build_cli

CONFIGS = sorted(Path(__file__).parent.parent.joinpath("configs").rglob("*.yaml"))
REFERENCE_SIZES = {"2digit": 5_000, "3digit": 50_000, "4digit": 400_000, "5digit": 550_000}


def test_configs_exist():
    assert {p.stem for p in CONFIGS} >= set(REFERENCE_SIZES)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_config_parses_and_instantiates(path):
    cli = build_cli(["--config", str(path)], run=False)
    assert isinstance(cli.model, AdditionModel) and isinstance(cli.datamodule, AdditionDataModule)
    data, model = cli.datamodule.hparams, cli.model.hparams
    digits = int(path.stem[0])
    assert data.digits == model.digits == digits  # linked, never given twice
    assert data.reverse == model.reverse and data.reverse_answer == model.reverse_answer
    assert data.num_samples == REFERENCE_SIZES[path.stem]
    assert cli.trainer.max_epochs > 0
    assert "digits" not in yaml.safe_load(path.read_text())["model"]


def test_defaults_are_the_3digit_config():
    configured = build_cli(["--config", "configs/3digit.yaml"], run=False)
    default = build_cli([], run=False)
    assert dict(default.datamodule.hparams) == dict(configured.datamodule.hparams)
    assert {k: v for k, v in default.model.hparams.items() if not k.startswith("_")} == {
        k: v for k, v in configured.model.hparams.items() if not k.startswith("_")
    }
    assert default.trainer.max_epochs == configured.trainer.max_epochs
    assert default.trainer.gradient_clip_val == configured.trainer.gradient_clip_val
