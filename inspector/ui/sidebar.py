"""The properties sidebar: what the selected node, edge or model is, with links to follow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QUrl, Signal
from PySide6.QtWidgets import QFileDialog, QTextBrowser, QVBoxLayout, QWidget

from inspector.ir import Graph, Model, Node
from inspector.ui.properties_html import model_html, node_html, value_html


def _op_doc(node: Node, model: Model | None) -> dict | None:
    if model is None or model.format != "onnx":
        return None
    try:
        from inspector.loaders.onnx_docs import op_doc
    except ImportError:
        return None
    opset = (model.opsets or {}).get(node.domain or "ai.onnx")
    try:
        return op_doc(node.op_type, node.domain, opset)
    except Exception:  # noqa: BLE001 - documentation is a nicety, never fatal
        return None


class PropertiesPanel(QWidget):
    """Shows a node, a value or the model; emits where the user's links lead."""

    node_requested = Signal(str)
    value_requested = Signal(str)
    subgraph_requested = Signal(str, str)
    weight_exported = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.browser = QTextBrowser(self)
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._on_link)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.browser)
        self._model: Model | None = None
        self._graph: Graph | None = None
        self._node: Node | None = None
        self._html = ""

    def _set_html(self, html: str) -> None:
        self._html = html
        self.browser.setHtml(html)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        """Lay the page out again on a theme change: a QTextDocument fixes its link colour
        when the HTML is set, so links already shown stayed dark blue on the dark theme."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self._html:
            bar = self.browser.verticalScrollBar().value()
            self.browser.setHtml(self._html)
            self.browser.verticalScrollBar().setValue(bar)

    def show_model(self, model: Model, graph: Graph | None = None) -> None:
        """Show the model's own properties."""
        self._model, self._graph, self._node = model, graph or model.graph, None
        self._set_html(model_html(model))

    def clear(self) -> None:
        """Describe nothing (the model's tab was closed, or no model tab is in front)."""
        self._model = self._graph = self._node = None
        self.browser.setHtml("<p style='color:#777'>No model open.</p>")

    def show_node(self, node: Node | None) -> None:
        """Show a node (None shows the model again)."""
        if node is None:
            if self._model is not None:
                self.show_model(self._model, self._graph)
            return
        self._node = node
        self._set_html(node_html(node, self._graph or self._model.graph, _op_doc(node, self._model)))

    def show_value(self, name: str) -> None:
        """Show an edge's value with its producer and consumers."""
        if self._graph is not None:
            self._node = None
            self._set_html(value_html(name, self._graph))

    def set_graph(self, graph: Graph) -> None:
        """The graph links resolve in (changes when entering a subgraph)."""
        self._graph = graph

    def html(self) -> str:
        """The plain text shown (for tests)."""
        return self.browser.toPlainText()

    def export_weight(self, weight_name: str, path: str | Path) -> None:
        """Write the selected node's weight `weight_name` to an .npy file."""
        if self._node is None:
            return
        w = self._node.weight(weight_name)
        if w is not None:
            np.save(str(path), w.tensor.numpy())
            self.weight_exported.emit(str(path))

    def _on_link(self, url: QUrl) -> None:
        kind, _, arg = url.toString().partition(":")
        if kind == "node":
            self.node_requested.emit(arg)
        elif kind == "value":
            self.value_requested.emit(arg)
        elif kind == "subgraph" and self._node is not None:
            self.subgraph_requested.emit(self._node.name, arg)
        elif kind == "export" and self._node is not None:
            safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in f"{self._node.name}_{arg}")
            path, _ = QFileDialog.getSaveFileName(self, "Export weight", f"{safe}.npy", "NumPy (*.npy)")
            if path:
                self.export_weight(arg, path)
        elif kind == "stats" and self._node is not None:
            self._show_full_stats(arg)

    def _show_full_stats(self, weight_name: str) -> None:
        w = self._node.weight(weight_name) if self._node else None
        if w is None:
            return
        a = np.asarray(w.tensor.numpy(), dtype=np.float64)
        zeros = np.count_nonzero(a == 0) / max(a.size, 1)
        self.browser.append(
            f"<p><b>{weight_name}</b>: min {a.min():.6g}, max {a.max():.6g}, mean {a.mean():.6g}, "
            f"std {a.std():.6g}, sparsity {zeros:.4g}</p>"
        )
