"""GraphView: one QWidget that paints the whole graph itself (no QGraphicsItem per node).

Only what intersects the viewport is drawn, found through numpy grid buckets; far out the
whole graph is one cached raster. The pure half (view graph, sizes, layout) is `prepare()`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QFontMetricsF, QImage, QPainter
from PySide6.QtWidgets import QWidget

from inspector.ir.model import Graph, Model
from inspector.ui.graph import overlays
from inspector.ui.graph.interaction import ViewInteraction
from inspector.ui.graph.minimap import MINIMAP_PIXELS, Minimap, Overview
from inspector.ui.graph.navigation import Navigator, dimmed_items, item_colors
from inspector.ui.graph.painter import GraphPainter, PaintState, qcolor
from inspector.ui.graph.relayout import Request, SceneJobs
from inspector.ui.graph.scene import SceneData, SceneOptions, all_groups
from inspector.ui.graph.scene import prepare as prepare_scene
from inspector.ui.graph.style import RGB, palette

#: Far out, switch to the cached raster once more nodes than this would be drawn one by one.
DIRECT_LIMIT = 2500
MIN_SCALE, MAX_SCALE = 1e-4, 8.0
#: Below this zoom a first view does not fit the whole graph but opens at 100% on its inputs.
READABLE_SCALE = 0.6
#: At most this long per frame placing new edge labels (the frame budget is 16 ms).
LABEL_BUDGET_S = 0.004


def _record_first_paint() -> None:
    """Print the time of the first complete graph paint when MI_FIRST_PAINT_FILE names a file
    (tests/benchmarks/bench_startup.py measures launch-to-graph with it)."""
    import os
    import time

    target = os.environ.get("MI_FIRST_PAINT_FILE")
    if target:
        with open(target, "a", encoding="utf-8") as f:
            f.write(f"{time.time():.6f}\n")


class GraphView(ViewInteraction, QWidget):
    """The architecture diagram: zoom, pan, select, expand groups, enter subgraphs, export."""

    node_selected = Signal(object)
    value_selected = Signal(str)
    group_toggled = Signal(tuple)
    view_changed = Signal()
    breadcrumbs_changed = Signal(list)
    first_painted = Signal()  # the first complete paint of a graph is on screen
    layout_finished = Signal()  # a new scene (layout) is on screen, prepared here or in a worker
    progressed = Signal(float, str)  # progress of a background layout
    busy_changed = Signal(bool)  # a background layout started or ended
    layout_failed = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(False)
        self.setMinimumSize(200, 150)
        self.painter = GraphPainter()
        self.painter.label_budget = LABEL_BUDGET_S
        fm = QFontMetricsF(self.painter.font())
        px = float(self.painter.font().pixelSize())
        self._advances = tuple(fm.horizontalAdvance(chr(c)) / px for c in range(32, 127))
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
        self._overview = Overview()  # far zoom: the whole graph as one raster
        self._mini_overview = Overview(MINIMAP_PIXELS)  # the corner map's own, small raster
        self.minimap = Minimap()
        self._nav: Navigator | None = None
        self._press: QPointF | None = None
        self._press_t = (0.0, 0.0)
        self._dragging_minimap = False
        self.last_mode = ""  # "full", "boxes" or "raster": what the last paint drew
        self._first_paint_done = False
        self._scenes = SceneJobs(self)
        self._scenes.ready.connect(self._apply)
        self._scenes.progressed.connect(self.progressed)
        self._scenes.busy_changed.connect(self.busy_changed)
        self._scenes.failed.connect(self.layout_failed)

    # ------------------------------------------------------------------ model and scene
    @staticmethod
    def prepare(model: Model | None, graph: Graph | None = None,
                expanded: frozenset[tuple[str, ...]] | None = None,
                options: SceneOptions | None = None) -> SceneData:
        """The pure half of `set_model`, safe to run in a worker thread."""
        return prepare_scene(model, graph, expanded, options)

    def set_model(self, model: Model | None, graph: Graph | None = None) -> None:
        """Show `model` (its main graph unless `graph` is given); None clears the view.

        Synchronous at any size (tests, `render`); the app uses `set_model_async` or hands a
        scene prepared in its load worker to `show_scene`."""
        self._open(model, graph, background=False)

    def set_model_async(self, model: Model | None, graph: Graph | None = None) -> None:
        """Like `set_model`, but a big graph is laid out in a worker (`layout_finished` says
        when it is shown); small graphs are still shown before this returns."""
        self._open(model, graph, background=None)

    def _open(self, model: Model | None, graph: Graph | None, background: bool | None) -> None:
        self._scenes.cancel()
        self._model = model
        if model is None:
            self._stack = []
            self._data = None
            self.update()
            return
        graph = graph or model.graph
        self._stack = [(graph, graph.name or Path(model.path).stem or "graph")]
        self._expanded = None
        self._data = None
        self._request(None, Request(graph, fit=True), background)
        self.breadcrumbs_changed.emit(self.breadcrumbs())

    def show_scene(self, data: SceneData, model: Model | None = None) -> None:
        """Display a prepared scene (GUI thread) and fit it in the window; `model` is the
        model it belongs to, when the scene was prepared together with its loading."""
        self._scenes.cancel()
        if model is not None:
            self._model = model
            self._stack = [(data.graph, data.graph.name or Path(model.path).stem or "graph")]
        elif not self._stack or self._stack[-1][0] is not data.graph:
            self._stack = [(data.graph, data.graph.name or "graph")]
        self._apply(data, Request(data.graph, fit=True))
        if model is not None:
            self.breadcrumbs_changed.emit(self.breadcrumbs())

    @property
    def busy(self) -> bool:
        """True while a layout is being prepared in the background."""
        return self._scenes.busy

    def cancel_layout(self) -> None:
        """Stop a background layout; the scene shown stays."""
        self._scenes.cancel()

    def options(self) -> SceneOptions:
        """The options scenes are prepared with (to prepare one elsewhere, e.g. a load job)."""
        return self._options

    def _install(self, data: SceneData) -> None:
        self._data = data
        self._expanded = data.expanded
        self.painter.set_scene(data)
        self._nav = Navigator(data)
        self._selected = self._selected_edge = None
        self._recolor()
        self._apply_highlight()

    def _relayout(self, expanded: frozenset[tuple[str, ...]] | None, keep: str | None = None,
                  select: bool = False, fit: bool = False) -> None:
        """Re-prepare the shown graph with new groups or options: at once for small graphs,
        in the background for big ones; the view stays centred (or on `keep`)."""
        if self._data is None and not self._stack:
            return
        center = None if fit or self._data is None else self._world_center()
        self._request(expanded, Request(self._stack[-1][0], keep, select, center, fit))

    def _request(self, expanded: frozenset[tuple[str, ...]] | None, req: Request,
                 background: bool | None = None) -> None:
        self._expanded = expanded  # further toggles build on the newest request
        data = self._scenes.request(self._model, req.graph, expanded, self._options, req,
                                    background)
        if data is not None:
            self._apply(data, req)

    def _apply(self, data: SceneData, req: Request) -> None:
        """Install a prepared scene unless the user has since moved to another graph."""
        if not self._stack or self._stack[-1][0] is not req.graph:
            return
        self._install(data)
        i = data.index_of_node.get(req.keep) if req.keep is not None else None
        if req.fit:
            self.fit_readable()
        elif i is not None and not req.select:
            self._selected = i
            self.center_on(*self._item_center(i))
        elif req.center is not None:
            self.center_on(*req.center)
        self._bump()
        self.layout_finished.emit()
        if i is not None and req.select:
            self.select_index(i, center=True)

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

        new = replace(self._options, **changes)  # type: ignore[arg-type]
        if new == self._options:
            return  # the window re-applies its options after every load: nothing to redo
        fit = new.direction != self._options.direction
        self._options = new
        self._relayout(self._expanded, fit=fit)

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
            self._relayout(all_groups(self._stack[-1][0]), fit=True)

    def collapse_all(self) -> None:
        """Collapse every group to a single box, fitted in the view: kept on the old centre,
        the much smaller graph ended at the right edge, under the minimap."""
        self._relayout(frozenset(), fit=True)

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
        self._relayout(None, fit=True)
        self.breadcrumbs_changed.emit(self.breadcrumbs())

    def leave_subgraph(self) -> None:
        """Go back to the graph that owns the current subgraph."""
        if len(self._stack) <= 1:
            return
        self._stack.pop()
        self._relayout(None, fit=True)
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

    def fit_readable(self) -> None:
        """The first view of a graph: all of it if its text stays readable, else 100% zoom on
        its top (the inputs), as Netron opens a model; Ctrl+0 still fits everything."""
        self.fit()
        if self._data is None or self._scale >= READABLE_SCALE:
            return
        x0, y0, x1, y1 = self._data.bounds
        self._scale = 1.0
        rects = self._data.rects
        axis = 0 if self._options.direction == "LR" else 1
        if len(rects):
            # the topmost (or leftmost) item: where the data enters
            first = int(np.argmin(rects[:, axis]))
            cx = float(rects[first, 0] + rects[first, 2]) / 2
            cy = float(rects[first, 1] + rects[first, 3]) / 2
        else:
            cx, cy = (x0 + x1) / 2, y0
        # across the flow, a graph that fits is centred as a whole (on its first item, a
        # collapsed graph sat off to one side); a wider one starts at that item
        if axis == 1:
            if x1 - x0 <= self.width() - 40:
                cx = (x0 + x1) / 2
            self.center_on(cx, y0 - 20 + self.height() / 2)
        else:
            if y1 - y0 <= self.height() - 40:
                cy = (y0 + y1) / 2
            self.center_on(x0 - 20 + self.width() / 2, cy)

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
            self._relayout(frozenset(exp), keep=name, select=True)
            # a big graph selects `name` when its new layout arrives; a small one already did
            return self._scenes.busy or self._data.index_of_node.get(name) is not None
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
        graph = self._data.graph
        names = Navigator.lineage(graph, name, direction)
        # The model's inputs feed the ancestors (its outputs come from the descendants): they
        # are part of the trace and stay lit, named by value as their items are.
        ends = set(graph.inputs if direction == "ancestors" else graph.outputs)
        side = "inputs" if direction == "ancestors" else "outputs"
        touched = {v for n in names for v in getattr(graph.node(n), side) if v in ends}
        self.highlight(names | touched)
        return names

    def _apply_highlight(self) -> None:
        data = self._data
        if data is None or self._highlight is None:
            self._dimmed = None
            return
        self._dimmed = dimmed_items(data, self._highlight)

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
        self._colors = item_colors(self._data, self._color_names)

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
        self.painter.labels_pending = False  # a far paint draws no labels: none pending
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
                mini = self._mini_overview
                mini.ensure(data, self.painter, state, (id(data), self._state_version))
                self.minimap.layout(w, h, mini.bounds)
                self.minimap.paint(p, mini, world, pal.frame_border, pal.selection,
                                   pal.overlay_fill)
            if self._legend:
                overlays.legend(p, self._legend, h, pal)
            if len(self._stack) > 1:
                overlays.breadcrumbs(p, self.breadcrumbs(), pal)

    def paintEvent(self, event: object) -> None:  # noqa: N802 - Qt override
        """Draw the visible part of the graph."""
        p = QPainter(self)
        self.paint_viewport(p, self.width(), self.height())
        p.end()
        if self.painter.labels_pending:
            QTimer.singleShot(0, self.update)
        elif self._data is not None and not self._first_paint_done:
            self._first_paint_done = True
            _record_first_paint()
            self.first_painted.emit()

    def resizeEvent(self, event: object) -> None:  # noqa: N802 - Qt override
        """Keep the graph fitted while the widget has not been used yet."""
        super().resizeEvent(event)  # type: ignore[arg-type]
        self.view_changed.emit()

    def render_image(self, w: int, h: int) -> QImage:
        """The current viewport rendered into a new w x h image."""
        img = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
        p = QPainter(img)
        budget, self.painter.label_budget = self.painter.label_budget, None  # complete picture
        try:
            self.paint_viewport(p, w, h)
        finally:
            self.painter.label_budget = budget
            p.end()
        return img

    # ------------------------------------------------------------------ export
    def export_png(self, path: str | Path, scale: float = 1.0) -> Path:
        """Write the whole graph at full detail as a PNG (scaled down when huge)."""
        from inspector.ui.graph.export import export_png

        export_png(self._data, path, scale, self._state())
        return Path(path)

    def export_svg(self, path: str | Path) -> Path:
        """Write the whole graph at full detail as an SVG."""
        from inspector.ui.graph.export import export_svg

        return export_svg(self._data, path, self._state())
