"""Small inline-SVG charts for the HTML report: grouped or stacked bars with
optional reference lines and markers, and horizontal range bars. Plain SVG
text, no script and no external resource, so a report prints, opens
offline and stays small.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
BASE = "#aab2bd"
CURRENT = "#1f5fa8"


@dataclass
class Series:
    name: str
    values: Sequence[float | None]
    color: str = CURRENT
    kind: str = "bar"  # "bar" | "marker"
    colors: Sequence[str] | None = None  # per-category override


@dataclass
class RefLine:
    value: float
    label: str
    color: str = "#7a4b00"


@dataclass
class Chart:
    title: str
    categories: Sequence[str]
    series: list[Series]
    fmt: Callable[[float], str] = lambda v: f"{v:g}"
    stacked: bool = False
    ref_lines: list[RefLine] = field(default_factory=list)
    width: int = 660
    height: int = 280
    log: bool = False


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]."""
    if hi <= lo:
        hi = lo + 1.0
    span = hi - lo
    raw = span / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if raw <= m * mag)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 12))
        t += step
    if ticks[-1] < hi:
        ticks.append(ticks[-1] + step)
    return ticks


def _num(v) -> float | None:
    if v is None:
        return None
    v = float(v)
    return None if math.isnan(v) or math.isinf(v) else v


def bar_chart(c: Chart) -> str:
    """Vertical bars per category (grouped, or stacked), markers, reference lines."""
    left, right, top, bottom = 64, 12, 44, 78
    W, H = c.width, c.height
    pw, ph = W - left - right, H - top - bottom
    bars = [s for s in c.series if s.kind == "bar"]
    marks = [s for s in c.series if s.kind == "marker"]
    n = max(len(c.categories), 1)
    vals = []
    if c.stacked:
        for i in range(len(c.categories)):
            vals.append(sum(_num(s.values[i]) or 0.0 for s in bars))
    else:
        vals += [_num(v) or 0.0 for s in bars for v in s.values]
    vals += [_num(v) or 0.0 for s in marks for v in s.values]
    vals += [r.value for r in c.ref_lines]
    hi = max(vals + [0.0])
    if c.log:
        pos = [v for v in vals if v > 0] or [1.0]
        lo_l, hi_l = math.floor(math.log10(min(pos))), math.ceil(math.log10(max(pos)))
        hi_l = max(hi_l, lo_l + 1)
        ticks = [10.0 ** k for k in range(lo_l, hi_l + 1)]

        def y(v: float) -> float:
            v = max(v, ticks[0])
            return top + ph - (math.log10(v) - lo_l) / (hi_l - lo_l) * ph
    else:
        ticks = nice_ticks(0.0, hi if hi > 0 else 1.0)

        def y(v: float) -> float:
            return top + ph - (v - ticks[0]) / (ticks[-1] - ticks[0]) * ph

    out = [f'<svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{escape(c.title)}" font-family="{FONT}" font-size="11">']
    out.append(f'<text x="4" y="16" font-size="13" font-weight="600">{escape(c.title)}</text>')
    # legend
    lx = 4
    for s in c.series:
        out.append(f'<rect x="{lx}" y="24" width="10" height="10" fill="{s.color}"' + (' rx="5"' if s.kind == "marker" else "") + "/>")
        out.append(f'<text x="{lx + 14}" y="33">{escape(s.name)}</text>')
        lx += 24 + 6.5 * len(s.name)
    # grid and axis
    for t in ticks:
        yy = y(t)
        out.append(f'<line x1="{left}" x2="{W - right}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#e6e9ee"/>')
        out.append(f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end" fill="#5f6b7a">{escape(c.fmt(t))}</text>')
    out.append(f'<line x1="{left}" x2="{W - right}" y1="{y(ticks[0]):.1f}" y2="{y(ticks[0]):.1f}" stroke="#8a94a3"/>')
    band = pw / n
    nb = 1 if c.stacked else max(len(bars), 1)
    bw = band * 0.75 / nb
    for i, cat in enumerate(c.categories):
        x0 = left + i * band + band * 0.125
        acc = 0.0
        for j, s in enumerate(bars):
            v = _num(s.values[i])
            if v is None:
                continue
            color = s.colors[i] if s.colors else s.color
            if c.stacked:
                y1, y2 = y(acc + v), y(acc) if acc > 0 or not c.log else y(ticks[0])
                acc += v
                xx = x0
            else:
                y1, y2 = y(v), y(ticks[0])
                xx = x0 + j * bw
            h = max(y2 - y1, 0.0)
            out.append(f'<rect x="{xx:.1f}" y="{y1:.1f}" width="{(bw if not c.stacked else band * 0.75):.1f}" height="{h:.1f}" fill="{color}"><title>{escape(cat)} — {escape(s.name)}: {escape(c.fmt(v))}</title></rect>')
        for s in marks:
            v = _num(s.values[i])
            if v is None:
                continue
            cx = left + (i + 0.5) * band
            out.append(f'<path d="M{cx - 5:.1f},{y(v):.1f} L{cx:.1f},{y(v) - 5:.1f} L{cx + 5:.1f},{y(v):.1f} L{cx:.1f},{y(v) + 5:.1f} Z" fill="none" stroke="{s.color}" stroke-width="2"><title>{escape(cat)} — {escape(s.name)}: {escape(c.fmt(v))}</title></path>')
        lx_ = left + (i + 0.5) * band
        ly = top + ph + 12
        out.append(f'<text transform="translate({lx_:.1f},{ly:.1f}) rotate(-35)" text-anchor="end">{escape(cat)}</text>')
    for r in c.ref_lines:
        yy = y(r.value)
        out.append(f'<line x1="{left}" x2="{W - right}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="{r.color}" stroke-dasharray="4 3"/>')
        out.append(f'<text x="{W - right - 2}" y="{yy - 3:.1f}" text-anchor="end" fill="{r.color}" font-size="10">{escape(r.label)}</text>')
    out.append("</svg>")
    return "".join(out)


def range_chart(title: str, rows: Sequence[tuple[str, float, float, float, float, str]], width: int = 660) -> str:
    """Horizontal bars: each row (label, data_low, data_high, low, high, text)
    shows the box [low, high] within the sampled range [data_low, data_high]."""
    left, right, top, row_h = 250, 16, 28, 26
    H = top + row_h * len(rows) + 24
    pw = width - left - right
    out = [f'<svg viewBox="0 0 {width} {H}" width="{width}" height="{H}" role="img" aria-label="{escape(title)}" font-family="{FONT}" font-size="11">']
    out.append(f'<text x="4" y="16" font-size="13" font-weight="600">{escape(title)}</text>')
    for i, (label, dlo, dhi, lo, hi, text) in enumerate(rows):
        yy = top + i * row_h
        span = (dhi - dlo) or 1.0
        a, b = (lo - dlo) / span, (hi - dlo) / span
        out.append(f'<text x="{left - 8}" y="{yy + 15}" text-anchor="end">{escape(label)}</text>')
        out.append(f'<rect x="{left}" y="{yy + 3}" width="{pw}" height="{row_h - 8}" fill="#eef0f3"/>')
        out.append(f'<rect x="{left + a * pw:.1f}" y="{yy + 3}" width="{max((b - a) * pw, 1):.1f}" height="{row_h - 8}" fill="#b3261e" fill-opacity="0.75"><title>{escape(text)}</title></rect>')
        out.append(f'<text x="{left + (a + b) / 2 * pw:.1f}" y="{yy + 15}" text-anchor="middle" fill="#fff" font-size="10">{escape(text)}</text>')
    yy = top + len(rows) * row_h + 12
    out.append(f'<text x="{left}" y="{yy}" fill="#5f6b7a" font-size="10">low end of sampled range</text>')
    out.append(f'<text x="{width - right}" y="{yy}" text-anchor="end" fill="#5f6b7a" font-size="10">high end</text>')
    out.append("</svg>")
    return "".join(out)
