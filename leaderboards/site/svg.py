"""Inline SVG charts (no plotting library: the site is static text that opens from disk)."""

from __future__ import annotations

import math
from html import escape
from typing import Sequence

W, H, PAD = 360, 200, 36


def _frame(title: str, xlabel: str, ylabel: str, body: str) -> str:
    return (f'<svg class="chart" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
            f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - 8}" y2="{H - PAD}" class="axis"/>'
            f'<line x1="{PAD}" y1="8" x2="{PAD}" y2="{H - PAD}" class="axis"/>'
            f'<text x="{(W + PAD) / 2}" y="{H - 6}" text-anchor="middle">{escape(xlabel)}</text>'
            f'<text x="10" y="{(H - PAD) / 2}" transform="rotate(-90 10 {(H - PAD) / 2})" '
            f'text-anchor="middle">{escape(ylabel)}</text>{body}</svg>')


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def line(xs: Sequence[str], ys: Sequence[float], *, title: str, xlabel: str, ylabel: str,
         ymax: float = 1.0) -> str:
    """A line over categorical x positions (e.g. difficulty bins), y in [0, ymax]."""
    n = len(xs)
    step = (W - PAD - 50) / max(1, n - 1) if n > 1 else 0
    pts = [(PAD + 10 + i * step, H - PAD - (0 if math.isnan(y) else y / ymax) * (H - PAD - 16))
           for i, y in enumerate(ys)]
    body = [f'<polyline class="series" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in pts)}"/>']
    for (x, y), label, v in zip(pts, xs, ys):
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" class="dot">'
                    f'<title>{escape(label)}: {_fmt(v)}</title></circle>'
                    f'<text x="{x:.1f}" y="{H - PAD + 12}" text-anchor="middle" class="tick">'
                    f'{escape(label)}</text>'
                    f'<text x="{x:.1f}" y="{y - 6:.1f}" text-anchor="middle" '
                    f'class="tick">{_fmt(v)}</text>')
    return _frame(title, xlabel, ylabel, "".join(body))


def histogram(counts: Sequence[int], edges: Sequence[float], *, title: str, xlabel: str) -> str:
    """Bars for binned counts; the first and last edge label the x axis."""
    n, top = len(counts), max(max(counts, default=0), 1)
    width = (W - PAD - 12) / max(1, n)
    body = []
    for i, c in enumerate(counts):
        h = c / top * (H - PAD - 16)
        body.append(f'<rect x="{PAD + 2 + i * width:.1f}" y="{H - PAD - h:.1f}" '
                    f'width="{max(1.0, width - 2):.1f}" height="{h:.1f}" class="bar">'
                    f'<title>[{_fmt(edges[i])}, {_fmt(edges[i + 1])}): {c}</title></rect>')
    body.append(f'<text x="{PAD}" y="{H - PAD + 12}" class="tick">{_fmt(edges[0])}</text>'
                f'<text x="{W - 8}" y="{H - PAD + 12}" text-anchor="end" class="tick">'
                f'{_fmt(edges[-1])}</text><text x="{PAD - 4}" y="16" text-anchor="end" '
                f'class="tick">{top}</text>')
    return _frame(title, xlabel, "items", "".join(body))
