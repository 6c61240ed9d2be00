"""The sample gallery: the first tab, listing the bundled sample models to open."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from inspector.samples_dir import sample_entries


class SampleGallery(QWidget):
    """Double-click (or Enter on) a sample to open it: `file_chosen(path)`."""

    file_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel(
            "<h2>Model Inspector</h2><p>Open an ONNX (.onnx) or Keras (.keras, .h5) file with "
            "Ctrl+O, drop it on this window, or pick a sample below.</p>",
            self,
        )
        title.setWordWrap(True)
        self.list = QListWidget(self)
        for e in sample_entries():
            desc = e.get("description") or e.get("task") or ""
            item = QListWidgetItem(f"{e['file']}    {e.get('format', '')}    {desc}")
            item.setData(Qt.ItemDataRole.UserRole, e["path"])
            item.setToolTip(e["path"])
            self.list.addItem(item)
        if self.list.count() == 0:
            self.list.addItem("No samples are installed with this copy.")
        self.list.itemActivated.connect(self._open)
        self.list.itemDoubleClicked.connect(self._open)
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addWidget(self.list, 1)

    def paths(self) -> list[str]:
        """The sample paths listed."""
        out = []
        for i in range(self.list.count()):
            p = self.list.item(i).data(Qt.ItemDataRole.UserRole)
            if p:
                out.append(p)
        return out

    def _open(self, item: QListWidgetItem) -> None:
        path = item.data(Qt.ItemDataRole.UserRole)
        if path:
            self.file_chosen.emit(path)
