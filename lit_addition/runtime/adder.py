"""Answer addition problems with a model exported by ``python -m lit_addition export``, with NumPy and onnxruntime.

``export`` copies this file, unchanged, into the exported folder, next to ``model.onnx`` and ``encoding.py``::

    python adder.py "535+61" "99+1"          # prints 535+61 = 596 and 99+1 = 100

    from adder import OnnxAdder
    OnnxAdder().answer(["535+61", "7+8"])             # ["596", "15"]

``encoding.py`` is lit_addition's own parser, encoder and decoder, copied verbatim, so the exported model refuses
and answers exactly as the checkpoint does. The model's digits and reversal are read from ``model.onnx`` itself.
Inside lit_addition this module is ``lit_addition.runtime.adder``, which ``export`` uses to test what it wrote.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

if __package__:  # imported from the lit_addition package
    from .encoding import ANSWER_BATCH_SIZE, Encoding, InputError, answer_line
else:  # run or imported in an exported folder, beside its copy of encoding.py
    from encoding import ANSWER_BATCH_SIZE, Encoding, InputError, answer_line

REQUIREMENTS = ("numpy>=1.24", "onnxruntime>=1.17")  # all that this runner needs; ONNX opset 20 wants ORT 1.17+
APP_REQUIREMENTS = ("gradio>=6,<7",)  # what the web demo app.py beside it needs on top
MODEL_FILE = "model.onnx"
FACTS_FILE = "facts.json"  # what the web demo app.py says about the model: digits, parameters, test accuracy
ENCODING_KEY = "lit_addition.runtime.encoding"  # metadata entry of model.onnx: the Encoding's fields as JSON
INPUT_NAME = "question_ids"
OUTPUT_NAME = "logits"


def problems_to_try(digits: int) -> list[str]:
    """Problems worth trying on a model of ``digits`` digits: the reference's 535+61 cut to fit, then long carry
    chains (999+1, 555+445, 999+999) and 0+0."""
    nines = "9" * digits
    return [
        f"{('535' * 3)[:digits]}+{('61' * 5)[: max(1, digits - 1)]}",
        f"{nines}+1",
        f"{'5' * digits}+{'4' * (digits - 1)}5",
        f"{nines}+{nines}",
        "0+0",
    ]


class OnnxAdder:
    """An exported model: it answers problems as people type them, the way ``AdditionModel.answer`` does.

    Args:
        path: the ONNX file; ``None`` for ``model.onnx`` beside this file.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        import onnxruntime  # here, so that lit_addition can read this module's names without the export extra

        path = Path(__file__).with_name(MODEL_FILE) if path is None else path
        self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.encoding = Encoding(**json.loads(self.session.get_modelmeta().custom_metadata_map[ENCODING_KEY]))

    def logits(self, question_ids: np.ndarray) -> np.ndarray:
        """Answer logits ``(n, answer_length, vocabulary)`` for question ids ``(n, question_length)``, n >= 1."""
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(question_ids, dtype=np.int64)})[0]

    def answer(self, problems: Sequence[str], batch_size: int = ANSWER_BATCH_SIZE) -> list[str]:
        """The answers to ``problems``; raises ``InputError`` naming the first bad problem."""
        return self.encoding.answer(problems, self.logits, batch_size)

    def answer_each(self, problems: Sequence[str], batch_size: int = ANSWER_BATCH_SIZE) -> list[str | InputError]:
        """An answer, or the ``InputError`` that says why not, for each problem."""
        return self.encoding.answer_each(problems, self.logits, batch_size)


def main(problems: Sequence[str]) -> int:
    """Print ``problem = answer`` for each good problem and a one-line error for each bad one; 2 if any was bad."""
    results = OnnxAdder().answer_each(problems)
    for position, (problem, result) in enumerate(zip(problems, results, strict=True), start=1):
        if isinstance(result, InputError):
            print(f"error: argument {position}: {result}", file=sys.stderr)
        else:
            print(answer_line(problem, result))
    return 2 if any(isinstance(result, InputError) for result in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
