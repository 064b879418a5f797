"""Line plots as inline SVG, so a report needs no plotting library, no script and no network.

:func:`line_plot` draws several series on one pair of axes (the runs of a report, in their
colours), with "nice" ticks (1, 2 or 5 times a power of ten), an optional log scale, markers where a
series has few points, and each series' name as a hover title. Long series are thinned to bucket
means (:func:`thin`) so that a page of many long runs stays small. Every text is HTML-escaped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Sequence

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
DASHES = ("", "6 3", "2 3")  # the 11th run repeats the first colour, dashed
MAX_POINTS = 300  # per series; longer series are drawn as bucket means
MARKERS_BELOW = 40  # series with fewer points get a dot on each


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[tuple[float, float]]  # (x, y); non-finite y values are left out
    color: str = PALETTE[0]
    dash: str = ""


def style(i: int) -> tuple[str, str]:
    """(colour, dash pattern) of the i-th run: the same in every plot and legend of a page."""
    return PALETTE[i % len(PALETTE)], DASHES[(i // len(PALETTE)) % len(DASHES)]


def thin(points: Sequence[tuple[float, float]], max_points: int = MAX_POINTS) -> list[tuple[float, float]]:
    """At most ``max_points`` points: consecutive buckets replaced by their mean x and mean y."""
    pts = [(float(x), float(y)) for x, y in points if _finite(x) and _finite(y)]
    if len(pts) <= max_points:
        return pts
    size = len(pts) / max_points
    out = []
    for b in range(max_points):
        bucket = pts[int(b * size) : int((b + 1) * size)] or [pts[-1]]
        out.append((sum(p[0] for p in bucket) / len(bucket), sum(p[1] for p in bucket) / len(bucket)))
    return out


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round values covering [lo, hi] (steps of 1, 2 or 5 times a power of ten)."""
    if not (_finite(lo) and _finite(hi)) or hi <= lo:
        return [lo] if _finite(lo) else []
    raw = (hi - lo) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    digits = max(0, 1 - math.floor(math.log10(step)))  # enough decimals for the step, no float noise
    k = math.floor(lo / step)
    ticks = [round(k * step, digits)]
    while ticks[-1] < hi - step * 1e-9:  # up to the first tick at or above hi
        k += 1
        ticks.append(round(k * step, digits))
    return ticks


def log_ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten covering [lo, hi] (lo > 0), with 2 and 5 between when they span under two decades."""
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    mults = (1, 2, 5) if b - a <= 2 else (1,)
    return [m * 10.0**e for e in range(a, b + 1) for m in mults]


def fmt(v: float) -> str:
    """A tick label: short, without trailing zeros."""
    if v == 0:
        return "0"
    if abs(v) >= 1e5 or abs(v) < 1e-3:
        return f"{v:.0e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{v:.4g}"


def line_plot(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str = "generator step",
    log_y: bool = False,
    x_range: tuple[float, float] | None = None,
    width: int = 440,
    height: int = 250,
) -> str:
    """An ``<svg>`` element with every series on shared axes; ``x_range`` fixes the x axis (to
    line up several plots). Returns a short "no data" figure when no series has a finite point."""
    drawn = [(s, thin(s.points)) for s in series]
    if log_y:
        drawn = [(s, [(x, y) for x, y in pts if y > 0]) for s, pts in drawn]
    ys = [y for _, pts in drawn for _, y in pts]
    xs = [x for _, pts in drawn for x, _ in pts]
    left, right, top, bottom = 58, 12, 26, 40
    pw, ph = width - left - right, height - top - bottom
    head = (
        f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        f'<text x="{width / 2:.0f}" y="16" text-anchor="middle" class="title">{escape(title)}</text>'
    )
    if not ys:
        return head + f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" class="none">no data</text></svg>'
    x0, x1 = x_range if x_range else (min(xs), max(xs))
    x1 = x1 if x1 > x0 else x0 + 1
    y0, y1 = min(ys), max(ys)
    if log_y:
        ticks = log_ticks(y0, y1)
        y0, y1 = max(t for t in ticks if t <= y0), min(t for t in ticks if t >= y1)  # the ticks around the data
        to_v = math.log10
    else:
        if y1 - y0 < 1e-12 * max(1.0, abs(y0)):
            y0, y1 = y0 - max(1.0, abs(y0)) * 0.1, y1 + max(1.0, abs(y1)) * 0.1
        ticks = nice_ticks(y0, y1)
        y0, y1 = min(ticks[0], y0), max(ticks[-1], y1)
        to_v = float
    v0, v1 = to_v(y0), to_v(y1)
    v1 = v1 if v1 > v0 else v0 + 1

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return top + ph - (to_v(y) - v0) / (v1 - v0) * ph

    parts = [head, f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" class="frame"/>']
    for t in ticks:
        if y0 <= t <= y1:
            y = py(t)
            parts.append(
                f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                f'<text x="{left - 5}" y="{y + 4:.1f}" text-anchor="end">{fmt(t)}</text>'
            )
    for t in nice_ticks(x0, x1, 6):
        if x0 <= t <= x1:
            x = px(t)
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + ph}" class="grid"/>'
                f'<text x="{x:.1f}" y="{top + ph + 15}" text-anchor="middle">{fmt(t)}</text>'
            )
    parts.append(
        f'<text x="{left + pw / 2:.0f}" y="{height - 6}" text-anchor="middle" class="axis">{escape(x_label)}'
        f"{' (log scale)' if log_y else ''}</text>"
    )
    for s, pts in drawn:
        if not pts:
            continue
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        parts.append(
            f'<g class="series"><title>{escape(s.label)}</title>'
            f'<polyline points="{coords}" fill="none" stroke="{s.color}" stroke-width="1.5"{dash}/>'
        )
        if len(pts) < MARKERS_BELOW:
            parts.extend(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{s.color}"/>' for x, y in pts)
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _finite(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
