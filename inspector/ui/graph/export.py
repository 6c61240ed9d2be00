"""Whole-graph export at full detail: PNG through QImage, SVG through QSvgGenerator."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator

from inspector.ui.graph.painter import GraphPainter, PaintState, qcolor
from inspector.ui.graph.scene import SceneData
from inspector.ui.graph.style import palette

# A PNG larger than this is scaled down: 32k per side is what QImage and viewers still handle
# (a 150-layer chain like MobileNetV2 is ~30k px tall at full size), and
# 120 M pixels (480 MB while drawing) is the most a 2-core laptop should be asked for.
MAX_SIDE = 32_000
MAX_PIXELS = 120_000_000
MARGIN = 24.0


def _state(state: PaintState | None) -> PaintState:
    if state is None:
        return PaintState(palette("light"))
    # An export shows the graph, not the transient selection.
    return PaintState(state.palette, None, None, state.dimmed, state.colors)


#: Above this many edges an export does not place every label to widen its margins (the
#: placement costs ~0.1 ms an edge); labels past the graph's box may then be clipped.
LABEL_BOUNDS_MAX_EDGES = 5000


def export_bounds(data: SceneData) -> tuple[float, float, float, float]:
    """The graph's box grown to hold the edge labels, which sit beside the curves and can
    stick out past the outermost node (a label on a skip connection, say)."""
    from inspector.ui.graph.labels import LabelPlacer

    x0, y0, x1, y1 = data.bounds
    if 0 < len(data.edges) <= LABEL_BOUNDS_MAX_EDGES:
        placer = LabelPlacer(data)
        for e in range(len(data.edges)):
            box = placer.box(e)
            if box is not None:
                x0, y0 = min(x0, box[0]), min(y0, box[1])
                x1, y1 = max(x1, box[2]), max(y1, box[3])
    return x0, y0, x1, y1


def png_scale(data: SceneData, scale: float = 1.0) -> float:
    """The scale an export of `data` at `scale` really uses once capped."""
    x0, y0, x1, y1 = export_bounds(data)
    w, h = x1 - x0 + 2 * MARGIN, y1 - y0 + 2 * MARGIN
    s = min(float(scale), MAX_SIDE / w, MAX_SIDE / h, math.sqrt(MAX_PIXELS / (w * h)))
    return max(s, 1e-4)


#: Below this scale a capped PNG's node text cannot be read (8 px type): such a long, thin
#: graph is wrapped into columns (or rows, left to right) instead.
READABLE_SCALE = 0.75
#: Space between wrapped columns, in world units.
BAND_GAP = 48.0


@dataclass(frozen=True)
class PngLayout:
    """How a PNG export draws the graph: its scale, and the bands of the long axis placed
    side by side (one band: not wrapped)."""

    scale: float
    bands: tuple[tuple[float, float], ...]
    vertical: bool  # bands cut the y axis (a top-to-bottom graph), else the x axis

    @property
    def readable(self) -> bool:
        return self.scale >= READABLE_SCALE - 1e-9


def _free_cuts(data: SceneData, lo: float, hi: float, vertical: bool, k: int) -> list[float]:
    """k−1 cut positions along the long axis, each in a gap between nodes near an even split."""
    a, b = (1, 3) if vertical else (0, 2)
    spans = sorted(zip(data.rects[:, a].tolist(), data.rects[:, b].tolist(), strict=True))
    gaps: list[float] = []
    end = lo
    for s0, s1 in spans:
        if s0 > end:
            gaps.append((end + s0) / 2)
        end = max(end, s1)
    cuts: list[float] = []
    for i in range(1, k):
        ideal = lo + (hi - lo) * i / k
        best = min(gaps, key=lambda g: abs(g - ideal), default=ideal)
        if not cuts or best > cuts[-1]:
            cuts.append(best)
    return cuts


def png_layout(data: SceneData, scale: float = 1.0) -> PngLayout:
    """The scale and wrapping of a PNG export of `data` at `scale`, capped for huge graphs."""
    x0, y0, x1, y1 = export_bounds(data)
    single = png_scale(data, scale)
    vertical = (y1 - y0) >= (x1 - x0)
    lo, hi = (y0, y1) if vertical else (x0, x1)
    whole = PngLayout(single, ((lo, hi),), vertical)
    if single >= min(scale, READABLE_SCALE):
        return whole
    long_ = hi - lo
    short = (x1 - x0 if vertical else y1 - y0) + BAND_GAP
    k = max(2, math.ceil(math.sqrt(long_ / short)))  # about square when wrapped
    cuts = _free_cuts(data, lo, hi, vertical, k)
    bands = tuple(zip([lo, *cuts], [*cuts, hi], strict=True))
    w, h = _band_size(bands, short)
    if not vertical:
        w, h = h, w
    s = min(float(scale), MAX_SIDE / w, MAX_SIDE / h, math.sqrt(MAX_PIXELS / (w * h)))
    return PngLayout(s, bands, vertical) if s > single else whole


def _band_size(bands: tuple[tuple[float, float], ...], short: float) -> tuple[float, float]:
    """(across, along) world size of the wrapped picture, margins included."""
    along = max(b1 - b0 for b0, b1 in bands) + 2 * MARGIN
    return len(bands) * short - BAND_GAP + 2 * MARGIN, along


def export_png(data: SceneData | None, path: str | Path, scale: float = 1.0,
               state: PaintState | None = None) -> PngLayout:
    """Render every node and edge of `data` into a PNG at `scale` (capped for huge graphs;
    a long, thin graph that would be unreadable wraps into columns). Returns the layout used."""
    if data is None:
        raise ValueError("there is no graph to export")
    path = Path(path)
    st = _state(state)
    lay = png_layout(data, scale)
    s = lay.scale
    x0, y0, x1, y1 = export_bounds(data)
    short = (x1 - x0 if lay.vertical else y1 - y0) + BAND_GAP
    across, along = _band_size(lay.bands, short)
    ww, wh = (across, along) if lay.vertical else (along, across)
    w, h = max(1, int(math.ceil(ww * s))), max(1, int(math.ceil(wh * s)))
    img = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(qcolor(st.palette.background))
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    p.scale(s, s)
    painter = GraphPainter()
    for i, (b0, b1) in enumerate(lay.bands):
        world = (x0, b0, x1, b1) if lay.vertical else (b0, y0, b1, y1)
        off = i * short
        p.save()
        if lay.vertical:
            p.translate(MARGIN + off - x0, MARGIN - b0)
        else:
            p.translate(MARGIN - b0, MARGIN + off - y0)
        if len(lay.bands) > 1:  # an edge leaving a column's end continues atop the next
            p.setClipRect(QRectF(world[0], world[1], world[2] - world[0], world[3] - world[1]))
        painter.paint(p, data, world, max(s, 1.0), st, full=True)
        p.restore()
    p.end()
    if not img.save(str(path), "PNG"):
        raise OSError(f"could not write {path}")
    return lay


def export_svg(data: SceneData | None, path: str | Path, state: PaintState | None = None) -> Path:
    """Write every node and edge of `data` as an SVG with real text (searchable labels)."""
    if data is None:
        raise ValueError("there is no graph to export")
    path = Path(path)
    st = _state(state)
    x0, y0, x1, y1 = export_bounds(data)
    w, h = x1 - x0 + 2 * MARGIN, y1 - y0 + 2 * MARGIN
    gen = QSvgGenerator()
    gen.setFileName(str(path))
    gen.setSize(QSize(int(math.ceil(w)), int(math.ceil(h))))
    gen.setViewBox(QRectF(0, 0, w, h))
    gen.setTitle(data.graph.name or "graph")
    gen.setDescription("Model Inspector architecture diagram")
    p = QPainter(gen)
    p.fillRect(QRectF(0, 0, w, h), qcolor(st.palette.background))
    p.translate(MARGIN - x0, MARGIN - y0)
    GraphPainter().paint(p, data, (x0, y0, x1, y1), 1.0, st, full=True)
    p.end()
    if not path.exists():
        raise OSError(f"could not write {path}")
    return path
