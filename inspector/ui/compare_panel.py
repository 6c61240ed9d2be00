"""The values panel of a comparison: the per-value table, and A, B and A−B of the selected one
(heatmaps for maps, overlaid bars for vectors)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.compare import CompareReport, ValueDiff
from inspector.ui.plot_axes import install as install_axes

install_axes()  # tick labels that never overlap, as on the Inspect panels' plots

pg.setConfigOptions(imageAxisOrder="row-major")
COLUMNS = ("A", "B", "shape", "max_abs", "max_rel", "cosine", "SNR dB")


def channel_axis(a: np.ndarray) -> int | None:
    """The channel axis of a single 3-D activation map, else None: the odd one out beside two
    equal (square) spatial sizes, channels first when all three are equal (ONNX's layout),
    else the smallest axis."""
    if a.ndim != 3:
        return None
    c, h, w = a.shape
    if h == w:
        return 0
    if c == h:
        return 2
    return int(np.argmin(a.shape))


def _squeeze_batch(x: np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=np.float32)
    while a.ndim > 2 and a.shape[0] == 1:
        a = a[0]
    return a


def as_images(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """2-D views of A and B and what they show: for a map with channels, the channel where
    A and B differ most (where a reader looks first), else the rows of the value."""
    ia, ib = _squeeze_batch(a), _squeeze_batch(b)
    what = ""
    ch = channel_axis(ia) if ia.shape == ib.shape else None
    if ch is not None:
        other = tuple(i for i in range(3) if i != ch)
        err = np.abs(ia - ib).max(axis=other)
        k = int(np.argmax(err))
        ia, ib = np.take(ia, k, axis=ch), np.take(ib, k, axis=ch)
        what = f"channel {k} of {err.size} (largest |A−B|)"
    if ia.ndim > 2:
        ia, ib = ia.reshape(ia.shape[0], -1), ib.reshape(ib.shape[0], -1)
    return np.atleast_2d(ia), np.atleast_2d(ib), what


class ValueDiffView(QWidget):
    """A, B and A−B of one matched value, side by side."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        self.title = QLabel("Select a value")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        lay.addWidget(self.plots)

    def show_arrays(self, diff: ValueDiff, a: np.ndarray, b: np.ndarray) -> None:
        """Draw A, B and A−B of `diff`."""
        self.plots.clear()
        self.title.setText(f"{diff.a}  vs  {diff.b}   max_abs {diff.max_abs:.3g}   "
                           f"cosine {diff.cosine:.6f}   SNR {diff.snr_db:.1f} dB")
        flat = np.squeeze(a)
        if flat.ndim <= 1:
            p = self.plots.addPlot(title="A (blue) and B (orange)")
            x = np.arange(flat.size)
            w = 0.4
            p.addItem(pg.BarGraphItem(x=x - w / 2, height=np.ravel(a), width=w, brush=(60, 110, 200)))
            p.addItem(pg.BarGraphItem(x=x + w / 2, height=np.ravel(b), width=w, brush=(240, 140, 40)))
            d = self.plots.addPlot(title="A − B")
            d.addItem(pg.BarGraphItem(x=x, height=np.ravel(a) - np.ravel(b), width=0.8,
                                      brush=(200, 60, 60)))
            return
        ia, ib, what = as_images(a, b)
        lo, hi = float(min(ia.min(), ib.min())), float(max(ia.max(), ib.max()))
        cmap = pg.colormap.get("viridis")
        for title, img, levels, cm in (
            (f"A, {what}" if what else "A", ia, (lo, hi), cmap),
            ("B", ib, (lo, hi), cmap),
            ("A − B", ia - ib, None, pg.colormap.get("CET-D1")),
        ):
            p = self.plots.addPlot(title=title)
            p.hideAxis("bottom")  # a picture: the axes' pixel numbers only took room
            p.hideAxis("left")
            p.invertY(True)
            p.setAspectLocked(True)
            item = pg.ImageItem(img)
            if levels is None:
                m = float(np.abs(img).max()) or 1.0
                levels = (-m, m)
            item.setLevels(levels)
            item.setColorMap(cm)
            p.addItem(item)
            p.autoRange(padding=0)


class ComparePanel(QWidget):
    """The table of matched values and the A/B/A−B view of the selected row."""

    value_selected = Signal(object)  # the ValueDiff of the chosen row

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.verticalHeader().setVisible(False)
        self.view = ValueDiffView()
        split = QSplitter(Qt.Orientation.Horizontal)  # the reader moves the border
        split.addWidget(self.table)
        split.addWidget(self.view)
        split.setSizes([520, 680])
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)
        self._report: CompareReport | None = None
        self.table.currentCellChanged.connect(lambda r, *_: self._on_row(r))

    def set_report(self, report: CompareReport) -> None:
        """Fill the table from `report` (A's topological order)."""
        self._report = report
        self.table.setRowCount(len(report.values))
        fd = report.first_divergence
        for r, d in enumerate(report.values):
            cells = (d.a, d.b, "x".join(map(str, d.shape)), f"{d.max_abs:.3g}",
                     f"{d.max_rel:.3g}", f"{d.cosine:.6f}", f"{d.snr_db:.1f}")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if fd is not None and d is fd:
                    item.setBackground(Qt.GlobalColor.yellow)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()

    def show_value(self, a_value: str) -> None:
        """Select the row of A's value `a_value` (no-op when it has none)."""
        if self._report is None:
            return
        for r, d in enumerate(self._report.values):
            if d.a == a_value:
                self.table.setCurrentCell(r, 0)
                return

    def _on_row(self, row: int) -> None:
        if self._report is None or not 0 <= row < len(self._report.values):
            return
        d = self._report.values[row]
        a, b = self._report.arrays(d)
        self.view.show_arrays(d, a, b)
        self.value_selected.emit(d)
