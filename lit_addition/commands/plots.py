"""The pictures of ``analyze``: the error map over the problem space and accuracy by carry-chain length.

Needs matplotlib, the optional extra ``plot``; :mod:`lit_addition.commands.analyze` imports this module only when it is
installed. The error map is drawn with ``figimage``, which puts an array on the canvas pixel for pixel, unscaled:
for 2 and 3 digits each problem is exactly one pixel, at (a, b), and the axes around it
only add ticks and labels. Larger spaces are shown in bins, each coloured by the error rate of its sampled problems.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from lit_addition.evaluation import BUCKET_NAMES, BUCKETS, Evaluation

RIGHT = (222, 235, 222)  # pale green: a problem answered right
WRONG = (214, 39, 40)  # red: a problem answered wrong
EMPTY = (255, 255, 255)  # white: a pixel no problem was asked at
UNSAMPLED = (225, 225, 225)  # grey: a bin of a binned map none of whose problems was sampled
BINS = 100  # bins per axis of a binned map
BIN_PIXELS = 10  # pixels per bin per axis of a binned map
MARGIN = {"left": 90, "right": 250, "bottom": 70, "top": 60}  # pixels around the map, for labels and legend
DPI = 100


def _map_pixels(evaluation: Evaluation) -> tuple[np.ndarray, int, float | None]:
    """The map as RGB rows (second operand ``b``, from 0 at row 0) by columns (first operand ``a``), how many numbers
    one pixel spans, and for a binned map the error rate of the darkest colour (None for one pixel per problem)."""
    e = evaluation
    numbers = 10**e.encoding.digits
    if e.whole_space:
        pixels = np.empty((numbers, numbers, 3), dtype=np.uint8)
        pixels[:] = EMPTY
        pixels[e.b, e.a] = np.where(e.correct[:, None], RIGHT, WRONG)
        return pixels, 1, None
    span = numbers // BINS
    cell = (e.b // span) * BINS + e.a // span
    counts = np.bincount(cell, minlength=BINS * BINS).reshape(BINS, BINS)
    errors = np.bincount(cell, weights=~e.correct, minlength=BINS * BINS).reshape(BINS, BINS)
    with np.errstate(invalid="ignore"):
        rate = errors / counts
    darkest = max(float(np.nanmax(rate)), 1e-9)
    colours = colormaps["Reds"](rate / darkest)[..., :3] * 255
    pixels = np.where(counts[..., None] > 0, colours, UNSAMPLED).round().astype(np.uint8)
    return pixels.repeat(BIN_PIXELS, 0).repeat(BIN_PIXELS, 1), span // BIN_PIXELS, darkest


def error_map(evaluation: Evaluation, path: Path, title: str) -> dict[str, Any]:
    """Draw the error map to ``path``.

    Returns:
        Where the map lies in the image, in pixels from the top left (``left``, ``top``, ``size``), and how many
        numbers one pixel spans along each axis (``numbers_per_pixel``; 1 for one pixel per problem).
    """
    e = evaluation
    pixels, per_pixel, darkest = _map_pixels(e)
    size = len(pixels)
    width, height = MARGIN["left"] + size + MARGIN["right"], MARGIN["bottom"] + size + MARGIN["top"]

    def box(left: float, bottom: float, box_width: float, box_height: float) -> tuple[float, ...]:
        """A rectangle given in pixels from the bottom left, in figure coordinates."""
        return left / width, bottom / height, box_width / width, box_height / height

    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    figure.figimage(pixels, MARGIN["left"], MARGIN["bottom"], origin="lower")
    gap = 3  # pixels between the map and the axes' ticks, so that nothing is drawn over the map
    axes = figure.add_axes(box(MARGIN["left"] - gap, MARGIN["bottom"] - gap, size + 2 * gap, size + 2 * gap))
    numbers = 10**e.encoding.digits
    axes.set_xlim(-gap * per_pixel, numbers + gap * per_pixel)
    axes.set_ylim(-gap * per_pixel, numbers + gap * per_pixel)
    axes.patch.set_visible(False)
    for spine in axes.spines.values():
        spine.set_visible(False)
    axes.set_xlabel("a, the first operand of a+b", loc="left")
    axes.set_ylabel("b")
    wrong = int((~e.correct).sum())
    if darkest is not None:
        scale = ScalarMappable(Normalize(0, darkest), "Reds")
        rates = figure.add_axes(box(MARGIN["left"] + size + 30, MARGIN["bottom"], 15, size))
        figure.colorbar(scale, cax=rates, label=f"error rate per {numbers // BINS:,} x {numbers // BINS:,} bin")
        axes.set_title(f"{title}\n{wrong:,} wrong of {len(e.a):,} sampled problems", fontsize=10, loc="left")
    else:
        legend = [Patch(color=np.array(RIGHT) / 255, label="right"), Patch(color=np.array(WRONG) / 255, label="wrong")]
        axes.legend(handles=legend, loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
        axes.set_title(
            f"{title}\n{wrong:,} wrong of all {len(e.a):,} problems, one pixel each", fontsize=10, loc="left"
        )
    figure.savefig(path, dpi=DPI)
    return {"left": MARGIN["left"], "top": MARGIN["top"], "size": size, "numbers_per_pixel": per_pixel}


def carry_plot(report: dict[str, Any], path: Path, title: str) -> None:
    """Exact accuracy by the longest carry chain, one line per split and one for all problems, to ``path``."""
    rows = report["by_carry_chain"]
    chains = [row["carry_chain"] for row in rows]
    figure = Figure(figsize=(7, 4.5), dpi=DPI, layout="tight")
    axes = figure.add_subplot()
    series = [(BUCKET_NAMES[name], name) for name in BUCKETS] if report["by_split"] is not None else []
    for label, key in [("all problems", "accuracy"), *series]:
        values = [np.nan if row[key] is None else row[key] for row in rows]
        axes.plot(chains, values, marker="o", label=label, linewidth=3 if key == "accuracy" else 1.5)
    axes.set_xticks(chains, [f"{row['carry_chain']}\n({row['problems']:,})" for row in rows])
    axes.set_xlabel("longest run of consecutive carries (problems)")
    axes.set_ylabel("exact answers")
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.grid(alpha=0.3)
    axes.legend()
    axes.set_title(title, fontsize=10)
    figure.savefig(path, dpi=DPI)
