"""Child processes for tests and the serving benchmark: Python code that cannot import lit_addition or torch (or only
Lightning), and a server (``demo`` or ``serve``) run on a free loopback port, read until it says where it listens and
stopped with SIGTERM however the caller ends."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


def blocking(*names: str) -> str:
    """Python code to prepend to code run with ``python -I -c``: the packages ``names`` cannot be imported."""
    return f"""
import importlib.abc, sys

class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {set(names)!r}:
            raise ModuleNotFoundError(f"blocked: {{name}}", name=name)

sys.meta_path.insert(0, Blocked())
try:
    import {names[0]}
    sys.exit("{names[0]} was importable")
except ModuleNotFoundError:
    pass
"""


# lit_addition, torch and lightning cannot be imported, as in a folder that export wrote and a user copied to a
# machine with neither.
BLOCK_LIT_ADDITION = blocking("lit_addition", "torch", "lightning")
# Lightning cannot be imported, as on a machine with torch and huggingface_hub only.
BLOCK_LIGHTNING = blocking("lightning", "pytorch_lightning")

# Gradio and its client send telemetry unless told not to; these tests make no outside requests.
QUIET_GRADIO = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
START_TIMEOUT = 300  # seconds: start-up imports torch and Gradio, which is slow on a busy 2-core machine
STOP_TIMEOUT = 30


def free_port() -> int:
    """A loopback port that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """A running server: its process, its URL, and every line it has printed so far."""

    process: subprocess.Popen
    url: str = ""
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def stop(self) -> int:
        """Send SIGTERM, wait for the process to end (killing it if it will not) and return its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.reader is not None:
            self.reader.join(STOP_TIMEOUT)
        return self.process.returncode


@contextlib.contextmanager
def serving(command: list[str], cwd: Path) -> Iterator[Server]:
    """Run ``command --port PORT`` on a free port until it prints ``... running at URL`` (``demo`` and ``serve``
    both do); stop it on leaving."""
    process = subprocess.Popen(
        [*command, "--port", str(free_port())],
        cwd=cwd,
        env=QUIET_GRADIO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = Server(process)
    started: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in process.stdout:
            server.lines.append(line.rstrip("\n"))
            if " running at " in line:
                started.put(line.split(" running at ")[1].split()[0])
        started.put("")  # the process ended

    server.reader = threading.Thread(target=read, daemon=True)
    server.reader.start()
    try:
        server.url = started.get(timeout=START_TIMEOUT)
        if not server.url:
            raise RuntimeError("the server ended before it served:\n" + "\n".join(server.lines[-30:]))
        yield server
    finally:
        server.stop()
