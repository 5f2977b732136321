"""The reference's encoder-repeat-decoder LSTM as a plain ``nn.Module``, with no training logic in it.

An encoder LSTM reads the one-hot question; its last hidden state is repeated once per answer character and fed to
a decoder LSTM stack, whose every output step a linear layer maps to the vocabulary.

Parameter count at 3 digits, hidden size 128 and one decoder layer: 206,348. The Keras model has 205,324. The
difference, 1,024, is PyTorch's second bias vector: ``nn.LSTM`` keeps ``bias_ih`` and ``bias_hh`` (``4 * 128``
each) where Keras keeps one, once in the encoder and once in the decoder. The two biases are only ever added, so
the functions the two models can represent are the same.

Under mixed precision (autocast) the LSTMs run in the autocast dtype where the machine has kernels for it. A CPU
without bfloat16 instructions has no oneDNN bfloat16 LSTM, so there the two LSTMs run in float32 and only the output
layer in bfloat16: ``--trainer.precision bf16-mixed`` trains the same model on every CPU (:func:`cpu_lstm_runs`
probes the CPU).
"""

from __future__ import annotations

import functools
from contextlib import nullcontext

import torch
import torch.nn.functional as F
from torch import nn


class AdditionLSTM(nn.Module):
    """Maps question token ids ``(batch, question_length)`` to answer logits ``(batch, answer_length, vocab)``.

    Args:
        vocab_size: number of distinct tokens, for the one-hot input and the output layer.
        answer_length: how many answer characters to emit.
        hidden_size: width of both LSTMs.
        num_layers: depth of the decoder LSTM stack.
    """

    def __init__(self, vocab_size: int, answer_length: int, hidden_size: int = 128, num_layers: int = 1) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.answer_length = answer_length
        self.encoder = nn.LSTM(vocab_size, hidden_size, batch_first=True)
        self.decoder = nn.LSTM(hidden_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, question_ids: torch.Tensor) -> torch.Tensor:
        one_hot = F.one_hot(question_ids, self.vocab_size).to(self.head.weight.dtype)
        # Leaving autocast (rather than entering it with enabled=True) keeps an unmixed run exactly as it was.
        lstm_context = torch.autocast("cpu", enabled=False) if _lstm_falls_back(one_hot.device) else nullcontext()
        with lstm_context:
            _, (hidden, _) = self.encoder(one_hot)
            repeated = hidden[-1].unsqueeze(1).expand(-1, self.answer_length, -1).contiguous()
            decoded, _ = self.decoder(repeated)
        return self.head(decoded)


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
