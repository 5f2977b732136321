"""The ``serve`` command: a checkpoint as an HTTP JSON API on LitServe, which batches concurrent requests into one
forward pass.

::

    python -m lit_addition serve --ckpt_path CKPT [--host 127.0.0.1] [--port 8000] [--max_batch_size 64]
        [--batch_timeout 0.002] [--workers 1] [--api_servers 1]

    curl -s 127.0.0.1:8000/predict --json '{"problem": "535+61"}'
    # {"results": [{"line": 1, "problem": "535+61", "answer": "596"}], "batch": {"requests": 1, "problems": 1}}
    curl -s 127.0.0.1:8000/predict --json '{"problems": ["535+61", "5*3"]}'   # up to 100,000 problems
    curl -s 127.0.0.1:8000/health                                             # ok

``POST /predict`` takes one problem or a list, and answers each as ``answer --json`` does: one record per problem,
its answer or the one-line reason it was refused, so one bad problem never loses the others. ``batch`` says how many
requests, and problems, shared the forward pass that answered this one. A body that is not what the endpoint takes
(not JSON, a field of the wrong type, neither field or both, an unknown field, more than :data:`MAX_PROBLEMS`
problems) gets HTTP 422 with a one-line ``detail``, before it can join a batch; a body over :data:`MAX_BODY_BYTES`
gets 413. ``GET /health`` says ``ok`` once the model is ready.

The checkpoint is read once, here, with :class:`~lit_addition.inference.CheckpointAdder` (one ``torch.load``): a
missing or broken checkpoint, a taken port or an address LitServe cannot listen on get one ``error:`` line before
anything starts. LitServe then copies the network into each inference worker (``--workers`` per device), which moves
it to its device (a GPU where there is one) and answers with the same ``answer_each`` as every command. LitServe is
the optional extra ``serve``.
"""

# No `from __future__ import annotations` here: LitServe builds the FastAPI endpoint from the annotation of
# decode_request's argument, which must be the class itself, not its name.
import argparse
import json
import os
import signal
import socket
import threading
import time
import urllib.request
from typing import Any

from lit_addition.inference import CheckpointAdder, NetworkAdder
from lit_addition.runtime.errors import InputError
from lit_addition.runtime.text import record

try:
    import litserve as ls
    import torch
    from fastapi import Request, Response
    from fastapi.exceptions import RequestValidationError
    from pydantic import BaseModel, ConfigDict, Field, model_validator
except ImportError as error:
    if error.name is None or error.name.split(".")[0] not in {"litserve", "fastapi", "pydantic"}:
        raise
    raise InputError("serve needs litserve, not installed here: pip install 'lit-addition[serve]'") from None

MAX_PROBLEMS = 100_000  # problems in one request
MAX_BODY_BYTES = 32 * 2**20  # 100,000 problems of up to 5 digits each take about 2 MB
HOSTS = ("127.0.0.1", "0.0.0.0", "::")  # the addresses LitServer.run listens on
USAGE = f'send {{"problem": "535+61"}} or {{"problems": ["535+61", "99+1"]}}, at most {MAX_PROBLEMS:,} problems'


class Problems(BaseModel):
    """The body of ``POST /predict``: one problem, or a list of them. FastAPI checks it in the HTTP server, so a bad
    body is refused before it reaches a batch."""

    model_config = ConfigDict(extra="forbid", strict=True)

    problem: str | None = None
    problems: list[str] | None = Field(default=None, max_length=MAX_PROBLEMS)

    @model_validator(mode="after")
    def one_of_the_two(self) -> "Problems":
        if (self.problem is None) == (self.problems is None):
            raise ValueError('no "problem" or "problems"' if self.problem is None else 'both "problem" and "problems"')
        return self


def refusal(error: RequestValidationError, content_type: str) -> str:
    """A bad body's one-line reason, from the first thing FastAPI found wrong with it."""
    first = error.errors()[0]
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"][1:]).lstrip(".")
    if first["type"] == "json_invalid":
        reason = f"the body is not JSON ({first['ctx']['error']})"
    elif first["type"] == "value_error":  # Problems.one_of_the_two
        reason = f"the body has {first['ctx']['error']}"
    elif where:
        reason = f"{where}: {first['msg']}"
    elif first["type"] == "missing":
        reason = "the body is empty"
    elif "json" not in content_type:  # FastAPI reads a body as JSON only when it is sent as JSON
        sent = f"is sent as {content_type}" if content_type else "has no Content-Type"
        reason = f"the body {sent}: send it with Content-Type: application/json"
    else:
        reason = "the body is not a JSON object"
    return f"{reason}: {USAGE}"


async def refuse(request: Request, error: RequestValidationError) -> Response:
    """FastAPI's handler for a body that is not :class:`Problems`: HTTP 422 with a one-line ``detail``."""
    detail = refusal(error, request.headers.get("content-type", ""))
    return Response(json.dumps({"detail": detail}), status_code=422, media_type="application/json")


class AdderAPI(ls.LitAPI):
    """The model behind ``POST /predict``: each batch of requests is answered by one ``answer_each`` call.

    Args:
        adder: the checkpoint's network, copied into each worker.
        max_batch_size: the most requests to answer together.
        batch_timeout: how long, in seconds, a worker waits for a batch to fill.
    """

    def __init__(self, adder: NetworkAdder, max_batch_size: int, batch_timeout: float) -> None:
        super().__init__(max_batch_size=max_batch_size, batch_timeout=batch_timeout)
        self.adder = adder

    def setup(self, device: str) -> None:
        # Ctrl-C reaches every process of the group; the main process stops this worker once the servers are down.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if device.startswith("cpu"):  # small batches run fastest on one thread, and the workers share the cores
            torch.set_num_threads(1)
        self.adder.to(device)

    def decode_request(self, request: Problems) -> list[str]:
        return request.problems if request.problems is not None else [request.problem]

    def predict(self, batch: Any) -> Any:
        requests = batch if self.max_batch_size > 1 else [batch]  # LitServe batches only when it may
        results = iter(self.adder.answer_each([problem for problems in requests for problem in problems]))
        shared = {"requests": len(requests), "problems": sum(map(len, requests))}
        answered = [([next(results) for _ in problems], problems, shared) for problems in requests]
        return answered if self.max_batch_size > 1 else answered[0]

    def encode_response(self, output: tuple[list[Any], list[str], dict[str, int]]) -> Response:
        results, problems, shared = output
        records = [record(line, p, r) for line, (p, r) in enumerate(zip(problems, results, strict=True), start=1)]
        payload = {"results": records, "batch": shared}
        return Response(json.dumps(payload, ensure_ascii=False), media_type="application/json")


def check_address(host: str, port: int) -> None:
    """Raise :class:`InputError` unless LitServe can listen on ``host`` and ``port``."""
    if host not in HOSTS:
        raise InputError(f"--host {host}: LitServe listens on {', '.join(HOSTS)}; 127.0.0.1 is this machine only")
    if not 1024 <= port <= 65535:
        raise InputError(f"--port {port}: pick a port from 1024 to 65535")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as error:
            reason = f"cannot serve on {host}:{port} ({error.strerror})"
            raise InputError(f"{reason}: pick another --port, or --host") from None


def announce_when_ready(url: str) -> None:
    """Print the server's address once ``/health`` answers ``ok``, from a thread that waits for it."""

    def wait() -> None:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1) as reply:
                    if reply.status == 200:
                        print(f"serve running at {url} (Ctrl-C to stop)", flush=True)
                        return
            except OSError:  # not listening yet, or 503 while the workers start
                pass
            time.sleep(0.1)

    threading.Thread(target=wait, daemon=True).start()


def _quiet_children() -> None:
    """In a forked HTTP server process: the system's own handling of Ctrl-C and SIGTERM where Python's would raise
    (uvicorn raises the signal it caught again once it has shut down, and a KeyboardInterrupt prints a traceback);
    a signal that was ignored stays ignored."""
    for number in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(number) is signal.default_int_handler:
            signal.signal(number, signal.SIG_DFL)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Serve a checkpoint as an HTTP JSON API (POST /predict, GET /health) that batches requests."
    parser.add_argument("--ckpt_path", required=True, help="checkpoint written by `fit`")
    parser.add_argument("--host", default="127.0.0.1", help="127.0.0.1 (this machine only, the default), or 0.0.0.0")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: %(default)s)")
    parser.add_argument(
        "--max_batch_size", type=int, default=64, help="most requests answered together (default: %(default)s)"
    )
    parser.add_argument(
        "--batch_timeout",
        type=float,
        default=0.002,
        help="seconds a worker waits for a batch to fill (default: %(default)s)",
    )
    parser.add_argument("--workers", type=int, default=1, help="inference workers per device (default: %(default)s)")
    parser.add_argument(
        "--api_servers", type=int, default=1, help="HTTP server processes in front of them (default: %(default)s)"
    )


def run(args: argparse.Namespace) -> None:
    for name in ("max_batch_size", "workers", "api_servers"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.batch_timeout < 0:
        raise InputError(f"--batch_timeout must be 0 or more seconds, got {args.batch_timeout}")
    checkpoint = CheckpointAdder.load(args.ckpt_path)
    check_address(args.host, args.port)
    adder = NetworkAdder(checkpoint.net, checkpoint.encoding, checkpoint.source)
    api = AdderAPI(adder, args.max_batch_size, args.batch_timeout)
    server = ls.LitServer(api, workers_per_device=args.workers, max_payload_size=MAX_BODY_BYTES)
    server.app.add_exception_handler(RequestValidationError, refuse)
    announce_when_ready(f"http://{'localhost' if ':' in args.host else args.host}:{args.port}")
    # SIGTERM shuts LitServe down as Ctrl-C does.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    os.register_at_fork(after_in_child=_quiet_children)
    try:
        server.run(
            host=args.host,
            port=args.port,
            num_api_servers=args.api_servers,
            log_level="warning",
            generate_client_file=False,
            access_log=False,
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
    print("serve stopped", flush=True)
