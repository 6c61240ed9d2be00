"""Whole-graph export at full detail: PNG through QImage, SVG through QSvgGenerator."""

from __future__ import annotations

import math
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


def export_png(data: SceneData | None, path: str | Path, scale: float = 1.0,
               state: PaintState | None = None) -> Path:
    """Render every node and edge of `data` into a PNG at `scale` (capped for huge graphs)."""
    if data is None:
        raise ValueError("there is no graph to export")
    path = Path(path)
    st = _state(state)
    s = png_scale(data, scale)
    x0, y0, x1, y1 = export_bounds(data)
    w = max(1, int(math.ceil((x1 - x0 + 2 * MARGIN) * s)))
    h = max(1, int(math.ceil((y1 - y0 + 2 * MARGIN) * s)))
    img = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(qcolor(st.palette.background))
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    p.scale(s, s)
    p.translate(MARGIN - x0, MARGIN - y0)
    GraphPainter().paint(p, data, (x0, y0, x1, y1), max(s, 1.0), st, full=True)
    p.end()
    if not img.save(str(path), "PNG"):
        raise OSError(f"could not write {path}")
    return path


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
