"""The network as a Hugging Face Hub model: safetensors weights and a ``config.json``, with huggingface_hub's
:class:`~huggingface_hub.PyTorchModelHubMixin` doing the saving, loading and pushing.

``export`` writes ``model.safetensors`` and ``config.json`` beside ``model.onnx``; anyone with torch and
huggingface_hub loads them back, without Lightning or a checkpoint::

    from lit_addition.hub import HubAdditionLSTM

    net = HubAdditionLSTM.from_pretrained("exported/")   # or a Hub repository id, "user/lit-addition-3digit"
    net.adder().answer(["535+61"])                        # ["596"]

``config.json`` holds the arguments of :class:`HubAdditionLSTM`: the network's sizes and the checkpoint's encoding
(digits, and which way round questions and answers are written), so a loaded network reads and writes exactly what
the checkpoint did. The class is an :class:`~lit_addition.network.AdditionLSTM` with the same parameter names, so
the weights also load into a plain ``AdditionLSTM`` with ``safetensors.torch.load_model``. Encoding fields added
later travel in ``config.json`` with the others.

It needs torch and the ``export`` extra (huggingface_hub, safetensors), not Lightning; within lit_addition only
``export`` imports it, when it runs.
"""

from __future__ import annotations

from dataclasses import asdict
from importlib import metadata
from typing import Any

from huggingface_hub import PyTorchModelHubMixin

from lit_addition.inference import CheckpointAdder, NetworkAdder
from lit_addition.network import AdditionLSTM
from lit_addition.runtime.encoding import VOCAB_SIZE, Encoding

LIBRARY_NAME = "lit_addition"
TAGS = ("addition", "arithmetic", "lstm", "seq2seq", "pytorch", "pytorch-lightning", "onnx", "gradio")


def license_id(distribution: str = "lit-addition") -> str:
    """The Hub's license id for lit_addition's own license, as its package metadata declares it (``Apache-2.0``
    in ``pyproject.toml`` becomes ``apache-2.0``)."""
    info = metadata.metadata(distribution)
    return (info["License-Expression"] or info["License"] or "other").lower()


class HubAdditionLSTM(
    AdditionLSTM,
    PyTorchModelHubMixin,
    library_name=LIBRARY_NAME,
    license=license_id(),
    tags=list(TAGS),  # a copy: the mixin appends its own tags to the list it is given
):
    """:class:`~lit_addition.network.AdditionLSTM` described by the encoding it was trained for, so that
    ``save_pretrained`` writes everything needed to answer problems into ``config.json``.

    Args:
        hidden_size: width of both LSTMs.
        num_layers: depth of the decoder LSTM stack.
        encoding: the fields of :class:`~lit_addition.runtime.encoding.Encoding` (``digits``, ``reverse``,
            ``reverse_answer``): how questions and answers are written.
    """

    def __init__(self, hidden_size: int = 128, num_layers: int = 1, **encoding: Any) -> None:
        text = Encoding(**encoding)
        super().__init__(VOCAB_SIZE, text.answer_length, hidden_size, num_layers)
        self.encoding = text

    @classmethod
    def of(cls, checkpoint: CheckpointAdder) -> HubAdditionLSTM:
        """The checkpoint's network with its weights, ready to ``save_pretrained``."""
        hp = checkpoint.hparams
        net = cls(hidden_size=hp["hidden_size"], num_layers=hp["num_layers"], **asdict(checkpoint.encoding))
        net.load_state_dict(checkpoint.net.state_dict())
        return net.eval()

    def adder(self, source: str = "model.safetensors") -> NetworkAdder:
        """This network as an adder: ``answer``, ``answer_each``, ``probabilities``, ``score``, on its own device."""
        return NetworkAdder(self.eval(), self.encoding, source)
