"""Find (Ctrl+F): search nodes by name, op type or regular expression; trace a node's lineage."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from inspector.ir import Graph
from inspector.ir.search import BadPattern, ancestors, descendants, find_nodes


class FindPanel(QWidget):
    """A search box with a result list; picking a result emits `node_chosen(name)`.

    `matches_changed(set[str] | None)` lets the graph dim what does not match.
    """

    node_chosen = Signal(str)
    matches_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.query = QLineEdit(self)
        self.query.setPlaceholderText("Find by name, op type or output (Ctrl+F)")
        self.query.setClearButtonEnabled(True)
        self.regex = QCheckBox("regex", self)
        self.results = QListWidget(self)
        self.status = QLabel(self)
        self.up = QPushButton("Ancestors", self)
        self.down = QPushButton("Descendants", self)
        self.clear_trace = QPushButton("Clear", self)
        for b in (self.up, self.down, self.clear_trace):
            b.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(self.query, 1)
        top.addWidget(self.regex)
        trace = QHBoxLayout()
        trace.addWidget(QLabel("Trace:", self))
        trace.addWidget(self.up)
        trace.addWidget(self.down)
        trace.addWidget(self.clear_trace)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.results, 1)
        lay.addWidget(self.status)
        lay.addLayout(trace)
        self._graph: Graph | None = None
        self._selected: str | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)  # search as you type, once typing pauses
        self._timer.timeout.connect(self.search)
        self.query.textChanged.connect(lambda _t: self._timer.start())
        self.query.returnPressed.connect(self._jump_first)
        self.regex.toggled.connect(lambda _b: self.search())
        self.results.itemActivated.connect(self._chosen)
        self.results.itemClicked.connect(self._chosen)
        self.up.clicked.connect(lambda: self.trace("ancestors"))
        self.down.clicked.connect(lambda: self.trace("descendants"))
        self.clear_trace.clicked.connect(lambda: self.matches_changed.emit(None))

    def set_graph(self, graph: Graph | None) -> None:
        """Search this graph from now on."""
        self._graph = graph
        self.results.clear()
        self.status.clear()

    def set_selected(self, name: str | None) -> None:
        """The node the trace buttons start from."""
        self._selected = name
        for b in (self.up, self.down, self.clear_trace):
            b.setEnabled(name is not None)

    def focus(self) -> None:
        """Put the cursor in the search box, text selected."""
        self.query.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.query.selectAll()

    def search(self) -> list[str]:
        """Run the query now; returns the matching node names."""
        self._timer.stop()
        self.results.clear()
        if self._graph is None:
            return []
        text = self.query.text()
        try:
            nodes = find_nodes(self._graph, text, regex=self.regex.isChecked())
        except BadPattern as e:
            self.status.setText(str(e))
            return []
        for node in nodes[:2000]:
            item = QListWidgetItem(f"{node.op_type}  {node.name}")
            item.setData(Qt.ItemDataRole.UserRole, node.name)
            self.results.addItem(item)
        names = [n.name for n in nodes]
        self.status.setText(f"{len(names)} found" + (" (first 2000 listed)" if len(names) > 2000 else ""))
        self.matches_changed.emit(set(names) if text.strip() else None)
        return names

    def trace(self, direction: str) -> set[str]:
        """Highlight the selected node with its ancestors or descendants."""
        if self._graph is None or self._selected is None:
            return set()
        walk = ancestors if direction == "ancestors" else descendants
        names = walk(self._graph, self._selected) | {self._selected}
        self.status.setText(f"{len(names) - 1} {direction} of {self._selected}")
        self.matches_changed.emit(names)
        return names

    def _jump_first(self) -> None:
        self.search()
        if self.results.count():
            self._chosen(self.results.item(0))

    def _chosen(self, item: QListWidgetItem) -> None:
        self.node_chosen.emit(item.data(Qt.ItemDataRole.UserRole))
