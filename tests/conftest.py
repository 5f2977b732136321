"""Shared fixtures: a small 2-digit data module, set up once per test that asks for it."""

import pytest

from lit_addition import AdditionDataModule


@pytest.fixture
def small_data() -> AdditionDataModule:
    data = AdditionDataModule(digits=2, num_samples=2_000, val_fraction=0.1, test_samples=500, batch_size=64, seed=3)
    data.setup("fit")
    return data
