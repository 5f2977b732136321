"""The ``export`` command: a checkpoint becomes a folder that answers problems without lit_addition or torch.

``python -m lit_addition export --ckpt_path CKPT --output DIR`` writes:

* ``model.onnx``: the network, weights inside, with the model's encoding (digits, reversal) in its metadata;
* ``encoding.py``: lit_addition's parser, encoder and decoder, copied verbatim (it needs only NumPy);
* ``adder.py``: the runner, ``OnnxAdder().answer(["535+61"])`` or ``python adder.py 535+61``;
* ``app.py``: the web demo, :mod:`lit_addition.runtime.app` copied verbatim, with ``facts.json`` (what the page says
  about the model) and ``requirements.txt``: the folder is a Hugging Face Space as it stands;
* ``MODEL_CARD.md``: the config, the data, test-split metrics measured on the exported model, intended use, limits.

ONNX rather than TorchScript: TorchScript is deprecated in current torch, and an ONNX model runs on onnxruntime
alone, a small CPU wheel, where TorchScript would need all of torch; that suits a demo Space. Files already in
``DIR`` that are not these are left alone.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lit_addition.commands.folders import output_folder, refuse_file
from lit_addition.commands.model_card import TestResult, model_card, model_facts
from lit_addition.data import AdditionDataModule
from lit_addition.inference import data_hparams, load_model, read_checkpoint
from lit_addition.metrics import AnswerAccuracy
from lit_addition.model import AdditionModel
from lit_addition.runtime.adder import (
    APP_REQUIREMENTS,
    ENCODING_KEY,
    FACTS_FILE,
    INPUT_NAME,
    MODEL_FILE,
    OUTPUT_NAME,
    REQUIREMENTS,
    OnnxAdder,
)
from lit_addition.runtime.encoding import ANSWER_BATCH_SIZE, InputError, Predict

CARD_FILE = "MODEL_CARD.md"
REQUIREMENTS_FILE = "requirements.txt"
# Copied verbatim beside the ONNX file: the dependency-free inference core, the runner and the web demo.
RUNTIME_SOURCES = tuple(Path(__file__).parents[1] / "runtime" / name for name in ("encoding.py", "adder.py", "app.py"))


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


def export_onnx(model: AdditionModel, path: Path) -> None:
    """Write the model's network to ``path`` as one self-contained ONNX file with any batch size."""
    example = torch.zeros(2, model.encoding.question_length, dtype=torch.int64)
    with _quiet_exporter():
        program = torch.onnx.export(
            model.net,
            (example,),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            dynamo=True,
            verbose=False,
        )
    program.model.metadata_props[ENCODING_KEY] = json.dumps(asdict(model.encoding))
    program.save(path, external_data=False)


def _argmax_ids(predict: Predict, questions: np.ndarray) -> torch.Tensor:
    chunks = range(0, len(questions), ANSWER_BATCH_SIZE)
    return torch.from_numpy(np.concatenate([predict(questions[i : i + ANSWER_BATCH_SIZE]).argmax(-1) for i in chunks]))


def evaluate_test_split(exported: Predict, model: AdditionModel, data_hparams: dict[str, Any]) -> TestResult | None:
    """Regenerate the checkpoint's test split from its data hyperparameters and score the exported model on it.

    Returns:
        The scores, or None when the checkpoint records no data module or its test split is empty.
    """
    if not data_hparams or not data_hparams.get("test_samples"):
        return None
    data = AdditionDataModule(**data_hparams)
    data.setup("test")
    test = data.dataset("test")
    predicted = _argmax_ids(exported, test.questions.numpy())
    scores = AnswerAccuracy(predicted.shape[1])(predicted, test.answers)
    agreement = (predicted == _argmax_ids(model.logits, test.questions.numpy())).all(-1).float().mean()
    return TestResult(len(test), scores["seq_acc"].item(), scores["char_acc"].item(), agreement.item())


def export(ckpt_path: str | Path, output: str | Path) -> Path:
    """Export a checkpoint to the folder ``output`` (created if needed) and return the model card's path.

    Raises:
        InputError: the checkpoint is bad, ``output`` is a file or cannot be written, or the export extra is not
            installed.
    """
    refuse_file(output)
    checkpoint = read_checkpoint(ckpt_path)
    model = load_model(ckpt_path)
    output = output_folder(output)
    try:  # the exporter imports onnx and onnxscript, the runner onnxruntime: the export extra
        export_onnx(model, output / MODEL_FILE)
        exported = OnnxAdder(output / MODEL_FILE)
    except ImportError as error:
        raise InputError(f"export needs {error.name}, not installed here: pip install 'lit-addition[export]'") from None
    for source in RUNTIME_SOURCES:
        shutil.copyfile(source, output / source.name)
    result = evaluate_test_split(exported.logits, model, data_hparams(checkpoint))
    facts = model_facts(model, result, Path(ckpt_path).name)
    (output / FACTS_FILE).write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    (output / REQUIREMENTS_FILE).write_text("\n".join((*REQUIREMENTS, *APP_REQUIREMENTS)) + "\n", encoding="utf-8")
    card = output / CARD_FILE
    card.write_text(model_card(model, checkpoint, Path(ckpt_path).name, result), encoding="utf-8")
    return card


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Export a checkpoint to ONNX, with a runner and a web demo that need neither torch nor lit_addition."
    )
    parser.add_argument("--ckpt_path", required=True, help="checkpoint written by `fit`")
    parser.add_argument("--output", required=True, help="folder to write into (created if missing)")


def run(args: argparse.Namespace) -> None:
    card = export(args.ckpt_path, args.output)
    print(f"exported {args.ckpt_path} to {card.parent}; model card: {card}")
