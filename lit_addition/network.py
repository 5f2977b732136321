"""The reference's encoder-repeat-decoder LSTM as a plain ``nn.Module``, built from hyperparameters in one place, and
the loss it is trained with. No training logic and no Lightning here.

An encoder LSTM reads the one-hot question; its last hidden state is repeated once per answer character and fed to
a decoder LSTM stack, whose every output step a linear layer maps to the vocabulary.

Parameter count at 3 digits, hidden size 128 and one decoder layer: 206,348. The Keras model has 205,324. The
difference, 1,024, is PyTorch's second bias vector: ``nn.LSTM`` keeps ``bias_ih`` and ``bias_hh`` (``4 * 128``
each) where Keras keeps one, once in the encoder and once in the decoder. The two biases are only ever added, so
the functions the two models can represent are the same.

The decoder's input is the same vector at every step, so :meth:`AdditionLSTM.decode` projects it through the first
layer's input weights once rather than once per step, as ``nn.LSTM`` would: the same function, with ``nn.LSTM``'s
own parameters (checkpoints are unchanged), and a quarter less arithmetic per problem at 3 digits.

Under mixed precision (autocast) the LSTMs run in the autocast dtype where the machine has kernels for it. A CPU
without bfloat16 instructions has no oneDNN bfloat16 LSTM, so there the two LSTMs run in float32 and only the output
layer in bfloat16: ``--trainer.precision bf16-mixed`` trains the same model on every CPU (:func:`cpu_lstm_runs`
probes the CPU).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lit_addition.runtime.encoding import VOCAB_SIZE, Encoding

# The hyperparameters that decide the network's shapes and the text it reads and writes: a checkpoint and the model
# it is loaded into must agree on every one.
STRUCTURAL_HPARAMS = (
    "digits", "reverse", "reverse_answer", "zero_pad", "interleave", "hidden_size", "num_layers"
)  # fmt: skip
# Encoding fields younger than the first checkpoints: a checkpoint without one was written with the field's default.
ADDED_ENCODING_FIELDS = {
    field.name: field.default for field in fields(Encoding) if field.name in ("zero_pad", "interleave")
}


class AdditionLSTM(nn.Module):
    """Maps question token ids ``(batch, question_length)`` to answer logits ``(batch, answer_length, vocab)``.

    Args:
        vocab_size: number of distinct tokens, for the one-hot input and the output layer.
        answer_length: how many answer characters to emit.
        hidden_size: width of both LSTMs.
        num_layers: depth of the decoder LSTM stack.
        project_once: decode with :meth:`decode`; False runs ``nn.LSTM`` on the repeated vector, as the reference
            does (the same function, a quarter more arithmetic at 3 digits: what the benchmark's plain loop runs).
    """

    def __init__(
        self,
        vocab_size: int,
        answer_length: int,
        hidden_size: int = 128,
        num_layers: int = 1,
        project_once: bool = True,
    ) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.answer_length = answer_length
        self.project_once = project_once
        self.encoder = nn.LSTM(vocab_size, hidden_size, batch_first=True)
        self.decoder = nn.LSTM(hidden_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, question_ids: torch.Tensor) -> torch.Tensor:
        one_hot = F.one_hot(question_ids, self.vocab_size).to(self.head.weight.dtype)
        # Leaving autocast (rather than entering it with enabled=True) keeps an unmixed run exactly as it was.
        lstm_context = torch.autocast("cpu", enabled=False) if _lstm_falls_back(one_hot.device) else nullcontext()
        with lstm_context:
            _, (hidden, _) = self.encoder(one_hot)
            if self.project_once:
                decoded = self.decode(hidden[-1])
            else:
                decoded, _ = self.decoder(hidden[-1].unsqueeze(1).expand(-1, self.answer_length, -1).contiguous())
        return self.head(decoded)

    def decode(self, context: torch.Tensor) -> torch.Tensor:
        """The decoder stack's outputs ``(batch, answer_length, hidden)`` when its input is ``context`` ``(batch,
        hidden)`` at every step, computed as ``nn.LSTM`` does (gates in its order: input, forget, cell, output; zero
        initial state), with the first layer's constant input projected once."""
        lstm = self.decoder
        constant = F.linear(context, lstm.weight_ih_l0, lstm.bias_ih_l0 + lstm.bias_hh_l0)
        hidden: list[torch.Tensor | None] = [None] * lstm.num_layers
        cell: list[torch.Tensor | None] = [None] * lstm.num_layers
        outputs = []
        for _ in range(self.answer_length):
            below = context
            for layer in range(lstm.num_layers):
                if layer == 0:
                    gates = constant
                else:
                    bias = getattr(lstm, f"bias_ih_l{layer}") + getattr(lstm, f"bias_hh_l{layer}")
                    gates = F.linear(below, getattr(lstm, f"weight_ih_l{layer}"), bias)
                if hidden[layer] is not None:  # the initial state is zero: the first step has no recurrent term
                    gates = gates + F.linear(hidden[layer], getattr(lstm, f"weight_hh_l{layer}"))
                input_gate, forget_gate, candidate, output_gate = gates.chunk(4, dim=-1)
                new_cell = torch.sigmoid(input_gate) * torch.tanh(candidate)
                if cell[layer] is not None:
                    new_cell = new_cell + torch.sigmoid(forget_gate) * cell[layer]
                cell[layer] = new_cell
                hidden[layer] = below = torch.sigmoid(output_gate) * torch.tanh(new_cell)
            outputs.append(below)
        return torch.stack(outputs, dim=1)


def build_network(hparams: Mapping[str, Any]) -> tuple[Encoding, AdditionLSTM]:
    """The encoding and the (untrained) network that a model's hyperparameters describe: the one place that turns
    the encoding's fields (``digits``, ``reverse``, ``reverse_answer``, ``zero_pad``, ``interleave``),
    ``hidden_size``, ``num_layers`` and ``project_once`` into both."""
    encoding = Encoding(**{field.name: hparams[field.name] for field in fields(Encoding)})
    shape = (hparams["hidden_size"], hparams["num_layers"], hparams.get("project_once", True))
    return encoding, AdditionLSTM(VOCAB_SIZE, encoding.answer_length, *shape)


def answer_loss(logits: torch.Tensor, answer_ids: torch.Tensor) -> torch.Tensor:
    """The training objective: cross-entropy over every answer position, logits ``(batch, length, vocab)``."""
    return F.cross_entropy(logits.transpose(1, 2), answer_ids)


def problem_losses(logits: torch.Tensor, answer_ids: torch.Tensor) -> torch.Tensor:
    """Each problem's own loss ``(batch,)``: its cross-entropy averaged over the answer positions."""
    return F.cross_entropy(logits.transpose(1, 2), answer_ids, reduction="none").mean(-1)


def _lstm_falls_back(device: torch.device) -> bool:
    """Whether the LSTMs must leave the CPU's autocast: it is on, and this CPU has no LSTM kernel in its dtype."""
    return (
        device.type == "cpu" and torch.is_autocast_enabled("cpu") and not cpu_lstm_runs(torch.get_autocast_dtype("cpu"))
    )


@functools.cache
def cpu_lstm_runs(dtype: torch.dtype) -> bool:
    """Whether this CPU runs an LSTM forward and backward pass under autocast to ``dtype`` (oneDNN has no bfloat16
    LSTM without AVX512-BF16 or AMX, for one). Probed once per process, without touching the global random state."""
    with torch.random.fork_rng(devices=[]), torch.inference_mode(False), torch.enable_grad():
        lstm = nn.LSTM(4, 4, batch_first=True)
        try:
            with torch.autocast("cpu", dtype=dtype):
                output, _ = lstm(torch.zeros(2, 3, 4))
            output.float().sum().backward()
        except RuntimeError:
            return False
    return True
