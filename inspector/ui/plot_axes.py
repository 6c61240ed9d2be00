"""Tick labels that never run into each other, on every pyqtgraph axis of the app.

pyqtgraph picks the major tick spacing from the axis length alone (about 2-3 intervals on a
short axis) and always labels every major tick, however wide the labels are: in a 200 px
Gradients value plot of a 16x50257 sequence "0", "20000" and "40000" were drawn as one
string. Its lower levels are labelled by a fill ratio, which does not look at overlaps either.

`install()` makes two changes to `pyqtgraph.AxisItem`, once, for every axis (plots, colour
bars, histograms, the comparison plots):

- the major spacing is widened along 1-2-5 until neighbouring labels (those wholly on the
  axis, which pyqtgraph draws), measured with the axis's font, are a gap apart (chosen from
  the pixel length and the label text, so the labels stay evenly spaced);
- of the labels drawn, one that would touch a label already placed is left out (explicit
  ticks such as node names, minor levels, labels whose font differs from the estimate).
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtGui import QFontMetricsF

#: Least space between two tick labels along a horizontal axis, in average character widths.
GAP_CHARS = 1.0
#: ... and between two labels stacked along a vertical axis, in pixels.
GAP_VERTICAL_PX = 2.0

_ORIGINAL: dict[str, object] = {}


def _metrics(axis: pg.AxisItem) -> QFontMetricsF:
    return QFontMetricsF(axis.style.get("tickFont") or axis.font())


def label_gap(axis: pg.AxisItem) -> float:
    """The space kept between neighbouring labels of `axis`, in pixels."""
    if axis.orientation in ("left", "right"):
        return GAP_VERTICAL_PX
    return max(4.0, GAP_CHARS * _metrics(axis).averageCharWidth())


def label_extents(axis: pg.AxisItem, strings: list[str]) -> list[float]:
    """How long each label is along `axis`, in pixels (its width on a horizontal axis; on a
    vertical one 0.8 of the line height, the box pyqtgraph draws a label in: digits have no
    descenders)."""
    fm = _metrics(axis)
    if axis.orientation in ("left", "right"):
        return [0.8 * fm.height() for _ in strings]
    return [fm.horizontalAdvance(s) for s in strings]


def _shown_labels(axis: pg.AxisItem, lo: float, hi: float, size: float, spacing: float,
                  offset: float) -> list[tuple[float, float]] | None:
    """(centre, length) in pixels of the labels of ticks every `spacing` (axis units times
    axis.scale) that lie wholly on the axis (pyqtgraph leaves out the others); None when
    there would be far too many ticks to measure."""
    start = math.ceil((lo - offset) / spacing) * spacing + offset
    count = int((hi - start) / spacing) + 1
    if count > 400:
        return None
    values = [(start + k * spacing) / axis.scale for k in range(max(0, count))]
    strings = axis.tickStrings(values, axis.autoSIPrefixScale * axis.scale, spacing / axis.scale)
    # pyqtgraph measures `size` over the axis line, 1 px past each end, and keeps only the
    # labels inside the axis's own rectangle: place them on that.
    bounds = axis.mapRectFromParent(axis.geometry())
    length = bounds.height() if axis.orientation in ("left", "right") else bounds.width()
    size = length if length > 0 else size
    shown = []
    for k, extent in enumerate(label_extents(axis, strings)):
        centre = (start + k * spacing - lo) / (hi - lo) * size
        if axis.orientation in ("left", "right"):
            centre = size - centre  # values grow upwards; the gaps are the same
        if centre - extent / 2 >= 0 and centre + extent / 2 <= size:
            shown.append((centre, extent))
    return sorted(shown)


def _keep_gaps(axis: pg.AxisItem, shown: list[tuple[float, float]]) -> bool:
    gap = label_gap(axis)
    return all(c2 - c1 >= (e1 + e2) / 2 + gap
               for (c1, e1), (c2, e2) in zip(shown, shown[1:], strict=False))


def _wider(spacing: float) -> float:
    """The next spacing of the 1-2-5 series."""
    exp = math.floor(math.log10(spacing))
    mantissa = spacing / 10.0 ** exp
    step = 2.0 if mantissa < 1.5 else 5.0 if mantissa < 3.5 else 10.0
    return step * 10.0 ** exp


def _fitting_major(axis: pg.AxisItem, lo: float, hi: float, size: float, spacing: float,
                   offset: float) -> tuple[float, float]:
    """The major (spacing, offset) whose labels keep a gap: the first of the 1-2-5 series
    from pyqtgraph's spacing that still shows two labels or more; failing that (a 90 px axis
    of 5-digit labels), every m-th of pyqtgraph's ticks, m as small as keeps them apart, at
    the offset that shows the most (one label, where the 1-2-5 series would show none)."""
    widened = spacing
    for _ in range(60):  # 60 steps of 1-2-5 is 20 decades: always enough
        shown = _shown_labels(axis, lo, hi, size, widened, offset)
        if shown is not None and _keep_gaps(axis, shown):
            if len(shown) >= 2 or widened == spacing:
                return widened, offset
            break
        widened = _wider(widened)
    count = int((hi - lo) / spacing) + 2
    for m in range(2, min(count, 400) + 1):
        best = None
        for j in range(m):
            shown = _shown_labels(axis, lo, hi, size, m * spacing, offset + j * spacing)
            if shown is not None and _keep_gaps(axis, shown) and \
                    (best is None or len(shown) > best[0]):
                best = (len(shown), offset + j * spacing)
        if best is not None and best[0] >= 1:
            return m * spacing, best[1]
    return spacing, offset


def tick_spacing(axis: pg.AxisItem, minVal: float, maxVal: float, size: float):  # noqa: N803
    """pyqtgraph's levels with the major spacing widened until its labels fit."""
    levels = _ORIGINAL["tickSpacing"](axis, minVal, maxVal, size)
    lo, hi = sorted((minVal, maxVal))
    if not levels or axis._tickSpacing is not None or size <= 0 or hi <= lo:
        return levels
    spacing, offset = levels[0]
    major = _fitting_major(axis, lo, hi, size, spacing, offset)
    if major == (spacing, offset):
        return levels
    # The finer levels stay as ticks (the drawing leaves out labels that would touch).
    return [major] + [lvl for lvl in levels[1:] if lvl[0] < major[0]]


def apart(axis: pg.AxisItem, text_specs: list) -> list:
    """The labels of `text_specs` (in pyqtgraph's order: major ticks first) that keep a gap
    from every label kept before them."""
    gap = label_gap(axis) / 2
    vertical = axis.orientation in ("left", "right")
    kept, grown = [], []
    for spec in text_specs:
        rect = spec[0]
        g = rect.adjusted(0, -gap, 0, gap) if vertical else rect.adjusted(-gap, 0, gap, 0)
        if any(g.intersects(k) for k in grown):
            continue
        kept.append(spec)
        grown.append(g)
    return kept


def generate_draw_specs(axis: pg.AxisItem, p):
    """pyqtgraph's drawing specs without the labels that would touch another."""
    specs = _ORIGINAL["generateDrawSpecs"](axis, p)
    if not specs:
        return specs
    axis_spec, tick_specs, text_specs = specs
    return axis_spec, tick_specs, apart(axis, text_specs)


def install() -> None:
    """Give every pyqtgraph axis labels that never overlap (idempotent)."""
    if _ORIGINAL:
        return
    _ORIGINAL["tickSpacing"] = pg.AxisItem.tickSpacing
    _ORIGINAL["generateDrawSpecs"] = pg.AxisItem.generateDrawSpecs
    pg.AxisItem.tickSpacing = tick_spacing
    pg.AxisItem.generateDrawSpecs = generate_draw_specs
