"""The input editor: buttons that ask for a new input and the options it is made with
(seed, symbolic dims, image scaling, CSV row), then a spin box and slider per feature for
small vector inputs (edits are throttled and emitted so everything downstream updates
live), an image preview for image inputs, a summary and histogram otherwise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from inspector.ir import Value
from inspector.runtime.stats import summarize
from inspector.ui.panels._common import HistogramPlot, Panel, stats_text
from inspector.ui.panels.input_options import InputOptions

MAX_EDITABLE = 32
SLIDER_STEPS = 1000
THROTTLE_MS = 50
INPUT_FILTER = "Inputs (*.npy *.npz *.png *.jpg *.jpeg *.bmp *.csv);;All files (*)"


def slider_range(values: np.ndarray) -> tuple[float, float]:
    """A slider range covering the data: mean +- 3 std, widened to include every value."""
    v = values[np.isfinite(values)] if values.size else values
    if v.size == 0:
        return -1.0, 1.0
    mean, std = float(v.mean()), float(v.std())
    lo, hi = min(float(v.min()), mean - 3 * std), max(float(v.max()), mean + 3 * std)
    if hi - lo < 1e-9:  # one value or all equal: a unit range around it
        lo, hi = lo - 1.0, hi + 1.0
    return lo, hi


class FeatureRow:
    """One feature's spin box and slider, kept in step with each other."""

    def __init__(self, grid: QGridLayout, row: int, label: str, value: float,
                 lo: float, hi: float, on_change) -> None:
        self.lo, self.hi = lo, hi
        self._on_change = on_change
        self.label = QLabel(label)
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(4)
        span = hi - lo
        self.spin.setRange(lo - 10 * span, hi + 10 * span)  # typing may leave the slider range
        self.spin.setSingleStep(span / 100)
        self.spin.setValue(value)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setValue(self._to_slider(value))
        self.spin.valueChanged.connect(self._spin_moved)
        self.slider.valueChanged.connect(self._slider_moved)
        grid.addWidget(self.label, row, 0)
        grid.addWidget(self.spin, row, 1)
        grid.addWidget(self.slider, row, 2)

    def _to_slider(self, v: float) -> int:
        return int(round(np.clip((v - self.lo) / (self.hi - self.lo), 0, 1) * SLIDER_STEPS))

    def _spin_moved(self, v: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(self._to_slider(v))
        self.slider.blockSignals(False)
        self._on_change(v)

    def _slider_moved(self, s: int) -> None:
        v = self.lo + (self.hi - self.lo) * s / SLIDER_STEPS
        self.spin.blockSignals(True)
        self.spin.setValue(v)
        self.spin.blockSignals(False)
        self._on_change(float(self.spin.value()))


class InputEditor(Panel):
    """Edit or replace the model's inputs."""

    TITLE = "Input"
    # object, not dict: a dict signal argument is converted to a QVariantMap, which cannot
    # carry numpy arrays unchanged.
    inputs_edited = Signal(object)
    input_requested = Signal(str, object)  # kind ("random", "zeros", "ones", "file"), path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.arrays: dict[str, np.ndarray] = {}
        self.rows: dict[str, list[FeatureRow]] = {}
        self.previews: dict[str, pg.ImageItem] = {}
        buttons = QHBoxLayout()
        for kind, text in (("random", "Random"), ("zeros", "Zeros"), ("ones", "Ones"),
                           ("file", "From file...")):
            b = QPushButton(text, self)
            b.clicked.connect(lambda _=False, k=kind: self._button(k))
            buttons.addWidget(b)
        buttons.addSpacing(12)
        self.options = InputOptions(self)
        buttons.addWidget(self.options, 1)
        self._layout.addLayout(buttons)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self._layout.addWidget(self.scroll, 1)
        self._body = QWidget()
        self.scroll.setWidget(self._body)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(THROTTLE_MS)
        self._timer.timeout.connect(self._emit_edited)

    def set_inputs(self, specs: Sequence[Value] | Mapping[str, Value],
                   arrays: Mapping[str, np.ndarray],
                   feature_names: Mapping[str, Sequence[str]] | None = None) -> None:
        """Show each input in `specs` with its current array from `arrays` (keyed by name)."""
        values = list(specs.values()) if isinstance(specs, Mapping) else list(specs)
        self._timer.stop()
        self.arrays = {k: np.array(v, copy=True) for k, v in arrays.items()}
        self.rows, self.previews = {}, {}
        body = QWidget()
        col = QVBoxLayout(body)
        for spec in values:
            a = self.arrays.get(spec.name)
            box = QGroupBox(f"{spec.name}  {spec.type_label}", body)
            inner = QVBoxLayout(box)
            if a is None:
                inner.addWidget(QLabel("no value yet: Random, Zeros, Ones or From file... makes "
                                       "one and runs the model on it"))
            elif a.dtype.kind in "iuf" and _features(a) <= MAX_EDITABLE:
                inner.addLayout(self._feature_grid(spec.name, a, (feature_names or {}).get(spec.name)))
            elif _image_like(a):
                inner.addWidget(self._image_preview(spec.name, a))
                inner.addWidget(QLabel(stats_text(summarize(a))))
            else:
                hist = HistogramPlot(box)
                if a.dtype.kind in "biuf":
                    hist.set_array(a)
                    inner.addWidget(hist)
                    inner.addWidget(QLabel(stats_text(summarize(a))))
                else:
                    inner.addWidget(QLabel(f"shape {a.shape}  {a.dtype}"))
            col.addWidget(box)
        col.addStretch(1)
        self.scroll.setWidget(body)  # the old body is deleted by the scroll area
        self._body = body

    def request_input(self, kind: str, path: str | None = None) -> None:
        """Ask the window for a new input of `kind` (the buttons call this)."""
        self.input_requested.emit(kind, path)

    def clear(self) -> None:
        """Show no inputs."""
        super().clear()
        self.set_inputs([], {})

    def _feature_grid(self, name: str, a: np.ndarray, labels: Sequence[str] | None) -> QGridLayout:
        grid = QGridLayout()
        flat = a.reshape(-1).astype(np.float64)
        lo, hi = slider_range(flat)
        rows = []
        for i, v in enumerate(flat):
            label = labels[i] if labels is not None and i < len(labels) else f"[{i}]"
            rows.append(FeatureRow(grid, i, label, float(v), lo, hi,
                                   lambda x, n=name, k=i: self._edited(n, k, x)))
        grid.setColumnStretch(2, 1)
        self.rows[name] = rows
        return grid

    def _image_preview(self, name: str, a: np.ndarray) -> QWidget:
        img = _as_image(a)
        view = pg.GraphicsLayoutWidget()
        view.setBackground("w")
        vb = view.addViewBox(lockAspect=True, invertY=True)
        item = pg.ImageItem(img, axisOrder="row-major")
        finite = img[np.isfinite(img)]
        if finite.size:
            item.setLevels((float(finite.min()), float(finite.max()) or 1.0))
        vb.addItem(item)
        view.setMinimumHeight(200)
        self.previews[name] = item
        return view

    def _edited(self, name: str, index: int, value: float) -> None:
        arr = self.arrays[name]
        arr.reshape(-1)[index] = value
        # Throttle, not debounce: a burst of moves becomes one emit THROTTLE_MS after its
        # first move (with the values as they are then), so a long drag still updates live.
        if not self._timer.isActive():
            self._timer.start()

    def _emit_edited(self) -> None:
        self.inputs_edited.emit({k: v.copy() for k, v in self.arrays.items()})

    def _button(self, kind: str) -> None:
        if kind != "file":
            self.request_input(kind)
            return
        path, _ = QFileDialog.getOpenFileName(self, "Input from file", "", INPUT_FILTER)
        if path:
            self.request_input("file", path)


def _features(a: np.ndarray) -> int:
    return int(a.size // a.shape[0]) if a.ndim >= 2 and a.shape[0] == 1 else int(a.size)


def _image_like(a: np.ndarray) -> bool:
    s = a.shape[1:] if a.ndim == 4 and a.shape[0] == 1 else a.shape
    if len(s) == 2:
        return min(s) >= 8
    return len(s) == 3 and (s[0] in (1, 3, 4) or s[2] in (1, 3, 4)) and min(s[1], s[0] if
                                                                       s[2] in (1, 3, 4) else s[2]) >= 8


def _as_image(a: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, 3/4) float image from NHWC, NCHW, HWC, CHW or HW data."""
    x = a[0] if a.ndim == 4 else a
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3 and x.shape[0] in (1, 3, 4) and x.shape[2] not in (1, 3, 4):
        x = x.transpose(1, 2, 0)  # channels-first
    if x.ndim == 3 and x.shape[2] == 1:
        x = x[:, :, 0]
    if x.ndim == 3 and x.shape[2] == 4:
        x = x[:, :, :3]
    return x
