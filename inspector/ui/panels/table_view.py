"""A class -> probability table for outputs that are not one tensor (scikit-learn's ZipMap).

Hook: when a run's `ActivationResult.structured` holds the selected output, call
`ClassTableView.set_value(result.structured[name])`; rows come from
`inspector.runtime.structured_values.class_table`, so the same call also takes a map or a
probability array.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from inspector.runtime.structured_values import class_table


class ClassTableView(QTableWidget):
    """Two columns, class and probability, most probable first."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 2, parent)
        self.setHorizontalHeaderLabels(["class", "probability"])
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self._rows: list[tuple[str, float]] = []

    def set_value(self, value: Any, sample: int = 0) -> list[tuple[str, float]]:
        """Show one sample of `value` (ZipMap sequence, map or array); return the rows."""
        self.set_rows(class_table(value, sample))
        return self._rows

    def set_rows(self, rows: list[tuple[str, float]]) -> None:
        """Show (label, probability) rows as given."""
        self._rows = list(rows)
        self.setRowCount(len(self._rows))
        for r, (label, p) in enumerate(self._rows):
            self.setItem(r, 0, QTableWidgetItem(label))
            item = QTableWidgetItem(f"{p:.4f}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.setItem(r, 1, item)

    def rows(self) -> list[tuple[str, float]]:
        """The rows on show."""
        return list(self._rows)
