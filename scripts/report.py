"""What every report of the scripts starts with, and the table and number formats they share: the machine (from the
package's own description of it), the command that measured the figures, and the date."""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
from pathlib import Path

import lightning
import torch

from lit_addition.machine import cpu_cores, cpu_name, describe, gpu_name

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SHIPPED_CONFIGS = sorted(path.stem for path in (ROOT / "configs").glob("*.yaml"))  # 2digit ... 5digit


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def machine() -> dict:
    """This machine and software, as the reports record them."""
    return {
        "cpu": cpu_name(),
        "cores": cpu_cores(),
        "gpu": gpu_name(),
        "machine": describe(),
        "python": platform.python_version(),
        "lightning": lightning.__version__,
        "torch_threads": torch.get_num_threads(),
        "date": datetime.date.today().isoformat(),
    }


def command() -> str:
    """The command line that is running, as a reader would type it."""
    return " ".join(["python", str(Path(sys.argv[0]).resolve().relative_to(ROOT)), *sys.argv[1:]])


def header(title: str, measured: dict, what: str) -> list[str]:
    """A report's first lines: its title, the command and machine that measured it, and what it measures."""
    m = measured["machine"]
    where = m["gpu"] or f"{m['cpu']}, {m['cores']} cores"
    return [
        f"# {title}",
        "",
        f"Measured by `{measured['command']}` on {m['date']}: {where} ({m['machine']}; {m['torch_threads']} torch "
        f"threads, Lightning {m['lightning']}, Python {m['python']}). {what}",
    ]


def table(head: list[str], rows: list[list]) -> list[str]:
    """A Markdown table."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}%"
