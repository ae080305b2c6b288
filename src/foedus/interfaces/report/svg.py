"""Small inline-SVG charts for the HTML report: grouped bars, one-line range
bars for table cells, and a scatter chart whose point labels never overlap
(:func:`place_labels`). Plain SVG text, no script and no external resource,
so a report prints, opens offline and stays small.
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


@dataclass
class Chart:
    title: str
    categories: Sequence[str]
    series: list[Series]
    fmt: Callable[[float], str] = lambda v: f"{v:g}"
    width: int = 660
    height: int = 280


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
    """Vertical bars per category, one bar per series side by side."""
    left, right, top, bottom = 64, 12, 44, 78
    W, H = c.width, c.height
    pw, ph = W - left - right, H - top - bottom
    n = max(len(c.categories), 1)
    hi = max([_num(v) or 0.0 for s in c.series for v in s.values] + [0.0])
    ticks = nice_ticks(0.0, hi if hi > 0 else 1.0)

    def y(v: float) -> float:
        return top + ph - (v - ticks[0]) / (ticks[-1] - ticks[0]) * ph

    out = [f'<svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{escape(c.title)}" font-family="{FONT}" font-size="11">']
    out.append(f'<text x="4" y="16" font-size="13" font-weight="600">{escape(c.title)}</text>')
    lx = 4
    for s in c.series:  # legend
        out.append(f'<rect x="{lx}" y="24" width="10" height="10" fill="{s.color}"/><text x="{lx + 14}" y="33">{escape(s.name)}</text>')
        lx += 24 + 6.5 * len(s.name)
    for t in ticks:
        out.append(f'<line x1="{left}" x2="{W - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#e6e9ee"/>')
        out.append(f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end" fill="#5f6b7a">{escape(c.fmt(t))}</text>')
    out.append(f'<line x1="{left}" x2="{W - right}" y1="{y(ticks[0]):.1f}" y2="{y(ticks[0]):.1f}" stroke="#8a94a3"/>')
    band = pw / n
    bw = band * 0.75 / max(len(c.series), 1)
    for i, cat in enumerate(c.categories):
        x0 = left + i * band + band * 0.125
        for j, s in enumerate(c.series):
            v = _num(s.values[i])
            if v is None:
                continue
            out.append(f'<rect x="{x0 + j * bw:.1f}" y="{y(v):.1f}" width="{bw:.1f}" height="{max(y(ticks[0]) - y(v), 0.0):.1f}" fill="{s.color}">'
                       f"<title>{escape(cat)} — {escape(s.name)}: {escape(c.fmt(v))}</title></rect>")
        out.append(f'<text transform="translate({left + (i + 0.5) * band:.1f},{top + ph + 12:.1f}) rotate(-35)" text-anchor="end">{escape(cat)}</text>')
    out.append("</svg>")
    return "".join(out)


def range_bar(value: float | None, low: float | None, high: float | None, top: float, text: str, width: int = 96, height: int = 10) -> str:
    """A one-line chart for a table cell: the range [low, high] as a bar and
    the central ``value`` as a dot, on a scale from 0 to ``top`` shared by a
    column, so that spreads compare at a glance. ``text`` names it (for
    screen readers and on hover)."""
    top = top if top and top > 0 else 1.0

    def x(v: float) -> float:
        return 2 + min(max(v / top, 0.0), 1.0) * (width - 4)

    out = [f'<svg class="range-bar" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{escape(text)}">'
           f"<title>{escape(text)}</title>",
           f'<line x1="2" x2="{width - 2}" y1="{height / 2}" y2="{height / 2}" stroke="#e6e9ee" stroke-width="1"/>']
    if _num(low) is not None and _num(high) is not None:
        out.append(f'<line x1="{x(low):.1f}" x2="{max(x(high), x(low) + 1):.1f}" y1="{height / 2}" y2="{height / 2}" stroke="#9bb3d6" stroke-width="4"/>')
    if _num(value) is not None:
        out.append(f'<circle cx="{x(value):.1f}" cy="{height / 2}" r="2.5" fill="{CURRENT}"/>')
    out.append("</svg>")
    return "".join(out)


# ---------------------------------------------------------------------------------
# scatter chart with labels that do not overlap
# ---------------------------------------------------------------------------------

#: Width of a character in ems, by class (an upper bound for the sans-serif
#: fonts a browser picks for system-ui: DejaVu Sans, Roboto, Segoe UI, Arial).
_NARROW, _WIDE = set("fijlrtI.,;:'!|-() "), set("mwMW@%")


def text_width(text: str, size: float) -> float:
    """An upper bound of the width of ``text`` at font size ``size`` (px)."""
    ems = sum(0.4 if c in _NARROW else 1.0 if c in _WIDE else 0.78 if c.isupper() else 0.64 for c in text)
    return ems * size


@dataclass(frozen=True)
class Box:
    """A rectangle in SVG pixels: left, top, width, height."""

    x: float
    y: float
    w: float
    h: float

    def intersects(self, other: "Box") -> bool:
        return self.x < other.x + other.w and other.x < self.x + self.w and self.y < other.y + other.h and other.y < self.y + self.h


#: Pixels kept between two labels, and between a point and its label.
LABEL_GAP, LABEL_OFFSET = 2.0, 7.0


def place_labels(wanted: Sequence[Box], top: float, bottom: float) -> list[Box]:
    """Each label box in ``wanted`` moved up or down as little as possible so
    that no two intersect: labels are placed in turn (from the top), each at
    the free height nearest the one it wants, between ``top`` and ``bottom``
    when there is room there (outside them only when there is none). The
    nearest free height is the wanted one, an edge, or just above or below
    a label already placed, so only those heights are tried."""
    placed: list[Box] = []
    order = sorted(range(len(wanted)), key=lambda k: (wanted[k].y, wanted[k].x))
    out: dict[int, Box] = {}
    for k in order:
        want = wanted[k]
        tries = [want.y, top, bottom - want.h] + [y for b in placed for y in (b.y - want.h - LABEL_GAP, b.y + b.h + LABEL_GAP)]
        free = [y for y in tries if not any(Box(want.x, y, want.w, want.h).intersects(b) for b in placed)]
        inside = [y for y in free if top <= y and y + want.h <= bottom]
        y = min(inside or free, key=lambda v: (abs(v - want.y), v))
        out[k] = Box(want.x, y, want.w, want.h)
        placed.append(out[k])
    return [out[k] for k in range(len(wanted))]


@dataclass
class Point:
    """One labelled point of a scatter chart, with optional ranges (low, high) on each axis."""

    label: str
    x: float | None
    y: float | None
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None


@dataclass
class Scatter:
    title: str
    x_title: str
    y_title: str
    points: list[Point]
    x_fmt: Callable[[float], str] = lambda v: f"{v:g}"
    y_fmt: Callable[[float], str] = lambda v: f"{v:g}"
    #: unlabelled grey points (e.g. the baseline), drawn under the others
    background: list[Point] = field(default_factory=list)
    background_name: str = "baseline"
    width: int = 680
    height: int = 360
    font: int = 11


def _extent(points: Sequence[Point], axis: str) -> float:
    vals = []
    for p in points:
        v, r = (p.x, p.x_range) if axis == "x" else (p.y, p.y_range)
        vals += [w for w in (_num(v), *(map(_num, r) if r else ())) if w is not None]
    return max(vals + [0.0])


def scatter_chart(c: Scatter) -> str:
    """Points with their ranges as thin bars on both axes and their labels
    placed by :func:`place_labels` (a leader line joins a label moved off its
    point). Each label is a ``<text class="point-label">``."""
    left, right, top, bottom = 64, 16, 40, 44
    W, H = c.width, c.height
    pw, ph = W - left - right, H - top - bottom
    every = c.points + c.background
    xt, yt = nice_ticks(0.0, _extent(every, "x") or 1.0), nice_ticks(0.0, _extent(every, "y") or 1.0)

    def sx(v: float) -> float:
        return left + (v - xt[0]) / (xt[-1] - xt[0]) * pw

    def sy(v: float) -> float:
        return top + ph - (v - yt[0]) / (yt[-1] - yt[0]) * ph

    out = [f'<svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{escape(c.title)}" font-family="{FONT}" font-size="{c.font}">',
           f'<text x="4" y="16" font-size="13" font-weight="600">{escape(c.title)}</text>']
    if c.background:
        out.append(f'<circle cx="10" cy="28" r="4" fill="none" stroke="{BASE}" stroke-width="1.5"/><text x="18" y="32">{escape(c.background_name)}</text>')
    out += _scatter_axes(c, xt, yt, sx, sy, (left, top, pw, ph))
    for p in c.background:
        if _num(p.x) is not None and _num(p.y) is not None:
            out.append(f'<circle cx="{sx(p.x):.1f}" cy="{sy(p.y):.1f}" r="4" fill="none" stroke="{BASE}" stroke-width="1.5"><title>{escape(p.label)}</title></circle>')
    shown = [p for p in c.points if _num(p.x) is not None and _num(p.y) is not None]
    for p in shown:
        out += _ranges(p, sx, sy)
    out += _labels(c, shown, sx, sy, top, top + ph)
    for p in shown:
        out.append(f'<circle cx="{sx(p.x):.1f}" cy="{sy(p.y):.1f}" r="4" fill="{CURRENT}"><title>{escape(p.label)}: '
                   f'{escape(c.x_fmt(p.x))}, {escape(c.y_fmt(p.y))}</title></circle>')
    out.append("</svg>")
    return "".join(out)


def _scatter_axes(c: Scatter, xt, yt, sx, sy, plot) -> list[str]:
    left, top, pw, ph = plot
    out = []
    for t in yt:
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" stroke="#e6e9ee"/>')
        out.append(f'<text x="{left - 6}" y="{sy(t) + 4:.1f}" text-anchor="end" fill="#5f6b7a">{escape(c.y_fmt(t))}</text>')
    for t in xt:
        anchor = "end" if t == xt[-1] else "middle"  # the last one ends at the plot's edge, inside the chart
        out.append(f'<line x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{top}" y2="{top + ph}" stroke="#f0f2f5"/>')
        out.append(f'<text x="{sx(t):.1f}" y="{top + ph + 14}" text-anchor="{anchor}" fill="#5f6b7a">{escape(c.x_fmt(t))}</text>')
    out.append(f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" stroke="#8a94a3"/>')
    out.append(f'<text x="{left + pw / 2:.1f}" y="{top + ph + 32}" text-anchor="middle" fill="#1d2430">{escape(c.x_title)}</text>')
    out.append(f'<text transform="translate(14,{top + ph / 2:.1f}) rotate(-90)" text-anchor="middle" fill="#1d2430">{escape(c.y_title)}</text>')
    return out


def _ranges(p: Point, sx, sy) -> list[str]:
    out = []
    if p.x_range and None not in map(_num, p.x_range):
        out.append(f'<line x1="{sx(p.x_range[0]):.1f}" x2="{sx(p.x_range[1]):.1f}" y1="{sy(p.y):.1f}" y2="{sy(p.y):.1f}" stroke="#9bb3d6" stroke-width="1.5"/>')
    if p.y_range and None not in map(_num, p.y_range):
        out.append(f'<line x1="{sx(p.x):.1f}" x2="{sx(p.x):.1f}" y1="{sy(p.y_range[0]):.1f}" y2="{sy(p.y_range[1]):.1f}" stroke="#9bb3d6" stroke-width="1.5"/>')
    return out


def _labels(c: Scatter, points: Sequence[Point], sx, sy, top: float, bottom: float) -> list[str]:
    """The point labels, right of their points (left of those near the right
    edge), moved apart by :func:`place_labels`, with leader lines."""
    h = 1.25 * c.font
    wanted = []
    for p in points:
        w = text_width(p.label, c.font)
        x = sx(p.x) + LABEL_OFFSET
        if x + w > c.width - 2:
            x = sx(p.x) - LABEL_OFFSET - w
        wanted.append(Box(x, sy(p.y) - h / 2, w, h))
    out = []
    for p, want, box in zip(points, wanted, place_labels(wanted, top, bottom)):
        if abs(box.y - want.y) > 1:
            edge = box.x if box.x > sx(p.x) else box.x + box.w
            out.append(f'<line x1="{sx(p.x):.1f}" y1="{sy(p.y):.1f}" x2="{edge:.1f}" y2="{box.y + h / 2:.1f}" stroke="#8a94a3" stroke-width="0.8"/>')
        out.append(f'<text class="point-label" x="{box.x:.1f}" y="{box.y + 0.95 * c.font:.1f}" data-box="{box.x:.1f} {box.y:.1f} {box.w:.1f} {box.h:.1f}">{escape(p.label)}</text>')
    return out


# ---------------------------------------------------------------------------------
# a trade-off chart: a design search's front, coloured by a third value
# ---------------------------------------------------------------------------------

#: Colour ramp of a :class:`TradeOff` chart, from its lowest colour value to its highest.
RAMP = ("#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
#: Outline of the points of a :class:`TradeOff` chart (and of the base's diamond).
INK = "#1d2430"
LIMIT = "#b3261e"


@dataclass
class TradePoint:
    """One design of a :class:`TradeOff` chart: ``label`` beside it, ``id``
    in its ``data-id``, ``c`` the value its colour shows; ``base``: drawn as
    a diamond, not a dot."""

    id: str
    label: str
    x: float | None
    y: float | None
    c: float | None
    base: bool = False


@dataclass
class TradeOff:
    title: str
    x_title: str
    y_title: str
    c_title: str
    points: list[TradePoint]
    x_fmt: Callable[[float], str] = lambda v: f"{v:g}"
    y_fmt: Callable[[float], str] = lambda v: f"{v:g}"
    c_fmt: Callable[[float], str] = lambda v: f"{v:g}"
    #: bounds on the y axis (value, name), drawn as dashed lines
    limits: list[tuple[float, str]] = field(default_factory=list)
    width: int = 680
    height: int = 380
    font: int = 11


def ramp(t: float) -> str:
    """The colour at ``t`` in [0, 1] along :data:`RAMP` (linear between its stops)."""
    t = min(max(t, 0.0), 1.0) * (len(RAMP) - 1)
    i = min(int(t), len(RAMP) - 2)
    a, b = RAMP[i], RAMP[i + 1]
    mix = [round(int(a[k:k + 2], 16) + (t - i) * (int(b[k:k + 2], 16) - int(a[k:k + 2], 16))) for k in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in mix)


def tradeoff_chart(c: TradeOff) -> str:
    """Designs as points, x against y, each filled by its colour value on
    :data:`RAMP` (a legend gives the lowest and highest), the base as a
    diamond, bounds on y as dashed lines, labels placed by
    :func:`place_labels`. Each point carries ``data-id``, ``data-x``,
    ``data-y`` and ``data-c`` (the numbers drawn, as Python writes them), so
    a reader (or a test) can take them back: ``class="design-point"``, the
    base ``class="design-point base-point"``."""
    left, right, top, bottom = 64, 16, 48, 44
    W, H = c.width, c.height
    pw, ph = W - left - right, H - top - bottom
    shown = [p for p in c.points if _num(p.x) is not None and _num(p.y) is not None]
    xs = [float(p.x) for p in shown]
    ys = [float(p.y) for p in shown] + [float(v) for v, _ in c.limits if _num(v) is not None]
    xt, yt = nice_ticks(*_padded(xs)), nice_ticks(*_padded(ys))
    cs = [float(p.c) for p in shown if _num(p.c) is not None]
    lo, hi = (min(cs), max(cs)) if cs else (0.0, 1.0)

    def sx(v: float) -> float:
        return left + (v - xt[0]) / (xt[-1] - xt[0]) * pw

    def sy(v: float) -> float:
        return top + ph - (v - yt[0]) / (yt[-1] - yt[0]) * ph

    def colour(v) -> str:
        if _num(v) is None:
            return "#ffffff"
        return ramp(0.5 if hi <= lo else (float(v) - lo) / (hi - lo))

    out = [f'<svg class="tradeoff" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{escape(c.title)}" '
           f'font-family="{FONT}" font-size="{c.font}">',
           f'<text x="4" y="16" font-size="13" font-weight="600">{escape(c.title)}</text>']
    # legend: the colour ramp with its lowest and highest values, then the base's diamond
    lx = 4.0
    head = f"{c.c_title}: {c.c_fmt(lo)}" if cs else f"{c.c_title}: –"
    out.append(f'<text x="{lx:.1f}" y="34">{escape(head)}</text>')
    lx += text_width(head, c.font) + 4
    for k in range(len(RAMP)):
        out.append(f'<rect x="{lx:.1f}" y="25" width="12" height="10" fill="{ramp(k / (len(RAMP) - 1))}" stroke="{INK}" stroke-width="0.4"/>')
        lx += 12
    tail = c.c_fmt(hi) if cs and hi > lo else ""
    out.append(f'<text x="{lx + 4:.1f}" y="34">{escape(tail)}</text>')
    lx += 4 + text_width(tail, c.font) + 16
    out.append(f'<path d="{_diamond(lx + 5, 30, 5.5)}" fill="#ffffff" stroke="{INK}" stroke-width="1.8"/>'
               f'<text x="{lx + 14:.1f}" y="34">base package</text>')
    out += _scatter_axes(c, xt, yt, sx, sy, (left, top, pw, ph))
    for v, name in c.limits:
        if _num(v) is None:
            continue
        out.append(f'<line class="limit" x1="{left}" x2="{left + pw}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" stroke="{LIMIT}" stroke-width="1" '
                   f'stroke-dasharray="5 4"/><text x="{left + pw - 2}" y="{sy(v) - 3:.1f}" text-anchor="end" fill="{LIMIT}">{escape(name)}</text>')
    out += _labels(c, shown, sx, sy, top, top + ph)
    for p in sorted(shown, key=lambda p: p.base):  # the base on top
        cv = repr(float(p.c)) if _num(p.c) is not None else ""
        data = f'data-id="{escape(p.id, quote=True)}" data-x="{float(p.x)!r}" data-y="{float(p.y)!r}" data-c="{cv}"'
        tip = f"<title>{escape(p.id)}: {escape(c.x_fmt(p.x))}, {escape(c.y_fmt(p.y))}, {escape(c.c_title)} {escape(c.c_fmt(p.c) if _num(p.c) is not None else '–')}</title>"
        if p.base:
            out.append(f'<path class="design-point base-point" {data} d="{_diamond(sx(p.x), sy(p.y), 7)}" fill="{colour(p.c)}" stroke="{INK}" '
                       f'stroke-width="1.8">{tip}</path>')
        else:
            out.append(f'<circle class="design-point" {data} cx="{sx(p.x):.1f}" cy="{sy(p.y):.1f}" r="5" fill="{colour(p.c)}" stroke="{INK}" '
                       f'stroke-width="0.8">{tip}</circle>')
    out.append("</svg>")
    return "".join(out)


def _padded(values: list[float]) -> tuple[float, float]:
    """The span of a trade-off chart's axis: the values' range with a
    twentieth of it each side (never below 0 when no value is), and a span
    of its own around a single value."""
    if not values:
        return 0.0, 1.0
    lo, hi = min(values), max(values)
    pad = (hi - lo) / 20 if hi - lo > 1e-9 * max(abs(lo), abs(hi), 1e-12) else (abs(lo) / 20 or 0.5)
    return (max(lo - pad, 0.0) if lo >= 0 else lo - pad), hi + pad


def _diamond(x: float, y: float, r: float) -> str:
    return f"M{x:.1f},{y - r:.1f} L{x + r:.1f},{y:.1f} L{x:.1f},{y + r:.1f} L{x - r:.1f},{y:.1f} Z"


# ---------------------------------------------------------------------------------
# a line chart over years
# ---------------------------------------------------------------------------------


@dataclass
class Line:
    """One line of a :class:`LineChart`: a value per year (None: no point),
    optionally with a band (low, high per year) drawn under it."""

    name: str
    values: Sequence[float | None]
    color: str = CURRENT
    dashed: bool = False
    band: tuple[Sequence[float | None], Sequence[float | None]] | None = None
    band_name: str = "5–95%"


@dataclass
class LineChart:
    title: str
    years: Sequence[int]
    lines: list[Line]
    fmt: Callable[[float], str] = lambda v: f"{v:g}"
    width: int = 330
    height: int = 200


def line_chart(c: LineChart) -> str:
    """Lines over the years, one point per year (each with its value on
    hover), bands under them, a legend under the title. The ``<svg>`` carries
    ``data-years``; each line is a ``<polyline>`` with ``data-series`` and its
    ``data-values``, so a reader (or a test) can take the numbers back."""
    left, right, top, bottom = 58, 12, 50, 30
    W, H = c.width, c.height
    pw, ph = W - left - right, H - top - bottom
    n = len(c.years)
    vals = [w for ln in c.lines for w in (*ln.values, *(ln.band[1] if ln.band else ())) if _num(w) is not None]
    hi = max([float(w) for w in vals] + [0.0])
    lo = min([float(w) for w in vals] + [0.0])
    yt = nice_ticks(lo, hi if hi > lo else lo + 1.0, 4)

    def sx(i: int) -> float:
        return left + (i / (n - 1) * pw if n > 1 else pw / 2)

    def sy(v: float) -> float:
        return top + ph - (v - yt[0]) / (yt[-1] - yt[0]) * ph

    years = " ".join(str(y) for y in c.years)
    out = [f'<svg class="line-chart" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{escape(c.title)}" '
           f'data-years="{years}" font-family="{FONT}" font-size="10">',
           f'<text x="4" y="15" font-size="12" font-weight="600">{escape(c.title)}</text>']
    lx = 4.0
    for ln in c.lines:  # legend
        if ln.band:
            out.append(f'<rect x="{lx:.1f}" y="24" width="14" height="8" fill="{ln.color}" fill-opacity="0.18"/>'
                       f'<text x="{lx + 17:.1f}" y="32">{escape(ln.band_name)}</text>')
            lx += 24 + text_width(ln.band_name, 10)
        dash = ' stroke-dasharray="4 3"' if ln.dashed else ""
        out.append(f'<line x1="{lx:.1f}" x2="{lx + 14:.1f}" y1="28" y2="28" stroke="{ln.color}" stroke-width="2"{dash}/>'
                   f'<text x="{lx + 17:.1f}" y="32">{escape(ln.name)}</text>')
        lx += 24 + text_width(ln.name, 10)
    for t in yt:
        out.append(f'<line x1="{left}" x2="{W - right}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" stroke="#e6e9ee"/>')
        out.append(f'<text x="{left - 5}" y="{sy(t) + 3.5:.1f}" text-anchor="end" fill="#5f6b7a">{escape(c.fmt(t))}</text>')
    out.append(f'<line x1="{left}" x2="{W - right}" y1="{sy(yt[0]):.1f}" y2="{sy(yt[0]):.1f}" stroke="#8a94a3"/>')
    spacing = pw / (n - 1) if n > 1 else pw
    every = max(1, math.ceil((text_width("2026", 9) + 3) / spacing))  # year labels that fit; a tick every year
    for i, y in enumerate(c.years):
        out.append(f'<line x1="{sx(i):.1f}" x2="{sx(i):.1f}" y1="{top + ph:.1f}" y2="{top + ph + 3:.1f}" stroke="#8a94a3"/>')
        if i % every == 0:
            out.append(f'<text x="{sx(i):.1f}" y="{top + ph + 14:.1f}" text-anchor="middle" fill="#5f6b7a" font-size="9">{y}</text>')
    for ln in c.lines:
        if ln.band:
            pts = [(i, _num(a), _num(b)) for i, (a, b) in enumerate(zip(*ln.band))]
            pts = [(i, a, b) for i, a, b in pts if a is not None and b is not None]
            if pts:
                poly = [f"{sx(i):.1f},{sy(b):.1f}" for i, _, b in pts] + [f"{sx(i):.1f},{sy(a):.1f}" for i, a, _ in reversed(pts)]
                out.append(f'<polygon points="{" ".join(poly)}" fill="{ln.color}" fill-opacity="0.18" stroke="none"/>')
    for ln in c.lines:
        pts = [(i, _num(v)) for i, v in enumerate(ln.values)]
        shown = [(i, v) for i, v in pts if v is not None]
        dash = ' stroke-dasharray="4 3"' if ln.dashed else ""
        data = " ".join("" if v is None else repr(float(v)) for _, v in pts)
        out.append(f'<polyline class="series" data-series="{escape(ln.name)}" data-values="{data}" fill="none" stroke="{ln.color}" stroke-width="2"{dash} '
                   f'points="{" ".join(f"{sx(i):.1f},{sy(v):.1f}" for i, v in shown)}"/>')
        for i, v in shown:
            out.append(f'<circle cx="{sx(i):.1f}" cy="{sy(v):.1f}" r="2.2" fill="{ln.color}"><title>{c.years[i]}, {escape(ln.name)}: '
                       f'{escape(c.fmt(v))}</title></circle>')
    out.append("</svg>")
    return "".join(out)
