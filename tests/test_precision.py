"""Mixed precision on CPU: ``--trainer.precision bf16-mixed`` keeps float32 weights and still learns, with the LSTMs in
bfloat16 on a CPU that has a bfloat16 LSTM and in float32 on one that has not (the fixture ``cpu_without_bf16`` makes
any CPU one that has not). 16-mixed needs a GPU; see docs/precision.md."""

import pytest
import torch
from helpers import LEARNING_RUN, QUIET

from lit_addition.cli import build_cli
from lit_addition.network import cpu_lstm_runs

# The float32 learning test's run (test_learning.py), in bf16-mixed.
BF16_RUN = [
    *("fit", *LEARNING_RUN, "--trainer.accelerator=cpu", "--trainer.precision=bf16-mixed"),
    *QUIET,
]


def learn_in_bf16_mixed(root) -> tuple[list[torch.dtype], torch.dtype]:
    """Train the learning run in bf16-mixed, check that it learned and kept float32 weights, and return the dtype
    of the encoder LSTM's output and of the logits, as a training step computes them."""
    cli = build_cli([*BF16_RUN, f"--trainer.default_root_dir={root}"])
    model, trainer = cli.model, cli.trainer
    assert trainer.callback_metrics["val/seq_acc"].item() >= 0.90
    assert all(p.dtype == torch.float32 for p in model.parameters())  # the optimizer updates float32 weights
    encoded: list[torch.dtype] = []
    model.net.encoder.register_forward_hook(lambda module, inputs, output: encoded.append(output[0].dtype))
    with trainer.precision_plugin.forward_context():  # what the training and validation steps run under
        logits = model(cli.datamodule.dataset("val").questions[:8])
    return encoded, logits.dtype


@pytest.mark.slow  # as long as the float32 learning test
@pytest.mark.skipif(
    not cpu_lstm_runs(torch.bfloat16),
    reason="this CPU has no bfloat16 LSTM (oneDNN needs AVX512-BF16 or AMX); the fallback test below covers it",
)
def test_bf16_mixed_on_a_bf16_cpu_runs_the_lstms_in_bfloat16_and_learns(tmp_path):
    assert learn_in_bf16_mixed(tmp_path) == ([torch.bfloat16], torch.bfloat16)


@pytest.mark.slow
def test_bf16_mixed_without_a_bfloat16_lstm_runs_the_lstms_in_float32_and_learns(tmp_path, cpu_without_bf16):
    assert learn_in_bf16_mixed(tmp_path) == ([torch.float32], torch.bfloat16)
