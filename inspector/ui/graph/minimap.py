"""The whole-graph raster cache: far-zoom drawing and the minimap in the view's corner."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from inspector.ui.graph.painter import GraphPainter, PaintState, qcolor
from inspector.ui.graph.scene import SceneData

# The cache image holds at most this many pixels (4 bytes each) and this many per side.
OVERVIEW_PIXELS = 12_000_000
OVERVIEW_SIDE = 16_000
# The minimap's own raster: a few times the corner map's 180 x 150 device pixels. It is
# redrawn whenever the colours change (every result), where the far-zoom raster's 12 MP took
# 46 ms of the GUI thread on BERT-base; that one is now drawn only when far zoom needs it.
MINIMAP_PIXELS = 500_000


class Overview:
    """A raster of the whole graph in plain-box detail, redrawn only when the scene or the
    paint state changes. Far out, blitting it is far cheaper than drawing 100k rectangles."""

    def __init__(self, pixels: int = OVERVIEW_PIXELS) -> None:
        self.pixels = pixels
        self.image: QImage | None = None
        self.scale = 1.0
        self.bounds = (0.0, 0.0, 1.0, 1.0)
        self.key: object = None

    def ensure(self, data: SceneData, painter: GraphPainter, state: PaintState,
               key: object) -> None:
        """(Re)build the raster when `key` (scene and state version) changed."""
        if self.image is not None and key == self.key:
            return
        x0, y0, x1, y1 = data.bounds
        x0, y0, x1, y1 = x0 - 20, y0 - 20, x1 + 20, y1 + 20
        w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
        s = min(0.5, math.sqrt(self.pixels / (w * h)), OVERVIEW_SIDE / w, OVERVIEW_SIDE / h)
        img = QImage(max(1, int(w * s)), max(1, int(h * s)), QImage.Format.Format_ARGB32_Premultiplied)
        img.fill(qcolor(state.palette.background))
        p = QPainter(img)
        p.scale(s, s)
        p.translate(-x0, -y0)
        painter.paint(p, data, (x0, y0, x1, y1), s,
                      PaintState(state.palette, None, None, state.dimmed, state.colors),
                      full=False)
        p.end()
        self.image, self.scale, self.bounds, self.key = img, s, (x0, y0, x1, y1), key

    def draw(self, p: QPainter) -> None:
        """Draw the raster in world coordinates (the painter maps world to device)."""
        if self.image is None:
            return
        x0, y0, x1, y1 = self.bounds
        p.drawImage(QRectF(x0, y0, x1 - x0, y1 - y0), self.image)


class Minimap:
    """The corner overview: where the viewport is, and a place to click or drag to move it."""

    MAX_W = 180.0
    MAX_H = 150.0
    MARGIN = 10.0

    def __init__(self) -> None:
        self.visible = True
        self.rect = QRectF()

    def layout(self, widget_w: int, widget_h: int, bounds: tuple[float, ...]) -> QRectF:
        """Place the minimap in the bottom-right corner with the graph's aspect ratio."""
        bw, bh = max(bounds[2] - bounds[0], 1.0), max(bounds[3] - bounds[1], 1.0)
        s = min(self.MAX_W / bw, self.MAX_H / bh)
        w, h = max(bw * s, 24.0), max(bh * s, 24.0)
        self.rect = QRectF(widget_w - w - self.MARGIN, widget_h - h - self.MARGIN, w, h)
        return self.rect

    def paint(self, p: QPainter, overview: Overview, view_world: tuple[float, ...],
              frame_rgb: tuple[int, int, int], accent: tuple[int, int, int],
              fill_rgb: tuple[int, int, int] | None = None) -> None:
        """Draw the overview raster and the viewport rectangle (device coordinates)."""
        if not self.visible or overview.image is None or self.rect.isEmpty():
            return
        r = self.rect
        p.save()
        if fill_rgb is not None:
            # a panel around the raster, or the map melts into a canvas of the same colour
            p.setPen(QPen(qcolor(frame_rgb), 1))
            p.setBrush(qcolor(fill_rgb, 240))
            p.drawRoundedRect(r.adjusted(-4, -4, 4, 4), 4, 4)
        p.setPen(QPen(qcolor(frame_rgb), 1))
        p.setBrush(QColor(255, 255, 255, 0))
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        p.drawImage(r, overview.image)
        p.drawRect(r)
        x0, y0, x1, y1 = overview.bounds
        sx, sy = r.width() / (x1 - x0), r.height() / (y1 - y0)
        vr = QRectF(r.left() + (view_world[0] - x0) * sx, r.top() + (view_world[1] - y0) * sy,
                    (view_world[2] - view_world[0]) * sx, (view_world[3] - view_world[1]) * sy)
        p.setClipRect(r.adjusted(-1, -1, 1, 1))
        p.setPen(QPen(qcolor(accent), 1.5))
        p.setBrush(QColor(accent[0], accent[1], accent[2], 40))
        p.drawRect(vr.intersected(r.adjusted(-2, -2, 2, 2)) if vr.width() > r.width() else vr)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.restore()

    def contains(self, pos: QPointF) -> bool:
        """Whether a widget position falls on the minimap."""
        return self.visible and self.rect.contains(pos)

    def to_world(self, pos: QPointF, overview: Overview) -> tuple[float, float]:
        """The world point under a widget position on the minimap."""
        x0, y0, x1, y1 = overview.bounds
        r = self.rect
        fx = (pos.x() - r.left()) / max(r.width(), 1.0)
        fy = (pos.y() - r.top()) / max(r.height(), 1.0)
        return x0 + fx * (x1 - x0), y0 + fy * (y1 - y0)
