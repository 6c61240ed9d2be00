"""The gradients panel: how the error flows backward after a backpropagation.

Left, the L2 norm of d loss / d output of every node as bars in graph order (the input side
on the left, the output on the right, so one reads the error flowing leftward); middle, the
selected node's output gradient drawn like an activation; right, the saliency of the input.
A line on top says which loss, target and output were used and which ops passed no gradient.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QSplitter, QWidget

from inspector.ir import Graph, Node
from inspector.ui.panels._common import ElidedLabel, Panel, make_plot
from inspector.ui.panels.activations import ActivationPanel
from inspector.ui.panels.saliency import SaliencyPanel

#: Node names are shortened to this many characters under the bars.
MAX_TICK_CHARS = 14


class GradientValuePanel(ActivationPanel):
    """A node's output gradient, drawn as the activation panel draws values."""

    TITLE = "d loss / d output"

    def set_activation(self, node: Node | None, name: str, array: np.ndarray,
                       layout: str | None = None) -> None:
        """Draw the gradient `array` at `node`'s output `name`."""
        super().set_activation(node, name, array, layout)
        if self.kind == "bars":
            self.plot.setLabel("left", "gradient")

    def _draw_stats(self, node: Node | None, a: np.ndarray) -> None:
        # Dead/saturated counts describe activations, not gradients: leave the node out.
        super()._draw_stats(None, a)


def norms_in_order(graph: Graph, norms: Mapping[str, float]) -> list[tuple[str, float]]:
    """(node name, norm) for the nodes of `graph` that have a norm, in graph order."""
    return [(n.name, float(norms[n.name])) for n in graph.nodes if n.name in norms]


def summary_text(result: Any) -> str:
    """One line on the loss, target, output and uncovered ops of a GradientResult."""
    target = "argmax" if result.target is None else str(result.target)
    loss_name = {"ce": "cross-entropy", "mse": "mean squared error"}.get(result.loss_kind,
                                                                       result.loss_kind)
    text = (f"loss {result.loss:.4g} ({loss_name}) on output '{result.output_name}', "
            f"target {target}")
    red = getattr(result, "reduction", None) or {}
    if red:
        logits = red.get("from_logits")
        on = "" if logits is None else (" on logits" if logits else " on probabilities")
        text += f". Reduction: {red['formula']}{on}, as {red['keras']}"
    if result.uncovered:
        items = list(result.uncovered.items())
        shown = "; ".join(f"{k}: {v}" for k, v in items[:3])
        more = f" and {len(items) - 3} more" if len(items) > 3 else ""
        text += f". No gradient through {len(items)} op(s): {shown}{more}"
    return text


class GradientsPanel(Panel):
    """Per-layer gradient norms, the selected node's gradient and the input's saliency."""

    TITLE = "Gradients"
    node_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: Any = None
        self.order: list[tuple[str, float]] = []
        # One line, shortened to the row (the whole line in its tooltip): wrapped, it took
        # two rows of a 1200x800 first-run dock and the page scrolled.
        self.summary = ElidedLabel("", self)
        self.log_box = QCheckBox("log scale", self)
        self.log_box.setChecked(True)
        self.log_box.toggled.connect(lambda _b: self._draw_norms())
        # The loss line sits in the title row: a row more of plots.
        self.header.addWidget(self.summary, 1)
        self.header.addWidget(self.log_box)

        self.norm_plot = make_plot(self, x_label="node (graph order; output on the right)",
                                   y_label="gradient norm")
        item = self.norm_plot.getPlotItem()
        for side in ("left", "bottom"):
            # Its ticks are our own (node names, "1e-3" decades): an SI factor such as
            # "(x0.001)" appended to the label would contradict them.
            item.getAxis(side).enableAutoSIPrefix(False)
        item.setTitle("◀ error flows backward", color="#7a4a00", size="9pt")
        self.norm_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#d62728", pen=None)
        self.selected_bar = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#ff7f0e",
                                            pen=pg.mkPen("#222", width=1.5))
        item.addItem(self.norm_bars)
        item.addItem(self.selected_bar)
        self.norm_plot.scene().sigMouseClicked.connect(self._clicked)
        self.norm_plot.setMinimumWidth(200)  # the splitter otherwise gives it a sliver
        self.value_panel = GradientValuePanel(self)
        self.saliency = SaliencyPanel(self)
        for part in (self.value_panel, self.saliency):
            part.set_nested()
        split = QSplitter(Qt.Orientation.Horizontal, self)
        for w in (self.norm_plot, self.value_panel, self.saliency):
            split.addWidget(w)
        # The node's gradient has three parts (map, histogram, statistics) to the saliency's
        # one: in a short dock they sit in a row, and it gets the most width.
        # The saliency picture is height-bound (its aspect is locked): it gets the width its
        # title row and a square picture need, no less.
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 4)
        split.setStretchFactor(2, 3)
        split.setSizes([300, 480, 330])
        self._layout.addWidget(split, 1)
        self.clear()

    # ------------------------------------------------------------------ public API

    def set_result(self, result: Any, graph: Graph) -> None:
        """Show a GradientResult for `graph` (None: say how to get one)."""
        self.result = result
        if result is None:
            self.clear()
            return
        self.order = norms_in_order(graph, result.norms)
        self.set_subject(f"{len(self.order)} nodes")
        self.summary.setText(summary_text(result))
        self._draw_norms()

    def norm_values(self) -> list[tuple[str, float]]:
        """The (node, norm) pairs drawn, left to right."""
        return list(self.order)

    def show_node(self, node: Node | None, key: str | None, layout: str | None = None) -> None:
        """Show the gradient at `node`'s output (`key` in the result's values) and mark its bar."""
        values = self.result.values if self.result is not None else {}
        names = [n for n, _ in self.order]
        if node is not None and node.name in names:
            i = names.index(node.name)
            self.selected_bar.setOpts(x=[i], height=[self._heights()[i]])
        else:
            self.selected_bar.setOpts(x=[], height=[])
        if node is None or key is None or key not in values:
            self.value_panel.clear()
            if node is not None and self.result is not None:
                why = self.result.uncovered.get(node.name, "no gradient was computed here")
                self.value_panel.stats_label.setText(f"{node.name}: {why}")
            return
        self.value_panel.set_activation(node, key, values[key], layout)

    def set_saliency(self, name: str, x: np.ndarray, hint: str | None = None,
                     feature_names: list[str] | None = None) -> None:
        """Draw |d loss / d input| for input `name` over `x`, if the result has it."""
        grads = self.result.values if self.result is not None else {}
        if name in grads and np.shape(grads[name]) == np.shape(x):
            self.saliency.set_saliency(name, x, grads[name], hint, feature_names)
        else:
            self.saliency.clear()

    def clear(self) -> None:
        """Show nothing but how to get gradients."""
        super().clear()
        self.result, self.order = None, []
        self.norm_bars.setOpts(x=[], height=[])
        self.selected_bar.setOpts(x=[], height=[])
        self.value_panel.clear()
        self.saliency.clear()
        self.summary.setText("Press Backprop (Ctrl+B) to compute the gradient of the loss at "
                             "every layer for the current input.")

    # ------------------------------------------------------------------ drawing

    def _heights(self) -> np.ndarray:
        v = np.array([n for _, n in self.order], dtype=np.float64)
        if not self.log_box.isChecked() or not v.size:
            return v
        # Bars grow up from the smallest non-zero norm's decade: zero norms (dead ReLU) stay 0.
        positive = v[v > 0]
        floor = np.floor(np.log10(positive.min())) - 0.5 if positive.size else 0.0
        return np.where(v > 0, np.log10(np.maximum(v, 1e-300)) - floor, 0.0)

    def _draw_norms(self) -> None:
        item = self.norm_plot.getPlotItem()
        heights = self._heights()
        x = np.arange(len(self.order), dtype=np.float64)
        self.norm_bars.setOpts(x=x, height=heights, width=0.8)
        left = item.getAxis("left")
        if self.log_box.isChecked() and heights.size:
            v = np.array([n for _, n in self.order])
            positive = v[v > 0]
            floor = np.floor(np.log10(positive.min())) - 0.5 if positive.size else 0.0
            top = int(np.ceil(heights.max() + floor)) if heights.size else 0
            ticks = [(d - floor, f"1e{d}") for d in range(int(np.ceil(floor)), top + 1)]
            left.setTicks([ticks])
        else:
            left.setTicks(None)
        room = max(2, max(self.norm_plot.width(), 300) // 75)  # ~75 px per name: no overlap
        step = max(1, -(-len(self.order) // room))
        item.getAxis("bottom").setTicks([[(i, _short(n)) for i, (n, _) in enumerate(self.order)
                                          if i % step == 0 or i == len(self.order) - 1]])
        top = float(heights.max()) if heights.size and heights.max() > 0 else 1.0
        item.setRange(xRange=(-0.5, max(len(self.order), 1) - 0.5), yRange=(0, top),
                      padding=0.03)
        self.selected_bar.setOpts(x=[], height=[])

    def _clicked(self, event: Any) -> None:
        if not self.order:
            return
        vb = self.norm_plot.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        i = int(round(vb.mapSceneToView(event.scenePos()).x()))
        if 0 <= i < len(self.order):
            self.node_clicked.emit(self.order[i][0])


def _short(name: str) -> str:
    tail = name.rsplit("/", 1)[-1]
    return tail if len(tail) <= MAX_TICK_CHARS else tail[:MAX_TICK_CHARS - 1] + "…"
