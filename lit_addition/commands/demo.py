"""The ``demo`` command: the web demo of :mod:`lit_addition.runtime.app` around a checkpoint.

::

    python -m lit_addition demo --ckpt_path CKPT [--host 127.0.0.1] [--port 7860]

The page and its ``answer`` endpoint are built by the same code that ``export`` ships as ``app.py``; here the adder
is the checkpoint's :class:`~lit_addition.inference.CheckpointAdder`, whose test-split accuracy the page shows,
measured at start-up on the split regenerated from the checkpoint. Gradio is the optional extra ``demo``.
"""

from __future__ import annotations

import argparse
from types import ModuleType

from lit_addition.inference import CheckpointAdder
from lit_addition.runtime.errors import InputError


def _app() -> ModuleType:
    """:mod:`lit_addition.runtime.app`, which needs Gradio."""
    try:
        from lit_addition.runtime import app
    except ImportError as error:
        if error.name is None or error.name.split(".")[0] != "gradio":
            raise
        raise InputError("the demo needs gradio, not installed here: pip install 'lit-addition[demo]'") from None
    return app


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Serve a checkpoint as a web demo: a page to try problems on, and an `answer` API endpoint."
    parser.add_argument("--ckpt_path", required=True, help="checkpoint written by `fit`")
    _app().add_arguments(parser)


def run(args: argparse.Namespace) -> None:
    app = _app()
    app.serve(app.build_app(CheckpointAdder.load(args.ckpt_path)), args.host, args.port)
