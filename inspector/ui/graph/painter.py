"""Draws SceneData with a QPainter: one code path for the widget, PNG and SVG export.

Level of detail: close in, every visible node gets its header, rows and text and every edge
its spline, arrowhead and shape label; far out, nodes are batched plain rectangles and edges
straight batched lines, handed to Qt as one C array each (no Python object per rectangle).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import shiboken6
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
)

from inspector.ui.graph.labels import DESCENT, LabelPlacer
from inspector.ui.graph.node_content import (
    FONT_SIZE,
    HEADER_H,
    PAD_X,
    PAD_Y,
    ROW_H,
    SMALL_FONT_SIZE,
)
from inspector.ui.graph.scene import SceneData
from inspector.ui.graph.style import RGB, Palette, text_on

#: Below this many screen pixels per font pixel, text is unreadable: draw plain boxes.
TEXT_MIN_SCALE = 5.0 / FONT_SIZE
ARROW = 7.0
#: Zoomed out past TEXT_MIN_SCALE, a view of at most this many items still names them...
FAR_TITLE_LIMIT = 400
#: ...with titles blown up to at least this many screen pixels, where they fit in the box.
LEGIBLE_PX = 7.0
#: ...or beside the box when it does not fit, down to this zoom (below it the boxes are
#: specks and the titles beside them would be all there is to see).
BESIDE_MIN_SCALE = 0.15
FRAME_ALPHA = 150


def qcolor(rgb: RGB, alpha: int = 255) -> QColor:
    """A QColor from an (r, g, b) tuple."""
    return QColor(int(rgb[0]), int(rgb[1]), int(rgb[2]), alpha)


@dataclass
class PaintState:
    """What changes without a new layout: palette, selection, dimming, colour overrides."""

    palette: Palette
    selected: int | None = None
    selected_edge: int | None = None
    dimmed: np.ndarray | None = None  # bool per item, True = drawn faint
    colors: dict[int, RGB] | None = None  # item index -> header colour override


class GraphPainter:
    """Paints a SceneData region; keeps per-scene caches (edge paths, fonts, colours)."""

    def __init__(self) -> None:
        self.text_calls = 0  # counts drawText calls, so tests can check the level of detail
        self.items_drawn = 0  # items (nodes, groups, inputs, outputs) drawn by the last paint
        # Seconds a paint may spend placing new edge labels (None: all, as exports need);
        # zooming in on a big graph reveals hundreds at once, placed over a few frames.
        self.label_budget: float | None = None
        self.labels_pending = False  # the last paint left labels unplaced for lack of time
        self._data: SceneData | None = None
        self._paths: dict[int, QPainterPath] = {}
        self._labels: LabelPlacer | None = None
        self._font = QFont()
        self._font.setPixelSize(int(FONT_SIZE))
        self._bold = QFont(self._font)
        self._bold.setBold(True)
        self._small = QFont(self._font)
        self._small.setPixelSize(int(round(SMALL_FONT_SIZE)))
        self._metrics = {id(f): QFontMetricsF(f) for f in (self._font, self._bold, self._small)}
        self._widths: dict[tuple[str, int], float] = {}
        self._cat_names: list[str] = []
        self._cat_codes: np.ndarray = np.zeros(0, dtype=np.int64)
        self._cat_by_palette: dict[str, np.ndarray] = {}

    def font(self) -> QFont:
        """The regular font node rows are drawn in (the view measures char widths with it)."""
        return self._font

    def set_scene(self, data: SceneData) -> None:
        """Forget caches that belong to the previous scene."""
        self._data = data
        self._paths = {}
        self._labels = None
        # One colour lookup per distinct category, then a vectorised gather (100k items).
        cats: dict[str, int] = {}
        codes = np.fromiter((cats.setdefault(c.category, len(cats)) for c in data.contents),
                            dtype=np.int64, count=len(data.contents))
        self._cat_names = list(cats)
        self._cat_codes = codes
        self._cat_by_palette = {}

    # ------------------------------------------------------------------ entry point
    def paint(self, p: QPainter, data: SceneData, world: tuple[float, float, float, float],
              scale: float, state: PaintState, full: bool | None = None) -> None:
        """Draw everything of `data` that intersects `world` (x0, y0, x1, y1) at `scale`.

        The painter's transform must already map world to device; `scale` is its zoom.
        """
        if data is not self._data:
            self.set_scene(data)
        if full is None:
            full = scale >= TEXT_MIN_SCALE
        nodes = data.node_index.query(*world)
        segs = data.segment_index.query(*world)
        self.items_drawn = len(nodes)
        self._paint_frames(p, data, world, state, full)
        if full:
            # only a full paint says whether labels are pending: the minimap's plain-box
            # repaint after it must not clear the flag
            self.labels_pending = False
            self._paint_edges_full(p, data, segs, state)
            self._paint_frame_titles(p, data, world, state)
            self._paint_nodes_full(p, data, nodes, state)
            self._paint_edge_labels(p, data, segs, state, scale)
        else:
            self._paint_edges_batched(p, data, segs, state)
            self._paint_nodes_batched(p, data, nodes, state)
            if len(nodes) <= FAR_TITLE_LIMIT:
                self._paint_far_titles(p, data, nodes, state, scale)
        if state.selected is not None and 0 <= state.selected < len(data.rects):
            x0, y0, x1, y1 = data.rects[state.selected]
            pen = QPen(qcolor(state.palette.selection), max(2.5, 2.5 / max(scale, 1e-9)))
            pen.setCosmetic(False)
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            pad = 3.0 / max(scale, 0.05)
            p.drawRoundedRect(QRectF(x0 - pad, y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad),
                              6, 6)

    # ------------------------------------------------------------------ helpers
    def _cat_colors(self, pal: Palette) -> np.ndarray:
        """(n, 3) header colour per item in palette `pal` (built once per scene and palette)."""
        table = self._cat_by_palette.get(pal.name)
        if table is None:
            rows = [pal.header(c) for c in self._cat_names]
            lut = np.array(rows, dtype=np.int64).reshape(-1, 3)
            table = lut[self._cat_codes] if len(self._cat_codes) else np.zeros((0, 3), np.int64)
            self._cat_by_palette[pal.name] = table
        return table

    def _header_rgb(self, i: int, state: PaintState) -> RGB:
        if state.colors is not None and i in state.colors:
            return state.colors[i]
        c = self._cat_colors(state.palette)[i]
        return (int(c[0]), int(c[1]), int(c[2]))

    def _dim(self, i: int, state: PaintState) -> bool:
        return state.dimmed is not None and bool(state.dimmed[i])

    def _width(self, text: str, font: QFont) -> float:
        """The real advance of `text` in `font` (cached: the same titles and keys repeat)."""
        key = (text, id(font))
        w = self._widths.get(key)
        if w is None:
            if len(self._widths) > 100_000:
                self._widths.clear()
            w = self._widths[key] = self._metrics[id(font)].horizontalAdvance(text)
        return w

    def _text(self, p: QPainter, x: float, y: float, text: str) -> None:
        self.text_calls += 1
        p.drawText(QPointF(x, y), text)

    # ------------------------------------------------------------------ frames
    def _paint_frames(self, p: QPainter, data: SceneData, world: tuple[float, ...],
                      state: PaintState, full: bool) -> None:
        pal = state.palette
        p.setPen(QPen(qcolor(pal.frame_border), 1.2))
        p.setBrush(qcolor(pal.frame_fill, FRAME_ALPHA))
        for f in data.frames:
            x0, y0, x1, y1 = f.rect
            if x1 < world[0] or x0 > world[2] or y1 < world[1] or y0 > world[3]:
                continue
            p.drawRoundedRect(QRectF(x0, y0, x1 - x0, y1 - y0), 8, 8)

    def _paint_frame_titles(self, p: QPainter, data: SceneData, world: tuple[float, ...],
                            state: PaintState) -> None:
        """Titles go over the edges, on a patch of their frame's colour: an edge entering a
        frame often runs through its title band, and struck-through text is unreadable."""
        pal = state.palette
        fm = self._metrics[id(self._bold)]
        p.setFont(self._bold)
        for f in data.frames:
            x0, y0, x1, y1 = f.rect
            if x1 < world[0] or x0 > world[2] or y0 + 20 < world[1] or y0 > world[3]:
                continue
            bx, by = x0 + 7, y0 + 4
            room = max(x1 - (bx + 16) - 5, 20.0)  # from the text's start to the border
            label = f.label
            if self._width(label, self._bold) > room:
                label = fm.elidedText(label, Qt.TextElideMode.ElideMiddle, room)
            tw = self._width(label, self._bold)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(qcolor(_stacked(pal, f.depth)))
            p.drawRoundedRect(QRectF(bx - 2, by - 2, tw + 22, 15), 3, 3)
            p.setPen(QPen(qcolor(pal.frame_border), 1.0))
            p.setBrush(qcolor(pal.background))
            p.drawRect(QRectF(bx, by, 11, 11))
            p.drawLine(QPointF(bx + 3, by + 5.5), QPointF(bx + 8, by + 5.5))
            p.setPen(qcolor(pal.frame_text))
            self._text(p, bx + 16, by + 10, label)

    # ------------------------------------------------------------------ batched (far) mode
    def _paint_edges_batched(self, p: QPainter, data: SceneData, segs: np.ndarray,
                             state: PaintState) -> None:
        if len(segs) == 0:
            return
        arr = np.ascontiguousarray(data.segments[segs], dtype=np.float64)
        pen = QPen(qcolor(state.palette.edge, 170), 1.0)
        pen.setCosmetic(True)
        p.setPen(pen)
        p.drawLines(shiboken6.wrapInstance(arr.ctypes.data, QLineF), len(arr))

    def _paint_nodes_batched(self, p: QPainter, data: SceneData, nodes: np.ndarray,
                             state: PaintState) -> None:
        if len(nodes) == 0:
            return
        rgb = self._cat_colors(state.palette)[nodes].copy()
        if state.colors:
            for k, i in enumerate(nodes.tolist()):
                c = state.colors.get(i)
                if c is not None:
                    rgb[k] = c
        key = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
        if state.dimmed is not None:
            key = key | (state.dimmed[nodes].astype(np.int64) << 24)
        r = data.rects[nodes]
        xywh = np.column_stack([r[:, 0], r[:, 1], r[:, 2] - r[:, 0], r[:, 3] - r[:, 1]])
        order = np.argsort(key, kind="stable")
        key_sorted = key[order]
        bounds = np.flatnonzero(np.diff(key_sorted)) + 1
        pen = QPen(qcolor(state.palette.node_border, 120), 0.0)
        pen.setCosmetic(True)
        p.setPen(pen)
        for chunk in np.split(order, bounds):
            k = int(key[chunk[0]])
            alpha = state.palette.dim_alpha if k >> 24 else 255
            p.setBrush(QColor((k >> 16) & 255, (k >> 8) & 255, k & 255, alpha))
            arr = np.ascontiguousarray(xywh[chunk])
            p.drawRects(shiboken6.wrapInstance(arr.ctypes.data, QRectF), len(arr))

    # ------------------------------------------------------------------ full mode
    def _edge_path(self, data: SceneData, e: int) -> QPainterPath:
        path = self._paths.get(e)
        if path is None:
            pts = data.routes[e]
            path = QPainterPath(QPointF(*pts[0]))
            if len(pts) == 2:
                path.lineTo(QPointF(*_shorten(pts[0], pts[1], ARROW)))
            elif len(pts) > 2:
                from inspector.layout import smooth_path

                trimmed = pts.copy()
                trimmed[-1] = _shorten(pts[-2], pts[-1], ARROW)
                for c1, c2, end in smooth_path(trimmed):
                    path.cubicTo(QPointF(*c1), QPointF(*c2), QPointF(*end))
            self._paths[e] = path
        return path

    def _paint_edges_full(self, p: QPainter, data: SceneData, segs: np.ndarray,
                          state: PaintState) -> None:
        if len(segs) == 0:
            return
        edges = np.unique(data.segment_edge[segs])
        pal = state.palette
        normal = QPen(qcolor(pal.edge), 1.1)
        faint = QPen(qcolor(pal.edge, pal.dim_alpha), 1.1)
        for e in edges.tolist():
            a, b = data.edges[e]
            dim = self._dim(int(a), state) or self._dim(int(b), state)
            if e == state.selected_edge:
                pen = QPen(qcolor(pal.selection), 2.6)
                color = qcolor(pal.selection)
            else:
                pen = faint if dim else normal
                color = pen.color()
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(self._edge_path(data, e))
            pts = data.routes[e]
            if len(pts) >= 2:
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(color)
                p.drawPolygon(_arrow(pts[-2], pts[-1]))

    def _paint_edge_labels(self, p: QPainter, data: SceneData, segs: np.ndarray,
                           state: PaintState, scale: float) -> None:
        if len(segs) == 0 or scale * SMALL_FONT_SIZE < 6.0:
            return
        if self._labels is None:
            self._labels = LabelPlacer(data)
        p.setFont(self._small)
        pal = state.palette
        normal, faint = qcolor(pal.edge_label), qcolor(pal.edge_label, pal.dim_alpha)
        placer = self._labels
        deadline = time.perf_counter() + self.label_budget if self.label_budget else None
        fresh = 0
        for e in np.unique(data.segment_edge[segs]).tolist():
            if deadline is not None and not placer.placed(e):
                # at least one new label a frame, so a slow machine still gets there
                if fresh and time.perf_counter() > deadline:
                    self.labels_pending = True  # the view paints again for the rest
                    continue
                fresh += 1
            box = placer.box(e)
            if box is None:
                continue
            a, b = data.edges[e]
            dim = self._dim(int(a), state) or self._dim(int(b), state)
            p.setPen(faint if dim else normal)
            self._text(p, box[0], box[3] - DESCENT, data.edge_labels[e])

    def _paint_nodes_full(self, p: QPainter, data: SceneData, nodes: np.ndarray,
                          state: PaintState) -> None:
        pal = state.palette
        border = QPen(qcolor(pal.node_border), 1.0)
        for i in nodes.tolist():
            c = data.contents[i]
            x0, y0, x1, y1 = data.rects[i]
            rect = QRectF(x0, y0, x1 - x0, y1 - y0)
            dim = self._dim(i, state)
            if dim:
                p.setOpacity(0.22)
            if c.kind in ("input", "output"):
                self._paint_io(p, c, rect, pal, border)
            else:
                self._paint_op(p, i, c, rect, state, border)
            if dim:
                p.setOpacity(1.0)

    def _paint_far_titles(self, p: QPainter, data: SceneData, nodes: np.ndarray,
                          state: PaintState, scale: float) -> None:
        """Node titles on a fitted small graph: without them a 9-node model fitted into a
        short window was a set of blank coloured boxes. Drawn at LEGIBLE_PX on screen, and
        only where the title fits inside its box."""
        f = max(1.0, LEGIBLE_PX / (FONT_SIZE * max(scale, 1e-9)))
        p.setFont(self._bold)
        rects = data.rects[nodes] if len(nodes) else np.zeros((0, 4))
        gap = 4.0 / max(scale, 1e-9)
        for k, i in enumerate(nodes.tolist()):
            c = data.contents[i]
            title = getattr(c, "title", "")
            if not title:
                continue
            x0, y0, x1, y1 = data.rects[i]
            w = self._width(title, self._bold) * f
            h = FONT_SIZE * f
            if w <= (x1 - x0) - 4 and h <= (y1 - y0):
                rgb = self._header_rgb(i, state) if c.kind not in ("input", "output") else \
                    state.palette.io_fill
                p.setPen(qcolor(text_on(rgb)))
                tx, ty = (x0 + x1) / 2 - w / 2, y0 + min(h + 2, (y1 - y0) * 0.75)
            elif scale >= BESIDE_MIN_SCALE:
                # Too small a box (a tall chain fitted into a short window): the title goes
                # beside it, on the canvas, where no other box is.
                tx, ty = x1 + gap, (y0 + y1) / 2 + h * 0.35
                lx0, ly0, lx1, ly1 = tx, ty - h, tx + w, ty + h * 0.3
                hit = ((rects[:, 0] < lx1) & (rects[:, 2] > lx0)
                       & (rects[:, 1] < ly1) & (rects[:, 3] > ly0))
                hit[k] = False
                if hit.any():
                    continue
                p.setPen(qcolor(state.palette.node_text))
            else:
                continue
            p.save()
            p.translate(tx, ty)
            p.scale(f, f)
            self._text(p, 0.0, 0.0, title)
            p.restore()

    def _paint_io(self, p: QPainter, c, rect: QRectF, pal: Palette, border: QPen) -> None:
        p.setPen(border)
        p.setBrush(qcolor(pal.io_fill))
        r = min(rect.height() / 2, 14.0)
        p.drawRoundedRect(rect, r, r)
        p.setPen(qcolor(pal.node_text))
        p.setFont(self._bold)
        cx = rect.center().x()
        self._text(p, cx - self._width(c.title, self._bold) / 2, rect.top() + 15, c.title)
        if c.subtitle:
            p.setFont(self._small)
            p.setPen(qcolor(pal.key_text))
            self._text(p, cx - self._width(c.subtitle, self._small) / 2, rect.top() + 30,
                       c.subtitle)

    def _paint_op(self, p: QPainter, i: int, c, rect: QRectF, state: PaintState,
                  border: QPen) -> None:
        pal = state.palette
        head_rgb = self._header_rgb(i, state)
        head_h = HEADER_H + (ROW_H - 1 if c.subtitle else 0.0)
        if c.kind == "group":
            # A collapsed group looks like a stack of cards.
            p.setPen(border)
            p.setBrush(qcolor(pal.node_body))
            p.drawRoundedRect(rect.translated(4, 4), 5, 5)
        p.setPen(border)
        p.setBrush(qcolor(head_rgb))
        p.drawRoundedRect(rect, 5, 5)
        if c.rows:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(qcolor(pal.node_body))
            p.drawRect(QRectF(rect.left() + 0.5, rect.top() + head_h, rect.width() - 1,
                              rect.height() - head_h - 5))
            p.drawRoundedRect(QRectF(rect.left() + 0.5, rect.bottom() - 10, rect.width() - 1,
                                     9.5), 4.5, 4.5)
            p.setPen(border)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(rect, 5, 5)
            p.drawLine(QPointF(rect.left(), rect.top() + head_h),
                       QPointF(rect.right(), rect.top() + head_h))
        fg = text_on(head_rgb)
        p.setPen(qcolor(fg))
        p.setFont(self._bold)
        left = rect.left() + PAD_X
        if c.kind == "group":
            p.drawRect(QRectF(left, rect.top() + 6, 10, 10))
            p.drawLine(QPointF(left + 2.5, rect.top() + 11), QPointF(left + 7.5, rect.top() + 11))
            p.drawLine(QPointF(left + 5, rect.top() + 8.5), QPointF(left + 5, rect.top() + 13.5))
            left += 16
        if c.rows:
            self._text(p, left, rect.top() + 15.5, c.title)
        else:
            w = self._width(c.title, self._bold)
            cx = rect.center().x() + (8 if c.kind == "group" else 0)
            self._text(p, cx - w / 2, rect.top() + 15.5, c.title)
        if c.subtitle:
            p.setFont(self._small)
            p.setPen(qcolor(fg, 200))
            self._text(p, left, rect.top() + 29, c.subtitle)
        y = rect.top() + head_h + PAD_Y + 10.5
        for key, sep, val in c.rows:
            p.setFont(self._bold)
            p.setPen(qcolor(pal.key_text))
            self._text(p, rect.left() + PAD_X, y, key)
            p.setFont(self._font)
            p.setPen(qcolor(pal.node_text))
            kx = rect.left() + PAD_X + self._width(key, self._bold)
            self._text(p, kx, y, sep + val)
            y += ROW_H


def _stacked(pal: Palette, depth: int) -> RGB:
    """The opaque colour `depth` nested translucent frame fills make over the background."""
    c = np.array(pal.background, dtype=np.float64)
    a = FRAME_ALPHA / 255.0
    for _ in range(max(depth, 1)):
        c = c * (1 - a) + np.array(pal.frame_fill, dtype=np.float64) * a
    r, g, b = np.round(c).astype(int).tolist()
    return (r, g, b)


def _shorten(a: np.ndarray, b: np.ndarray, by: float) -> tuple[float, float]:
    """Point `by` units before `b` on the segment a-b (so the line ends at the arrow's base)."""
    d = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    n = float(np.hypot(*d))
    if n <= by:
        return float(b[0]), float(b[1])
    return float(b[0] - d[0] / n * by), float(b[1] - d[1] / n * by)


def _arrow(a: np.ndarray, b: np.ndarray) -> QPolygonF:
    d = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    n = float(np.hypot(*d)) or 1.0
    ux, uy = d / n
    bx, by = b[0] - ux * ARROW, b[1] - uy * ARROW
    w = ARROW * 0.45
    return QPolygonF([QPointF(b[0], b[1]), QPointF(bx - uy * w, by + ux * w),
                      QPointF(bx + uy * w, by - ux * w)])


__all__ = ["GraphPainter", "PaintState", "QBrush", "qcolor"]
