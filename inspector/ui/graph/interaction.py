"""Mouse, wheel and keyboard handling of the GraphView: pan, zoom, click, walk, expand."""

from __future__ import annotations

import time
from html import escape
from typing import Any

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QHelpEvent, QKeyEvent, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QToolTip


class ViewInteraction:
    """Input handlers mixed into GraphView (it provides the state and view methods used)."""

    _data: Any
    _nav: Any
    _scale: float
    _tx: float
    _ty: float
    _selected: int | None
    _press: QPointF | None
    _press_t: tuple[float, float]
    _dragging_minimap: bool

    def event(self, event: QEvent) -> bool:
        """Tooltips: the full name of what is under the cursor (names in nodes are cut)."""
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            text = self.tooltip_at(QPointF(event.pos()))
            if text:
                QToolTip.showText(event.globalPos(), text, self)  # type: ignore[arg-type]
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)  # type: ignore[misc]

    def tooltip_at(self, pos: QPointF) -> str:
        """Rich text naming the node, group, input/output or edge at widget position `pos`."""
        if self._data is None or self._nav is None:
            return ""
        x, y = self._to_world(pos)
        data = self._data
        hit = self._nav.node_at(x, y)
        if hit is not None:
            item = data.items[hit]
            if item.kind == "node" and item.node is not None:
                node = item.node
                lines = [f"<b>{escape(node.op_type)}</b>", escape(node.name)]
                if node.group:
                    lines.append("in " + escape(" / ".join(node.group)))
                return "<br>".join(lines)
            if item.kind == "group":
                count = int(getattr(item, "count", 0) or 0)
                return (f"<b>{escape(' / '.join(item.group))}</b><br>{count} nodes"
                        "<br>double-click to expand")
            return f"<b>{escape(item.kind)}</b> {escape(item.label)}"
        e = self._nav.edge_at(x, y, 5.0 / self._scale)
        if e is not None:
            label = data.edge_labels[e]
            return escape(data.edge_values[e]) + (f"<br>{escape(label)}" if label else "")
        return ""

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        """Zoom around the cursor."""
        dy = event.angleDelta().y() or event.pixelDelta().y()
        if dy:
            self.set_zoom(self._scale * (1.0015 ** dy), event.position())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        """Start a pan, a click, or a minimap drag."""
        if event.button() != Qt.MouseButton.LeftButton:
            return
        pos = event.position()
        if self._data is not None and self.minimap.contains(pos):
            self._dragging_minimap = True
            self.center_on(*self.minimap.to_world(pos, self._mini_overview))
            return
        self._press = pos
        self._press_t = (self._tx, self._ty)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        """Pan by dragging (or move the viewport from the minimap)."""
        pos = event.position()
        if self._dragging_minimap:
            self.center_on(*self.minimap.to_world(pos, self._mini_overview))
            return
        if self._press is not None:
            self._tx = self._press_t[0] + pos.x() - self._press.x()
            self._ty = self._press_t[1] + pos.y() - self._press.y()
            self._changed()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        """A release without a drag is a click: select what is under the cursor."""
        if self._dragging_minimap:
            self._dragging_minimap = False
            return
        if self._press is None:
            return
        moved = (event.position() - self._press).manhattanLength()
        self._press = None
        if moved < 4:
            self.click_at(event.position())

    def click_at(self, pos: QPointF) -> None:
        """Select the node, else the edge, under widget position `pos`; else clear."""
        if self._data is None:
            return
        x, y = self._to_world(pos)
        toggle = self._nav.toggle_at(x, y, 3.0 / self._scale) if self._nav else None
        if toggle is not None:
            # A single click on [+]/[−] toggles, as in every tree view; the double-click
            # that may follow must not toggle it back.
            self._toggle_clicked = time.monotonic()
            self.toggle_group(toggle)
            return
        hit = self._nav.node_at(x, y) if self._nav else None
        if hit is not None:
            self.select_index(hit)
            return
        e = self._nav.edge_at(x, y, 5.0 / self._scale) if self._nav else None
        if e is not None:
            self.select_edge(e)
            return
        self.select_index(None)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        """Expand a collapsed group, collapse a frame, or enter a node's subgraph."""
        if self._data is None or self._nav is None:
            return
        interval = QApplication.doubleClickInterval() / 1000.0
        if time.monotonic() - getattr(self, "_toggle_clicked", -1e9) < interval:
            return
        x, y = self._to_world(event.position())
        i = self._nav.node_at(x, y)
        if i is not None:
            item = self._data.items[i]
            if item.kind == "group":
                self.toggle_group(tuple(item.group))
            elif item.kind == "node" and item.node.subgraphs:
                self.enter_subgraph(item.node.name, item.node.subgraphs[0][0])
            return
        frame = self._nav.frame_label_at(x, y)
        if frame is not None:
            self.toggle_group(frame)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        """Arrows walk the graph; Ctrl+= / Ctrl+- zoom; Ctrl+0 fits; Backspace leaves a subgraph."""
        key = event.key()
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        moves = {Qt.Key.Key_Up: "up", Qt.Key.Key_Down: "down", Qt.Key.Key_Left: "left",
                 Qt.Key.Key_Right: "right"}
        if key in moves and self._nav is not None and self._selected is not None:
            j = self._nav.step(self._selected, moves[key])
            if j is not None:
                self.select_index(j)
                self._ensure_visible(j)
        elif ctrl and key in (Qt.Key.Key_Equal, Qt.Key.Key_Plus):
            self.zoom_in()
        elif ctrl and key == Qt.Key.Key_Minus:
            self.zoom_out()
        elif ctrl and key == Qt.Key.Key_0:
            self.fit()
        elif key == Qt.Key.Key_Backspace:
            self.leave_subgraph()
        else:
            super().keyPressEvent(event)

    def _ensure_visible(self, i: int) -> None:
        x0, y0, x1, y1 = self._data.rects[i]  # type: ignore[union-attr]
        w = self._world_rect()
        if x0 < w[0] or y0 < w[1] or x1 > w[2] or y1 > w[3]:
            self.center_on(*self._item_center(i))
