"""Site charts drawn with matplotlib (the reports' stack), inlined as SVG with axes and ticks.

SVG text stays text (``svg.fonttype: none``), so charts are small, searchable and open from
disk with the page; ``svg.hashsalt`` makes the output byte-stable across builds.
"""

from __future__ import annotations

import io
import math
from typing import Sequence

STYLE = {"svg.fonttype": "none", "svg.hashsalt": "genrank", "font.size": 8,
         "axes.spines.top": False, "axes.spines.right": False}


def _render(draw, title: str, xlabel: str, ylabel: str) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(4.2, 2.5))
        draw(ax)
        # a model name may carry control or bidi characters: never into a chart
        ax.set_title("".join(ch for ch in title if ch.isprintable()), fontsize=8)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", color="#e4e8ee", linewidth=0.6)
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
        plt.close(fig)
    text = buf.getvalue()
    return '<div class="chart">' + text[text.index("<svg"):] + "</div>"


def line(xs: Sequence[str], ys: Sequence[float], *, title: str, xlabel: str, ylabel: str,
         ymax: float = 1.0) -> str:
    """A line over categorical x positions (e.g. difficulty bins), y in [0, ymax]."""
    def draw(ax):
        pos = list(range(len(xs)))
        ax.plot(pos, [math.nan if y is None else y for y in ys], marker="o", color="#1f6feb")
        ax.set_xticks(pos, list(xs), rotation=20)
        ax.set_ylim(0, ymax)
    return _render(draw, title, xlabel, ylabel)


def histogram(counts: Sequence[int], edges: Sequence[float], *, title: str, xlabel: str) -> str:
    """Bars for binned counts over their bin edges."""
    def draw(ax):
        widths = [b - a for a, b in zip(edges[:-1], edges[1:])]
        ax.bar(list(edges[:-1]), list(counts), width=widths, align="edge", color="#5b8def",
               edgecolor="white", linewidth=0.5)
    return _render(draw, title, xlabel, "items")
