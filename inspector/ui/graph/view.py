"""GraphView: one QWidget that paints the whole graph itself (no QGraphicsItem per node).

Only what intersects the viewport is drawn, found through numpy grid buckets; far out the
whole graph is one cached raster. The pure half (view graph, sizes, layout) is `prepare()`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QFontMetricsF, QImage, QKeyEvent, QMouseEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QWidget

from inspector.ir.model import Graph, Model
from inspector.ui.graph import overlays
from inspector.ui.graph.minimap import Minimap, Overview
from inspector.ui.graph.navigation import Navigator
from inspector.ui.graph.painter import GraphPainter, PaintState, qcolor, set_char_advances
from inspector.ui.graph.scene import SceneData, SceneOptions, all_groups
from inspector.ui.graph.scene import prepare as prepare_scene
from inspector.ui.graph.style import RGB, palette

#: Far out, switch to the cached raster once more nodes than this would be drawn one by one.
DIRECT_LIMIT = 2500
MIN_SCALE, MAX_SCALE = 1e-4, 8.0


class GraphView(QWidget):
    """The architecture diagram: zoom, pan, select, expand groups, enter subgraphs, export."""

    node_selected = Signal(object)
    value_selected = Signal(str)
    group_toggled = Signal(tuple)
    view_changed = Signal()
    breadcrumbs_changed = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(False)
        self.setMinimumSize(200, 150)
        self.painter = GraphPainter()
        fm = QFontMetricsF(self.painter.font())
        px = float(self.painter.font().pixelSize())
        self._advances = tuple(fm.horizontalAdvance(chr(c)) / px for c in range(32, 127))
        set_char_advances(self._advances)
        self._options = SceneOptions(char_advances=self._advances)
        self._palette = palette("light")
        self._model: Model | None = None
        self._stack: list[tuple[Graph, str]] = []  # (graph, breadcrumb label), root first
        self._data: SceneData | None = None
        self._expanded: frozenset[tuple[str, ...]] | None = None
        self._scale = 1.0
        self._tx = self._ty = 0.0
        self._selected: int | None = None
        self._selected_edge: int | None = None
        self._highlight: set[str] | None = None
        self._dimmed: np.ndarray | None = None
        self._colors: dict[int, RGB] | None = None
        self._color_names: dict[str, RGB] | None = None
        self._legend: list[tuple[str, RGB]] | None = None
        self._state_version = 0
        self._overview = Overview()
        self.minimap = Minimap()
        self._nav: Navigator | None = None
        self._press: QPointF | None = None
        self._press_t = (0.0, 0.0)
        self._dragging_minimap = False
        self.last_mode = ""  # "full", "boxes" or "raster": what the last paint drew

    # ------------------------------------------------------------------ model and scene
    @staticmethod
    def prepare(model: Model | None, graph: Graph | None = None,
                expanded: frozenset[tuple[str, ...]] | None = None,
                options: SceneOptions | None = None) -> SceneData:
        """The pure half of `set_model`, safe to run in a worker thread."""
        return prepare_scene(model, graph, expanded, options)

    def set_model(self, model: Model | None, graph: Graph | None = None) -> None:
        """Show `model` (its main graph unless `graph` is given); None clears the view."""
        self._model = model
        if model is None:
            self._stack = []
            self._data = None
            self.update()
            return
        graph = graph or model.graph
        self._stack = [(graph, graph.name or Path(model.path).stem or "graph")]
        self._expanded = None
        self.show_scene(prepare_scene(model, graph, None, self._options))
        self.breadcrumbs_changed.emit(self.breadcrumbs())

    def show_scene(self, data: SceneData) -> None:
        """Display a prepared scene (GUI thread) and fit it in the window."""
        if not self._stack or self._stack[-1][0] is not data.graph:
            self._stack = [(data.graph, data.graph.name or "graph")]
        self._install(data)
        self.fit()

    def _install(self, data: SceneData) -> None:
        self._data = data
        self._expanded = data.expanded
        self.painter.set_scene(data)
        self._nav = Navigator(data)
        self._selected = self._selected_edge = None
        self._recolor()
        self._apply_highlight()

    def _relayout(self, expanded: frozenset[tuple[str, ...]] | None,
                  keep: str | None = None) -> None:
        """Re-run prepare with new groups or options, keeping the view centred on `keep`."""
        if self._data is None:
            return
        graph = self._stack[-1][0]
        old_center = self._world_center()
        data = prepare_scene(self._model, graph, expanded, self._options)
        self._install(data)
        if keep is not None and keep in data.index_of_node:
            i = data.index_of_node[keep]
            self._selected = i
            self.center_on(*self._item_center(i))
        else:
            self.center_on(*old_center)
        self._bump()

    @property
    def scene_data(self) -> SceneData | None:
        """The scene being shown (None before a model is set)."""
        return self._data

    def item_count(self) -> int:
        """How many items (nodes, collapsed groups, inputs, outputs) the scene draws."""
        return 0 if self._data is None else len(self._data.items)

    # ------------------------------------------------------------------ options
    def set_options(self, **changes: object) -> None:
        """Change show_weights / show_attributes / show_names / direction and re-layout."""
        from dataclasses import replace

        self._options = replace(self._options, **changes)  # type: ignore[arg-type]
        self._relayout(self._expanded)
        if "direction" in changes:
            self.fit()

    def set_show_weights(self, on: bool) -> None:
        """Show or hide weight rows (`W <64x3x7x7>`)."""
        self.set_options(show_weights=bool(on))

    def set_show_attributes(self, on: bool) -> None:
        """Show or hide key attribute rows (`kernel_shape = 3, 3`)."""
        self.set_options(show_attributes=bool(on))

    def set_show_names(self, on: bool) -> None:
        """Show or hide node names under the op type."""
        self.set_options(show_names=bool(on))

    def set_direction(self, direction: str) -> None:
        """Lay out top-to-bottom ("TB") or left-to-right ("LR")."""
        if direction not in ("TB", "LR"):
            raise ValueError(f"direction must be TB or LR, not {direction!r}")
        self.set_options(direction=direction)

    def set_palette(self, name: str) -> None:
        """Switch to the "light" or "dark" palette."""
        self._palette = palette(name)
        self._bump()

    def palette_name(self) -> str:
        """The current palette's name."""
        return self._palette.name

    # ------------------------------------------------------------------ groups, subgraphs
    def toggle_group(self, path: tuple[str, ...]) -> None:
        """Expand a collapsed group or collapse an expanded one."""
        path = tuple(path)
        exp = set(self._expanded or ())
        if path in exp:
            exp = {p for p in exp if p[: len(path)] != path}
        else:
            exp.update(path[:i] for i in range(1, len(path) + 1))
        self._relayout(frozenset(exp))
        self.group_toggled.emit(path)

    def expand_all(self) -> None:
        """Expand every group of the current graph."""
        if self._stack:
            self._relayout(all_groups(self._stack[-1][0]))

    def collapse_all(self) -> None:
        """Collapse every group to a single box."""
        self._relayout(frozenset())

    def enter_subgraph(self, node_name: str, key: str) -> None:
        """Show the subgraph `key` (an If branch, a Loop body, a function) of `node_name`."""
        graph = self._stack[-1][0] if self._stack else None
        if graph is None:
            raise KeyError("no graph is shown")
        node = graph.node(node_name)
        sub = dict(node.subgraphs).get(key)
        if sub is None:
            raise KeyError(f"{node_name} has no subgraph {key!r}")
        self._stack.append((sub, f"{node_name}/{key}"))
        self._install(prepare_scene(self._model, sub, None, self._options))
        self.fit()
        self.breadcrumbs_changed.emit(self.breadcrumbs())

    def leave_subgraph(self) -> None:
        """Go back to the graph that owns the current subgraph."""
        if len(self._stack) <= 1:
            return
        self._stack.pop()
        self._install(prepare_scene(self._model, self._stack[-1][0], None, self._options))
        self.fit()
        self.breadcrumbs_changed.emit(self.breadcrumbs())

    def breadcrumbs(self) -> list[str]:
        """Labels from the main graph down to the shown subgraph."""
        return [label for _, label in self._stack]

    # ------------------------------------------------------------------ view transform
    def _world_rect(self, w: float | None = None, h: float | None = None) -> tuple[float, ...]:
        w = self.width() if w is None else w
        h = self.height() if h is None else h
        s = self._scale
        return (-self._tx / s, -self._ty / s, (w - self._tx) / s, (h - self._ty) / s)

    def _world_center(self) -> tuple[float, float]:
        r = self._world_rect()
        return ((r[0] + r[2]) / 2, (r[1] + r[3]) / 2)

    def _to_world(self, pos: QPointF) -> tuple[float, float]:
        return ((pos.x() - self._tx) / self._scale, (pos.y() - self._ty) / self._scale)

    def _item_center(self, i: int) -> tuple[float, float]:
        r = self._data.rects[i]  # type: ignore[union-attr]
        return (float(r[0] + r[2]) / 2, float(r[1] + r[3]) / 2)

    def zoom(self) -> float:
        """Screen pixels per world unit."""
        return self._scale

    def set_zoom(self, scale: float, anchor: QPointF | None = None) -> None:
        """Zoom to `scale`, keeping the world point under `anchor` (default: centre) fixed."""
        anchor = anchor or QPointF(self.width() / 2, self.height() / 2)
        wx, wy = self._to_world(anchor)
        self._scale = float(np.clip(scale, MIN_SCALE, MAX_SCALE))
        self._tx = anchor.x() - wx * self._scale
        self._ty = anchor.y() - wy * self._scale
        self._changed()

    def zoom_in(self) -> None:
        """Zoom in one step (Ctrl+=)."""
        self.set_zoom(self._scale * 1.25)

    def zoom_out(self) -> None:
        """Zoom out one step (Ctrl+-)."""
        self.set_zoom(self._scale / 1.25)

    def fit(self) -> None:
        """Show the whole graph (Ctrl+0); never enlarge a small graph past 100%."""
        if self._data is None:
            return
        x0, y0, x1, y1 = self._data.bounds
        w, h = max(self.width(), 50), max(self.height(), 50)
        s = min((w - 40) / max(x1 - x0, 1.0), (h - 40) / max(y1 - y0, 1.0), 1.0)
        self._scale = float(np.clip(s, MIN_SCALE, MAX_SCALE))
        self.center_on((x0 + x1) / 2, (y0 + y1) / 2)

    def center_on(self, x: float, y: float) -> None:
        """Put world point (x, y) in the middle of the widget."""
        self._tx = self.width() / 2 - x * self._scale
        self._ty = self.height() / 2 - y * self._scale
        self._changed()

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the view by (dx, dy) screen pixels."""
        self._tx += dx
        self._ty += dy
        self._changed()

    def _changed(self) -> None:
        self.update()
        self.view_changed.emit()

    # ------------------------------------------------------------------ selection
    def select_index(self, i: int | None, center: bool = False) -> None:
        """Select item `i` (None clears) and say so through `node_selected`."""
        if self._data is None:
            return
        self._selected = i
        self._selected_edge = None
        item = self._data.items[i] if i is not None else None
        if center and i is not None:
            self.center_on(*self._item_center(i))
        self.update()
        if item is not None and item.kind in ("input", "output"):
            self.value_selected.emit(item.label)
        self.node_selected.emit(item.node if item is not None and item.kind == "node" else None)

    def select_node(self, name: str, center: bool = True) -> bool:
        """Select the node called `name`, expanding the groups that hide it. False if absent."""
        if self._data is None:
            return False
        graph = self._data.graph
        try:
            node = graph.node(name)
        except KeyError:
            return False
        i = self._data.index_of_node.get(name)
        if i is None or self._data.items[i].kind != "node":
            exp = set(self._expanded or ())
            exp.update(tuple(node.group[:k]) for k in range(1, len(node.group) + 1))
            self._relayout(frozenset(exp), keep=name)
            i = self._data.index_of_node.get(name)
            if i is None:
                return False
        self.select_index(i, center=center)
        return True

    def selected_node(self) -> object:
        """The selected IR node, or None."""
        if self._data is None or self._selected is None:
            return None
        return self._data.items[self._selected].node

    def select_edge(self, e: int | None) -> None:
        """Select edge `e` and emit `value_selected` with its value name."""
        self._selected_edge = e
        self._selected = None
        self.update()
        if e is not None and self._data is not None:
            self.value_selected.emit(self._data.edge_values[e])

    # ------------------------------------------------------------------ highlight and colours
    def highlight(self, names: set[str] | None) -> None:
        """Dim every node not in `names` (None shows all normally)."""
        self._highlight = set(names) if names is not None else None
        self._apply_highlight()
        self._bump()

    def trace(self, name: str, direction: str = "ancestors") -> set[str]:
        """Highlight `name` and its ancestors or descendants; return the node names."""
        if self._data is None:
            return set()
        if direction not in ("ancestors", "descendants"):
            raise ValueError("direction must be 'ancestors' or 'descendants'")
        names = Navigator.lineage(self._data.graph, name, direction)
        self.highlight(names)
        return names

    def _apply_highlight(self) -> None:
        data = self._data
        if data is None or self._highlight is None:
            self._dimmed = None
            return
        names = self._highlight
        prefixes: set[tuple[str, ...]] = set()
        for n in names:
            try:
                g = data.graph.node(n).group
            except KeyError:
                continue
            prefixes.update(tuple(g[:k]) for k in range(1, len(g) + 1))
        dim = np.ones(len(data.items), dtype=bool)
        for i, item in enumerate(data.items):
            if item.kind == "node":
                dim[i] = item.node.name not in names
            elif item.kind == "group":
                dim[i] = tuple(item.group) not in prefixes
            else:
                dim[i] = item.label not in names
        self._dimmed = dim

    def set_node_colors(self, colors: dict[str, RGB] | None,
                        legend: list[tuple[str, RGB]] | None = None) -> None:
        """Colour nodes by a statistic ({node name: (r, g, b)}) with an optional legend."""
        self._color_names = dict(colors) if colors else None
        self._legend = list(legend) if legend else None
        self._recolor()
        self._bump()

    def _recolor(self) -> None:
        if self._data is None or not self._color_names:
            self._colors = None
            return
        idx = self._data.index_of_node
        self._colors = {
            idx[n]: tuple(int(v) for v in c)  # type: ignore[misc]
            for n, c in self._color_names.items()
            if n in idx and self._data.items[idx[n]].kind == "node"
        }

    def _bump(self) -> None:
        self._state_version += 1
        self.update()

    # ------------------------------------------------------------------ painting
    def _state(self) -> PaintState:
        return PaintState(self._palette, self._selected, self._selected_edge, self._dimmed,
                          self._colors)

    def paint_viewport(self, p: QPainter, w: int, h: int, overlays_on: bool = True) -> None:
        """Paint the current viewport of size w x h (the widget and the benchmark use this)."""
        pal = self._palette
        p.fillRect(QRectF(0, 0, w, h), qcolor(pal.background))
        data = self._data
        if data is None:
            return
        world = self._world_rect(w, h)
        state = self._state()
        s = self._scale
        p.save()
        p.translate(self._tx, self._ty)
        p.scale(s, s)
        far = s < 5.0 / 11.0
        if far and data.node_index.count_at_most(*world) > DIRECT_LIMIT:
            self.last_mode = "raster"
            self._overview.ensure(data, self.painter, state, (id(data), self._state_version))
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform,
                            s > self._overview.scale)
            self._overview.draw(p)
            if self._selected is not None:
                overlays.selection_marker(p, data, self._selected, s, pal)
        else:
            self.last_mode = "boxes" if far else "full"
            p.setRenderHint(QPainter.RenderHint.Antialiasing, not far)
            p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
            self.painter.paint(p, data, world, s, state)
        p.restore()
        if overlays_on:
            b = data.bounds
            fits = world[0] <= b[0] and world[1] <= b[1] and world[2] >= b[2] and world[3] >= b[3]
            if self.minimap.visible and not fits:
                self._overview.ensure(data, self.painter, state, (id(data), self._state_version))
                self.minimap.layout(w, h, self._overview.bounds)
                self.minimap.paint(p, self._overview, world, pal.frame_border, pal.selection)
            if self._legend:
                overlays.legend(p, self._legend, h, pal)
            if len(self._stack) > 1:
                overlays.breadcrumbs(p, self.breadcrumbs(), pal)

    def paintEvent(self, event: object) -> None:  # noqa: N802 - Qt override
        """Draw the visible part of the graph."""
        p = QPainter(self)
        self.paint_viewport(p, self.width(), self.height())
        p.end()

    def resizeEvent(self, event: object) -> None:  # noqa: N802 - Qt override
        """Keep the graph fitted while the widget has not been used yet."""
        super().resizeEvent(event)  # type: ignore[arg-type]
        self.view_changed.emit()

    def render_image(self, w: int, h: int) -> QImage:
        """The current viewport rendered into a new w x h image."""
        img = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
        p = QPainter(img)
        self.paint_viewport(p, w, h)
        p.end()
        return img

    # ------------------------------------------------------------------ export
    def export_png(self, path: str | Path, scale: float = 1.0) -> Path:
        """Write the whole graph at full detail as a PNG (scaled down when huge)."""
        from inspector.ui.graph.export import export_png

        return export_png(self._data, path, scale, self._state())

    def export_svg(self, path: str | Path) -> Path:
        """Write the whole graph at full detail as an SVG."""
        from inspector.ui.graph.export import export_svg

        return export_svg(self._data, path, self._state())

    # ------------------------------------------------------------------ input events
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
            self.center_on(*self.minimap.to_world(pos, self._overview))
            return
        self._press = pos
        self._press_t = (self._tx, self._ty)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        """Pan by dragging (or move the viewport from the minimap)."""
        pos = event.position()
        if self._dragging_minimap:
            self.center_on(*self.minimap.to_world(pos, self._overview))
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
