"""The neuron view: a small dense network drawn unit by unit, as TensorFlow Playground
draws it: circles shaded by this input's activation, weights as lines coloured by sign
(blue positive, orange negative) and thickened by |w|. Layers too big to read collapse
to a summary box. Calling `set_network` again with the same shapes restyles the existing
items instead of rebuilding them, so edits to the input update live."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsRectItem, QWidget

from inspector.ui.panels._common import Panel, text_color
from inspector.ui.panels.colormaps import NEGATIVE_RGB, POSITIVE_RGB, signed_rgb

#: A layer with more units than this is drawn as a summary box.
MAX_UNITS = 256
#: Edge widths are quantized to this many levels so a layer is drawn by 2 x LEVELS items.
LEVELS = 8
MIN_WIDTH, MAX_WIDTH = 0.5, 5.0
UNIT_SIZE = 0.6

Layer = tuple[str, "np.ndarray | None", "np.ndarray | None", "np.ndarray | None"]


def edge_levels(w: np.ndarray) -> np.ndarray:
    """Width level 1..LEVELS of each weight, by |w| relative to the layer's largest |w|."""
    m = float(np.abs(w).max()) if w.size else 0.0
    if m == 0:
        return np.ones(w.shape, dtype=np.int64)
    return np.clip(np.ceil(np.abs(w) / m * LEVELS), 1, LEVELS).astype(np.int64)


def level_width(level: int) -> float:
    """Pen width (pixels) of a width level."""
    return MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * level / LEVELS


class NeuronView(Panel):
    """Units and weights of a small dense network for one input."""

    TITLE = "Neurons"

    def __init__(self, parent: QWidget | None = None, max_units: int = MAX_UNITS) -> None:
        super().__init__(parent)
        self.max_units = max_units
        self.rebuilds = 0
        self._signature: tuple | None = None
        self._layers: list[Layer] = []
        self._sizes: list[int] = []
        self._collapsed: list[bool] = []
        self._x: list[float] = []
        self._units: list[pg.ScatterPlotItem | None] = []
        self._boxes: list[tuple[QGraphicsRectItem, pg.TextItem] | None] = []
        self._edges: dict[tuple[int, int, int], pg.PlotCurveItem] = {}
        self._tips: list[list[str]] = []
        self.view = pg.GraphicsLayoutWidget(self)
        self.view.setBackground("w")
        # Aspect unlocked and units sized in pixels: the network fills the (wide, short) dock
        # instead of sitting small in its middle.
        self.box = self.view.addViewBox(invertY=True, lockAspect=False)
        self.box.setMenuEnabled(False)
        self.box.sigResized.connect(self._resize_units)
        self._layout.addWidget(self.view, 1)

    # ------------------------------------------------------------------ public API

    def set_network(self, layers: Sequence[Layer]) -> None:
        """Draw `layers`: (name, weights (in x out) or None, bias or None, activations 1-D).

        The first layer is usually the input (no weights). Weights of layer k connect the
        units of layer k-1 to those of layer k.
        """
        layers = [(n, _arr(w), _flat(b), _flat(a)) for n, w, b, a in layers]
        sizes = [_size(w, a) for _, w, _, a in layers]
        for k, (name, w, _, _) in enumerate(layers):
            if w is not None and (w.ndim != 2 or k == 0 or w.shape != (sizes[k - 1], sizes[k])):
                raise ValueError(f"layer {name}: weights {None if w is None else w.shape} do "
                                 f"not connect {sizes[k - 1] if k else 0} to {sizes[k]} units")
        collapsed = [n > self.max_units for n in sizes]
        signature = (tuple(sizes), tuple(collapsed), tuple(w is not None for _, w, _, _ in layers))
        self._layers, self._sizes, self._collapsed = layers, sizes, collapsed
        rebuilt = signature != self._signature
        if rebuilt:
            self._build()
            self._signature = signature
        self._restyle()
        if rebuilt:
            self._frame()  # only now do the items have data to frame
        names = [n for n, *_ in layers]
        self.set_subject(" -> ".join(names) if len(names) <= 6 else f"{len(names)} layers")
        big = [n for n, c in zip(names, collapsed, strict=True) if c]
        self.set_notes([f"more than {self.max_units} units, shown as a summary: "
                        + ", ".join(big)] if big else [])

    def edge_styles(self) -> list[tuple[int, int, int, tuple[int, int, int], float]]:
        """(layer, i, j, rgb, width) of every drawn edge: unit i of layer-1 to unit j."""
        out = []
        for k, (_, w, _, _) in enumerate(self._layers):
            if w is None or self._collapsed[k] or self._collapsed[k - 1]:
                continue
            levels = edge_levels(w)
            for i in range(w.shape[0]):
                for j in range(w.shape[1]):
                    rgb = POSITIVE_RGB if w[i, j] >= 0 else NEGATIVE_RGB
                    out.append((k, i, j, rgb, level_width(int(levels[i, j]))))
        return out

    def unit_tooltip(self, layer: int, unit: int) -> str:
        """The hover text of a unit."""
        return self._tips[layer][unit]

    def unit_colors(self, layer: int) -> np.ndarray:
        """The fill colour (N x 3 uint8) of each unit of `layer` as drawn."""
        item = self._units[layer]
        if item is None:
            return np.zeros((0, 3), np.uint8)
        brushes = item.data["brush"]
        return np.array([b.color().getRgb()[:3] for b in brushes], dtype=np.uint8)

    def unit_pixels(self) -> float:
        """The diameter of a unit in pixels: the tallest layer fills the panel's height."""
        shown = [n for n, c in zip(self._sizes, self._collapsed, strict=True) if not c] or [1]
        height = self.box.height() if self.box.height() > 0 else 200.0
        return float(np.clip(0.6 * height / (max(shown) + 2.5), 6.0, 30.0))

    def _frame(self) -> None:
        if not self._x:
            return
        shown = [n for n, c in zip(self._sizes, self._collapsed, strict=True) if not c] or [1]
        half = max(max(shown) / 2, 3.2)
        pad = 1.7 if any(self._collapsed) else 0.8  # summary boxes are 3 wide
        self.box.setRange(xRange=(self._x[0] - pad, self._x[-1] + pad),
                          yRange=(-half - 1.6, half + 0.4), padding=0.02)

    def _resize_units(self) -> None:
        size = self.unit_pixels()
        for item in self._units:
            if item is not None:
                item.setSize(size)

    def clear(self) -> None:
        """Draw nothing."""
        super().clear()
        self.box.clear()
        self._signature = None
        self._layers, self._units, self._boxes, self._edges, self._tips = [], [], [], {}, []

    # ------------------------------------------------------------------ drawing

    def _build(self) -> None:
        self.rebuilds += 1
        self.box.clear()
        self._units, self._boxes, self._edges = [], [], {}
        # With the aspect unlocked the gap only sets proportions: layers spread evenly.
        self._x = [float(k) * 4.0 for k in range(len(self._layers))]
        for k, (name, w, _, _) in enumerate(self._layers):
            if w is not None and not self._collapsed[k] and not self._collapsed[k - 1]:
                for sign in (0, 1):
                    for level in range(1, LEVELS + 1):
                        rgb = POSITIVE_RGB if sign == 0 else NEGATIVE_RGB
                        alpha = int(70 + 185 * level / LEVELS)
                        pen = pg.mkPen((*rgb, alpha), width=level_width(level))
                        item = pg.PlotCurveItem(connect="pairs", pen=pen)
                        item.setZValue(-1)
                        self.box.addItem(item)
                        self._edges[(k, sign, level)] = item
            n = self._sizes[k]
            top = -(min(n, self.max_units) - 1) / 2 - 1.2
            label = pg.TextItem(name, color=text_color(), anchor=(0.5, 1.0))
            label.setPos(self._x[k], top)
            self.box.addItem(label)
            if self._collapsed[k]:
                rect = QGraphicsRectItem(self._x[k] - 1.5, -3, 3, 6)
                rect.setPen(pg.mkPen("#555"))
                rect.setBrush(pg.mkBrush(235, 235, 235))
                text = pg.TextItem("", color="#222", anchor=(0.5, 0.5))
                text.setPos(self._x[k], 0)
                self.box.addItem(rect)
                self.box.addItem(text)
                label.setPos(self._x[k], -3.2)
                self._units.append(None)
                self._boxes.append((rect, text))
            else:
                item = pg.ScatterPlotItem(pxMode=True, size=self.unit_pixels(), hoverable=True,
                                          tip=lambda x, y, data: data,
                                          pen=pg.mkPen("#444", width=1))
                self.box.addItem(item)
                self._units.append(item)
                self._boxes.append(None)

    def _unit_y(self, n: int) -> np.ndarray:
        return np.arange(n, dtype=np.float64) - (n - 1) / 2

    def _restyle(self) -> None:
        self._tips = []
        for k, (name, w, b, a) in enumerate(self._layers):
            n = self._sizes[k]
            acts = a if a is not None else np.full(n, np.nan)
            tips = [f"{name}[{i}] = {v:.4g}" + ("" if b is None else f"  (bias {b[i]:.4g})")
                    for i, v in enumerate(acts)]
            self._tips.append(tips)
            if self._collapsed[k]:
                _, text = self._boxes[k]
                finite = acts[np.isfinite(acts)]
                stats = (f"\nmean {finite.mean():.3g}\nmax {finite.max():.3g}"
                         if finite.size else "")
                text.setText(f"{n} units{stats}")
                continue
            finite = acts[np.isfinite(acts)]
            scale = float(np.abs(finite).max()) if finite.size else 0.0
            rgb = signed_rgb(np.nan_to_num(acts), scale)
            brushes = [pg.mkBrush(*c) for c in rgb]
            ys = self._unit_y(n)
            self._units[k].setData(x=np.full(n, self._x[k]), y=ys, brush=brushes, data=tips)
            if w is None or self._collapsed[k - 1]:
                continue
            levels = edge_levels(w)
            y_in = self._unit_y(w.shape[0])
            for sign in (0, 1):
                mask_sign = (w >= 0) if sign == 0 else (w < 0)
                for level in range(1, LEVELS + 1):
                    ii, jj = np.nonzero(mask_sign & (levels == level))
                    xs = np.empty(2 * ii.size)
                    ys2 = np.empty(2 * ii.size)
                    xs[0::2], xs[1::2] = self._x[k - 1], self._x[k]
                    ys2[0::2], ys2[1::2] = y_in[ii], ys[jj]
                    self._edges[(k, sign, level)].setData(xs, ys2, connect="pairs")


def _arr(x: np.ndarray | None) -> np.ndarray | None:
    return None if x is None else np.asarray(x, dtype=np.float64)


def _flat(x: np.ndarray | None) -> np.ndarray | None:
    # Activations arrive with a batch dim of 1 from the runtime: (1, n) -> (n,).
    return None if x is None else np.asarray(x, dtype=np.float64).reshape(-1)


def _size(w: np.ndarray | None, a: np.ndarray | None) -> int:
    if a is not None:
        return int(a.reshape(-1).size)
    if w is not None and w.ndim == 2:
        return int(w.shape[1])
    return 0
