"""The ``export`` command: a checkpoint becomes a folder that answers problems without lit_addition or torch, and that
is both a Hugging Face model repository and a Space as it stands.

``python -m lit_addition export --ckpt_path CKPT --output DIR`` writes:

* ``model.onnx``: the network, weights inside, with the model's encoding (digits, reversal) in its metadata;
* the files of :mod:`lit_addition.runtime`, copied verbatim (:data:`~lit_addition.runtime.SHIPPED`): the errors, the
  encoding and the parser that the checkpoint uses, ``adder.py`` (the runner: ``OnnxAdder().answer(["535+61"])`` or
  ``python adder.py 535+61``, which answers as ``python -m lit_addition answer`` does) and ``app.py`` (the web demo);
* ``facts.json`` (what the page says about the model) and ``requirements.txt`` (the runtime's requirements, with
  the ranges of lit_addition's own metadata);
* ``model.safetensors`` and ``config.json``: the same weights for torch, written by huggingface_hub's
  ``PyTorchModelHubMixin`` (:class:`~lit_addition.hub.HubAdditionLSTM`), which loads them back;
* ``README.md``: the model card, whose front matter holds the Space's settings and the model's metadata, the
  test-split metrics measured on the exported model among them (:mod:`lit_addition.commands.model_card`).

ONNX rather than TorchScript: TorchScript is deprecated in current torch, and an ONNX model runs on onnxruntime
alone, a small CPU wheel, where TorchScript would need all of torch; that suits a demo Space. Files already in
``DIR`` that are not these are left alone. The Hugging Face parts need the ``export`` extra (huggingface_hub,
safetensors, and Gradio, whose version the Space's settings name), imported only when a command exports.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from lit_addition.commands.folders import output_folder, refuse_file
from lit_addition.inference import CheckpointAdder
from lit_addition.runtime import FOLDER, SHIPPED, requirements
from lit_addition.runtime.adder import (
    ENCODING_KEY,
    FACTS_FILE,
    INPUT_NAME,
    MODEL_FILE,
    OUTPUT_NAME,
    Adder,
    OnnxAdder,
    Score,
)
from lit_addition.runtime.errors import InputError

REQUIREMENTS_FILE = "requirements.txt"


@dataclass(frozen=True)
class ExportCheck:
    """How the exported model does on the checkpoint's own test split, and how often it answers as the checkpoint."""

    score: Score
    agreement: float  # share of problems on which the exported model's answer is the checkpoint's


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporter's own chatter (deprecation notices from torch internals, optional-op notes)."""
    onnx_log = logging.getLogger("torch.onnx")
    level = onnx_log.level
    onnx_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        onnx_log.setLevel(level)


def export_onnx(adder: CheckpointAdder, path: Path) -> None:
    """Write the checkpoint's network to ``path`` as one self-contained ONNX file with any batch size."""
    example = torch.zeros(2, adder.encoding.question_length, dtype=torch.int64)
    with _quiet_exporter():
        program = torch.onnx.export(
            adder.net,
            (example,),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            dynamo=True,
            verbose=False,
        )
    program.model.metadata_props[ENCODING_KEY] = json.dumps(asdict(adder.encoding))
    program.save(path, external_data=False)


def check_export(exported: Adder, checkpoint: CheckpointAdder) -> ExportCheck | None:
    """Score the exported model on the checkpoint's test split, and how often it answers as the checkpoint does;
    None when the checkpoint has no test split."""
    test = checkpoint.test_split()
    if test is None:
        return None
    questions, answers = test
    predicted = exported.predicted_ids(questions)
    agreement = (predicted == checkpoint.predicted_ids(questions)).all(-1).mean()
    return ExportCheck(Score.of(predicted, answers), float(agreement))


def export(ckpt_path: str | Path, output: str | Path) -> Path:
    """Export a checkpoint to the folder ``output`` (created if needed) and return the model card's path.

    Raises:
        InputError: the checkpoint is bad, ``output`` is a file or cannot be written, or the export extra is not
            installed.
    """
    refuse_file(output)
    adder = CheckpointAdder.load(ckpt_path)
    output = output_folder(output)
    try:  # the export extra: onnx and onnxscript (the exporter), onnxruntime (the runner), huggingface_hub (the
        # card), safetensors (the weights) and Gradio (whose version the Space's settings name)
        from lit_addition.commands.model_card import CARD_FILE, model_card
        from lit_addition.hub import HubAdditionLSTM

        export_onnx(adder, output / MODEL_FILE)
        check = check_export(OnnxAdder(output / MODEL_FILE), adder)
        # The card first: save_pretrained writes a generic card of its own only where there is no README.md yet.
        model_card(adder, check).save(output / CARD_FILE)
        HubAdditionLSTM.of(adder).save_pretrained(output)
    except ImportError as error:  # importlib.metadata's PackageNotFoundError among them
        raise InputError(f"export needs {error.name}, not installed here: pip install 'lit-addition[export]'") from None
    for name in SHIPPED:
        shutil.copyfile(FOLDER / name, output / name)
    # What the exported page says: the checkpoint's facts, with the test accuracy measured on the exported model.
    measured = {"test_seq_acc": check.score.seq_acc, "test_problems": check.score.problems} if check else {}
    (output / FACTS_FILE).write_text(json.dumps({**adder.facts, **measured}, indent=2) + "\n", encoding="utf-8")
    (output / REQUIREMENTS_FILE).write_text("\n".join(requirements()) + "\n", encoding="utf-8")
    return output / CARD_FILE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Export a checkpoint to ONNX and safetensors, with a runner and a web demo that need neither torch nor "
        "lit_addition: a folder that is a Hugging Face model repository and Space."
    )
    parser.add_argument("--ckpt_path", required=True, help="checkpoint written by `fit`")
    parser.add_argument("--output", required=True, help="folder to write into (created if missing)")


def run(args: argparse.Namespace) -> None:
    card = export(args.ckpt_path, args.output)
    print(f"exported {args.ckpt_path} to {card.parent}; model card: {card}")
