"""The model card that ``export`` writes as the folder's ``README.md``: what the model is, how it was trained and on
what, how well it does on its held-out test split, what it is for, and where it stops working.

The card is built with huggingface_hub's card classes, so that its YAML front matter is what the Hub itself reads:
the Space settings (:class:`~huggingface_hub.SpaceCardData`: ``sdk: gradio``, the installed Gradio's version,
``app_file: app.py``) and the model metadata (:class:`~huggingface_hub.ModelCardData`: license, tags,
``library_name``, and the test-split scores as :class:`~huggingface_hub.EvalResult` entries of its ``model-index``),
one front matter for a folder that is both a model repository and a Space.

Everything in the card comes from the checkpoint (its hyperparameters, its data module's hyperparameters, how long
it trained) and from the test-split scores that ``export`` measures on the exported model itself.
"""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING, Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData, SpaceCardData

from lit_addition.hub import LIBRARY_NAME, TAGS, license_id
from lit_addition.inference import CheckpointAdder
from lit_addition.runtime import APP, RUNNER, requirements
from lit_addition.runtime.adder import ENCODING_KEY, INPUT_NAME, MODEL_FILE, OUTPUT_NAME
from lit_addition.runtime.encoding import VOCAB
from lit_addition.runtime.text import problems_to_try

if TYPE_CHECKING:
    from lit_addition.commands.export import ExportCheck

CARD_FILE = "README.md"  # the Hub reads a repository's card, and a Space's settings, from its README.md
APP_FILE = "app.py"  # what the Space runs: the web demo of lit_addition/runtime/app.py, copied verbatim
WEIGHTS_FILE, CONFIG_FILE = "model.safetensors", "config.json"  # what PyTorchModelHubMixin.save_pretrained writes
TASK = "text2text-generation"  # the Hub's task id that fits a problem string in, an answer string out


def _table(rows: dict[str, Any]) -> str:
    return "\n".join(["| setting | value |", "|---|---|", *(f"| `{k}` | `{v}` |" for k, v in rows.items())])


def _evaluation(check: ExportCheck | None, data: dict[str, Any]) -> str:
    if check is None:
        return (
            "Not measured: the checkpoint records no data module with a test split, so there was nothing held out "
            "to score the model on."
        )
    return f"""Measured by `export` on the exported `{MODEL_FILE}` itself, over the checkpoint's held-out test split:
{check.score.problems:,} problems regenerated from the data module's seed ({data["seed"]}), none of which training or
model selection ever saw.

| metric | value |
|---|---|
| exact answers (`test/seq_acc`) | {check.score.seq_acc:.2%} |
| answer characters right, padding included (`test/char_acc`) | {check.score.char_acc:.2%} |
| answers identical to the checkpoint's | {check.agreement:.2%} |"""


def _held_out(data: dict[str, Any]) -> str:
    """Which problems validation could hold out, in words."""
    return " (only problems whose answer a training problem has too)" if data.get("val_seen_answers") else ""


def _drawn(data: dict[str, Any]) -> str:
    """How the data module drew its problems, in words."""
    words = f"as the Keras reference draws them (a digit count uniform in 1..{data['digits']}, then uniform digits)"
    if data.get("uniform_share"):
        words += f", {data['uniform_share']:.0%} of the draws instead uniform over all ordered pairs"
    if data.get("carry_share"):
        words += f", and {data['carry_share']:.0%} of the problems drawn as carry chains into a new digit"
    if data.get("nines_share"):
        words += f", and {data['nines_share']:.0%} with columns summing to 9 below any carry, such as 10+589"
    if data.get("top_nines_share"):
        words += f", and {data['top_nines_share']:.0%} with 9 in the highest columns of both, such as 998+996"
    if data.get("zeros_share"):
        words += f", and {data['zeros_share']:.0%} with 0 in the lowest columns of both, such as 400+300"
    if data.get("short_chain_share"):
        words += f", and {data['short_chain_share']:.0%} carrying on past a short operand's columns, such as 1+99999"
    if data.get("train_small_formats"):
        words += f"; every problem of a format with at most {data['train_small_formats']:,} ordered problems trains"
    return words


def eval_results(adder: CheckpointAdder, check: ExportCheck | None) -> list[EvalResult] | None:
    """The test-split scores measured at export, as the Hub's evaluation results; None when nothing was measured."""
    if check is None:
        return None
    seed, digits = adder.data_hparams["seed"], adder.encoding.digits
    common = {
        "task_type": TASK,
        "task_name": "Addition of two whole numbers written as text",
        "dataset_type": LIBRARY_NAME,
        "dataset_name": f"{digits}-digit addition problems, test split (data seed {seed})",
        "dataset_config": f"{digits}digit-seed{seed}",
        "dataset_split": "test",
    }
    return [
        EvalResult(**common, metric_type="exact_match", metric_name="test/seq_acc", metric_value=check.score.seq_acc),
        EvalResult(**common, metric_type="accuracy", metric_name="test/char_acc", metric_value=check.score.char_acc),
    ]


def card_data(adder: CheckpointAdder, check: ExportCheck | None) -> ModelCardData:
    """The front matter: the Space's settings and the model's metadata in one block."""
    digits = adder.encoding.digits
    space = SpaceCardData(
        title=f"lit_addition: {digits}-digit addition",
        sdk="gradio",
        sdk_version=metadata.version("gradio"),
        app_file=APP_FILE,
    )
    results = eval_results(adder, check)
    return ModelCardData(
        license=license_id(),
        library_name=LIBRARY_NAME,
        tags=list(TAGS),
        model_name=f"lit_addition-{digits}digit" if results else None,
        eval_results=results,
        **space.to_dict(),
    )


def model_card(adder: CheckpointAdder, check: ExportCheck | None) -> ModelCard:
    """The card for the model exported from ``adder``'s checkpoint, checked on its test split: the front matter of
    :func:`card_data`, then the text."""
    return ModelCard(f"---\n{card_data(adder, check).to_yaml()}\n---\n\n{card_text(adder, check)}")


def card_text(adder: CheckpointAdder, check: ExportCheck | None) -> str:
    """The card's Markdown text, below its front matter."""
    checkpoint, hp, data, encoding = adder.checkpoint, adder.hparams, adder.data_hparams, adder.encoding
    source = adder.source
    runner, app = requirements(RUNNER), requirements(APP)
    parameters = sum(p.numel() for p in adder.net.parameters())
    trained = f"{checkpoint.get('epoch', -1) + 1} epoch(s), {checkpoint.get('global_step', 0):,} optimizer steps"
    data_section = (
        f"""{data["num_samples"]:,} unique problems (`a+b` and `b+a` count once), of which {data["val_fraction"]:.0%}
were held out for validation{_held_out(data)}, and {data["test_samples"]:,} more for the test split; drawn
{_drawn(data)}, with seed {data["seed"]}.

{_table(data)}"""
        if data
        else "The checkpoint does not record its data module."
    )
    onnx_file = (
        f"the network with its weights; input `{INPUT_NAME}` (int64, batch x {encoding.question_length}), output "
        f"`{OUTPUT_NAME}` (float32, batch x {encoding.answer_length} x {len(VOCAB)}); metadata `{ENCODING_KEY}` "
        "holds the encoding"
    )
    examples = problems_to_try(encoding.digits)[:2]
    zeros = ", operands written with leading zeros" if encoding.zero_pad or encoding.interleave else ""
    zeros += ", their digits in turns, column by column" if encoding.interleave else ""
    question_layout = zeros + (" and fed backwards" if encoding.reverse else "")
    units_first = ", units first" if encoding.reverse_answer else ""
    return f"""# lit_addition: {encoding.digits}-digit addition LSTM

A sequence-to-sequence LSTM that reads an addition problem such as `535+61` character by character and writes its
sum, `596`. It was trained with lit_addition, a PyTorch Lightning reproduction of the Keras example *Sequence to
sequence learning for performing number addition*, and exported to ONNX and safetensors from `{source}`.

## Use

Needs only {" and ".join(f"`{r}`" for r in runner)}; neither lit_addition nor torch:

```bash
pip install {" ".join(f'"{r}"' for r in runner)}
python adder.py {" ".join(f'"{e}"' for e in examples)}
```

```python
from adder import OnnxAdder
OnnxAdder().answer({examples!r})
```

With torch, the safetensors weights load back through huggingface_hub's `PyTorchModelHubMixin`, from this folder or
from the Hub, where lit_addition is installed with its `export` extra (`pip install -e ".[export]"` in its
repository; Lightning is not needed); `config.json` holds the arguments that rebuild the network:

```python
from lit_addition.hub import HubAdditionLSTM
HubAdditionLSTM.from_pretrained(".").adder().answer({examples!r})
```

The web demo, the page of the Hugging Face Space, also needs {" and ".join(f"`{r}`" for r in app)}
(`requirements.txt` lists everything):

```bash
pip install -r requirements.txt
python app.py                      # http://127.0.0.1:7860; --host and --port to change
```

| file | what it is |
|---|---|
| `{MODEL_FILE}` | {onnx_file} |
| `{WEIGHTS_FILE}`, `{CONFIG_FILE}` | the same weights for torch, and the arguments that rebuild the network |
| `errors.py`, `encoding.py`, `text.py` | lit_addition's own error type, encoder and parser, copied verbatim |
| `adder.py` | the runner: `OnnxAdder` (the same interface as lit_addition's `CheckpointAdder`) and a command line |
| `app.py` | the web demo (Gradio): a page to try problems on, and an `answer` API endpoint |
| `facts.json` | what the demo page says about the model: digits, parameters, test-split accuracy |
| `requirements.txt` | everything the folder needs, the demo included |
| `{CARD_FILE}` | this card; its front matter holds the Space's settings and the model's metadata |

## Model

An encoder LSTM reads the one-hot question; its last state, repeated once per answer character, feeds a decoder
LSTM stack and a linear layer over the {len(VOCAB)}-character vocabulary `{VOCAB!r}`: {parameters:,} parameters.
Trained for {trained}. Questions are padded to {encoding.question_length} characters{question_layout}; answers
are {encoding.answer_length} characters{units_first}.

{_table(dict(hp))}

## Data

{data_section}

## Evaluation

{_evaluation(check, data)}

## Intended use

Teaching and demonstrating sequence-to-sequence learning: how far a small recurrent network gets at learning
addition from examples. It is not a calculator: it answers from learned patterns, not by computing, and it can be
wrong on any problem, including ones it has seen.

## Limits

- Two whole numbers from 0 to {encoding.max_operand} (at most {encoding.digits} digit(s) each) joined by one `+`;
  spaces around the numbers and the `+` are fine, and leading zeros are dropped (`007` is 7).
- Anything else is refused with a one-line `InputError` that names the problem: a longer number, a negative number,
  any other operation or character, digits other than ASCII 0-9 (such as `５` or `٣`), a missing or extra `+`, an
  empty problem.
- The test score holds for problems drawn like the training data, where short numbers are common; every problem
  of up to {encoding.digits} digits is accepted, but other mixes of problems may score differently.
"""
