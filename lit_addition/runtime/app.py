"""The web demo: a Gradio page where anyone types an addition problem and sees what the model answers, and why.

One file serves both ways of running the demo. ``python -m lit_addition demo --ckpt_path CKPT`` builds it around a
checkpoint; ``export`` copies this file, unchanged, as ``app.py`` beside the ONNX model, where ``python app.py`` builds
it around the exported model (this is what a Hugging Face Space runs). So it imports only Gradio, NumPy and its
neighbours in ``runtime/``, and gets the model as an :class:`~lit_addition.runtime.adder.Adder`: the checkpoint's
``CheckpointAdder`` or the exported ``OnnxAdder``, the same interface.

The page: a problem box; the model's answer, the true sum and ☑ or ☒; the model's confidence in each answer
character; clickable examples, long carry chains among them; the model's digits, size and test-split accuracy. A
problem that ``answer`` would refuse shows the same one-line reason on the page. The API has one endpoint,
``answer``: the problem string in, the model's answer string out::

    gradio_client.Client("http://127.0.0.1:7860/").predict("535+61", api_name="/answer")  # "596"

It is a batched Gradio function (``batch=True``, :data:`MAX_BATCH_SIZE`, :data:`CONCURRENCY_LIMIT`): requests that
wait in Gradio's queue together are answered in one forward pass. In a batch an error would fail every request of
it, so a bad problem is refused before it can join one, as it is submitted, by the endpoint's validator: HTTP 400
whose ``detail`` is the one-line reason (``gradio_client`` raises ``httpx.HTTPStatusError``). Gradio 6's own refusal,
``gr.validate(False, reason)``, is not read for a batched function (its result comes back as a tuple, which the queue
takes as valid), so the validator raises the reason instead, which the queue answers with the 400.

The server makes no outside requests (analytics off, no share link), listens on 127.0.0.1 unless told otherwise,
and stops cleanly on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any

import numpy as np

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio reads it: no telemetry, no version check
import gradio as gr  # noqa: E402

if __package__:  # imported from the lit_addition package
    from .adder import Adder, OnnxAdder
    from .encoding import PAD_ID, VOCAB
    from .errors import InputError
    from .text import parse, problems_to_try
else:  # run in an exported folder, beside its copies of the other runtime files
    from adder import Adder, OnnxAdder
    from encoding import PAD_ID, VOCAB
    from errors import InputError
    from text import parse, problems_to_try

RIGHT, WRONG = "☑ right", "☒ wrong"
CSS = "#error textarea { color: #b91c1c; }"  # the reason a problem was refused, in red
CONFIDENCE_HEADERS = ["character", "place", "confidence"]
MAX_BATCH_SIZE = 64  # requests to the answer endpoint that share one forward pass
CONCURRENCY_LIMIT = 2  # such batches at a time


def describe(facts: dict[str, Any]) -> str:
    """The model's facts as one Markdown line."""
    parts = [f"**{facts['digits']}-digit model**"]
    if facts.get("parameters") is not None:
        parts.append(f"{facts['parameters']:,} parameters")
    if facts.get("test_seq_acc") is None:
        parts.append("test-split accuracy not measured")
    else:
        parts.append(f"test split: {facts['test_seq_acc']:.2%} exact on {facts['test_problems']:,} held-out problems")
    if facts.get("source"):
        parts.append(f"from `{facts['source']}`")
    return " · ".join(parts)


def explain(adder: Adder, problem: str) -> tuple[str, str, str, list[list[str]]]:
    """The model's answer, the true sum, ☑ or ☒, and the model's confidence in each answer character (most
    significant first).

    Raises:
        InputError: the problem is not two whole numbers of at most ``digits`` digits joined by ``+``.
    """
    encoding = adder.encoding
    a, b = parse(problem, encoding.digits)
    probabilities = adder.probabilities(encoding.encode_questions(np.array([a]), np.array([b])))[0]
    ids = probabilities.argmax(-1)
    answer = encoding.decode_answers(ids[None])[0]
    rows = [[VOCAB[i] if i != PAD_ID else "(none)", place, f"{p.max():.1%}"]
            for i, place, p in zip(ids, encoding.answer_places(), probabilities, strict=True)]  # fmt: skip
    reading_order = rows[::-1] if encoding.reverse_answer else rows
    return answer, str(a + b), RIGHT if answer == str(a + b) else WRONG, reading_order


def build_app(adder: Adder) -> gr.Blocks:
    """The demo page and its ``answer`` endpoint for ``adder``."""

    def show(problem: str) -> tuple[Any, ...]:
        try:
            answer, truth, verdict, confidence = explain(adder, problem)
        except InputError as error:
            return "", "", "", [], gr.Textbox(value=str(error), visible=True)
        return answer, truth, verdict, confidence, gr.Textbox(value="", visible=False)

    def refuse(problem: list[str]) -> tuple[list[dict[str, Any]]]:
        """Gradio's check of each request as it is submitted, before it can join a batch (a batch of one): a bad
        problem is refused alone, with HTTP 400 and its one-line reason."""
        for each in problem:
            parse(each, adder.encoding.digits)  # raises InputError, which Gradio's queue answers with the 400
        return ([gr.validate(True, "")] * len(problem),)

    def answer(problem: list[str]) -> tuple[list[str]]:
        """The model's answers to a batch of problems such as "535+61", one per request, in one forward pass."""
        try:
            return (adder.answer(problem),)
        except InputError as error:  # only a call that skipped the queue, and so the check, gets here
            raise gr.Error(str(error), print_exception=False) from None

    digits = adder.encoding.digits
    examples = problems_to_try(digits)
    with gr.Blocks(title=f"lit_addition: {digits}-digit addition", analytics_enabled=False) as app:
        gr.Markdown(f"# Addition by an LSTM\n{describe(adder.facts)}", elem_id="facts")
        with gr.Row():
            problem = gr.Textbox(label="Problem", placeholder=examples[0], elem_id="problem", scale=4)
            submit = gr.Button("Add", variant="primary", elem_id="submit", scale=1)
        refusal = gr.Textbox(label="Not a problem this model can answer", visible=False, elem_id="error")
        with gr.Row():
            model_answer = gr.Textbox(label="Model's answer", elem_id="answer")
            truth = gr.Textbox(label="True sum", elem_id="truth")
            verdict = gr.Textbox(label="Right?", elem_id="verdict")
        confidence = gr.Dataframe(
            headers=CONFIDENCE_HEADERS, label="The model's confidence in each answer character", elem_id="confidence"
        )
        outputs = [model_answer, truth, verdict, confidence, refusal]
        gr.Examples([[example] for example in examples], problem, outputs, show, run_on_click=True)
        gr.on([problem.submit, submit.click], show, problem, outputs, api_visibility="private")
        # The API endpoint: requests that arrive together share a forward pass; each bad one is refused on its own.
        gr.on(
            [], answer, problem, model_answer, api_name="answer", validator=refuse, batch=True,
            max_batch_size=MAX_BATCH_SIZE, concurrency_limit=CONCURRENCY_LIMIT, show_progress="hidden",
        )  # fmt: skip
    return app


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The server's options; without them Gradio's own defaults apply: 127.0.0.1 and port 7860 (or
    ``$GRADIO_SERVER_NAME`` and ``$GRADIO_SERVER_PORT``, which a Hugging Face Space sets)."""
    parser.add_argument("--host", help="address to listen on (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, help="port to listen on (default: 7860, or the next free one)")


def serve(app: gr.Blocks, host: str | None = None, port: int | None = None) -> None:
    """Serve ``app`` until Ctrl-C or SIGTERM, then close the server and return.

    Raises:
        InputError: the server cannot listen on ``host`` and ``port``.
    """
    try:
        _, url, _ = app.launch(
            server_name=host,
            server_port=port,
            share=False,
            prevent_thread_lock=True,
            quiet=True,
            ssr_mode=False,
            css=CSS,
        )
    except OSError as error:
        where = f"{host or '127.0.0.1'}:{port or 7860}"
        reason = str(error).split(". ")[0]  # Gradio goes on about its environment variables
        raise InputError(f"cannot serve on {where} ({reason}): pick another --port, or --host") from None
    stop = threading.Event()
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"demo running at {url} (Ctrl-C to stop)", flush=True)
        stop.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        app.close()
    print("demo stopped", flush=True)


def main(args: list[str] | None = None) -> None:
    """Serve the exported model beside this file: ``python app.py [--host HOST] [--port PORT]``."""
    parser = argparse.ArgumentParser(description="Serve the exported addition model as a web demo.")
    add_arguments(parser)
    options = parser.parse_args(args)
    try:
        serve(build_app(OnnxAdder()), options.host, options.port)
    except InputError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
