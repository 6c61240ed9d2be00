"""Things drawn over the graph in screen space: legend, breadcrumbs, far-out selection."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QPainter, QPen

from inspector.ui.graph.painter import qcolor
from inspector.ui.graph.scene import SceneData
from inspector.ui.graph.style import RGB, Palette


def _font(bold: bool = False) -> QFont:
    f = QFont()
    f.setPixelSize(12)
    f.setBold(bold)
    return f


def legend(p: QPainter, entries: list[tuple[str, RGB]], widget_h: int, pal: Palette) -> None:
    """A box of colour swatches with labels in the bottom-left corner."""
    f = _font()
    fm = QFontMetricsF(f)
    row = 18.0
    w = 34 + max(fm.horizontalAdvance(label) for label, _ in entries)
    h = 10 + row * len(entries)
    x, y = 10.0, widget_h - h - 10
    p.save()
    p.setFont(f)
    p.setPen(QPen(qcolor(pal.frame_border), 1))
    p.setBrush(qcolor(pal.overlay_fill, 235))
    p.drawRoundedRect(QRectF(x, y, w, h), 5, 5)
    for k, (label, rgb) in enumerate(entries):
        ry = y + 5 + k * row
        # outlined: a dark swatch (viridis' low end) on the dark theme's panel still shows
        p.setPen(QPen(qcolor(pal.node_border), 1))
        p.setBrush(qcolor(rgb))
        p.drawRect(QRectF(x + 8.5, ry + 3.5, 16, 12))
        p.setPen(qcolor(pal.overlay_text))
        p.drawText(QPointF(x + 30, ry + 13.5), label)
    p.restore()


def breadcrumbs(p: QPainter, crumbs: list[str], pal: Palette) -> None:
    """The path into nested subgraphs, top-left (`main > If_0/then_branch`)."""
    f = _font(bold=True)
    text = "  \u203a  ".join(crumbs) + "     (Backspace: up)"
    w = QFontMetricsF(f).horizontalAdvance(text) + 20
    p.save()
    p.setFont(f)
    p.setPen(QPen(qcolor(pal.frame_border), 1))
    p.setBrush(qcolor(pal.overlay_fill, 235))
    p.drawRoundedRect(QRectF(8, 8, w, 24), 5, 5)
    p.setPen(qcolor(pal.overlay_text))
    p.drawText(QPointF(18, 25), text)
    p.restore()


def selection_marker(p: QPainter, data: SceneData, i: int, scale: float, pal: Palette) -> None:
    """Far out the selected node is sub-pixel: ring it with a fixed-size screen marker."""
    x0, y0, x1, y1 = data.rects[i]
    r = 6.0 / scale
    pen = QPen(qcolor(pal.selection), 2.0)
    pen.setCosmetic(True)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRect(QRectF(x0 - r, y0 - r, x1 - x0 + 2 * r, y1 - y0 + 2 * r))
