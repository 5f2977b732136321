"""What ``export`` ships beside the model: the files that answer problems without lit_addition or torch.

Each file imports only NumPy, the standard library and its neighbours here (and onnxruntime or Gradio where it runs
the model or the page), so that ``export`` can copy :data:`SHIPPED` verbatim into a folder that is a Hugging Face
Space as it stands. Their requirements are written once, in lit_addition's own package metadata
(``pyproject.toml``): :func:`requirements` reads the ranges of :data:`RUNNER` and :data:`APP` from there.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

FOLDER = Path(__file__).parent
SHIPPED = ("errors.py", "encoding.py", "text.py", "adder.py", "app.py")  # copied verbatim, in import order
# The distributions the shipped files import: the runner needs NumPy and onnxruntime, the web demo Gradio too.
RUNNER = ("numpy", "onnxruntime")
APP = ("gradio",)


def requirements(names: tuple[str, ...] = RUNNER + APP, distribution: str = "lit-addition") -> list[str]:
    """The requirement of each of ``names``, with the version range lit_addition's own metadata gives it (in its
    dependencies or an extra), e.g. ``["numpy>=1.24", "onnxruntime>=1.17", "gradio<7,>=6"]``."""
    ranges = {}
    for requirement in metadata.requires(distribution) or []:
        spec = requirement.split(";")[0].strip()
        name = re.match(r"[A-Za-z0-9._-]+", spec).group(0).lower()
        ranges.setdefault(name, spec)
    return [ranges[name] for name in names]
