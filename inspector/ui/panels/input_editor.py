"""The input editor: buttons that ask for a new input and the options it is made with
(seed, symbolic dims, image scaling, CSV row), then a spin box and slider per feature for
small vector inputs (edits are throttled and emitted so everything downstream updates
live), an image preview for image inputs, a summary and histogram otherwise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QFrame,
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
from inspector.ui.panels.input_options import InputOptions, short_shape

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
                 lo: float, hi: float, on_change, *, integer: bool = False,
                 limits: tuple[float, float] | None = None) -> None:
        self.lo, self.hi = lo, hi
        self._on_change = on_change
        self.label = QLabel(label)
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(0 if integer else 4)
        span = hi - lo
        # typing may leave the slider range, but not the input's real limits (token ids)
        self.spin.setRange(*(limits or (lo - 10 * span, hi + 10 * span)))
        self.spin.setSingleStep(1.0 if integer else span / 100)
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
        self.model = None
        #: Inputs shown with a value before any run; edits to them are kept for every run.
        self.preset: set[str] = set()
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
        # Many symbolic dims make the options row wider than a 1100 px window: it scrolls
        # sideways inside the panel instead of widening the dock (and the window) past the screen.
        self.options_scroll = QScrollArea(self)
        self.options_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.options_scroll.setWidgetResizable(True)
        self.options_scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.options_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.options_scroll.setWidget(self.options)
        self.options_scroll.setMinimumWidth(120)
        self.options_scroll.setFixedHeight(self.options.sizeHint().height()
                                           + self.options_scroll.horizontalScrollBar().sizeHint().height())
        buttons.addWidget(self.options_scroll, 1)
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

    def set_model(self, model) -> None:
        """The model whose inputs are shown: its inputs' limits (token ids below the
        embedding's row count) and the values that need setting before a run come from it."""
        self.model = model

    def _spec_info(self) -> dict:
        from inspector.runtime.errors import RunError
        from inspector.runtime.inputs import fixed_inputs, input_specs

        if self.model is None:
            return {}
        try:
            specs = {s.name: s for s in input_specs(self.model)}
            fixed = fixed_inputs(self.model)
        except RunError:
            return {}
        return {"specs": specs, "fixed": fixed}

    def _before_run_value(self, name: str, info: dict) -> np.ndarray | None:
        """A value to edit before the first run, for a small numeric input."""
        from inspector.runtime.errors import RunError
        from inspector.runtime.inputs import SMALL_INPUT, resolve_shape

        spec = info.get("specs", {}).get(name)
        if spec is None:
            return None
        if name in info["fixed"]:
            return info["fixed"][name]
        try:
            shape, dt = resolve_shape(spec), spec.numpy_dtype
        except RunError:
            return None
        if dt.kind not in "biuf" or int(np.prod(shape)) > SMALL_INPUT:
            return None
        return np.zeros(shape, dt)

    def set_inputs(self, specs: Sequence[Value] | Mapping[str, Value],
                   arrays: Mapping[str, np.ndarray],
                   feature_names: Mapping[str, Sequence[str]] | None = None) -> None:
        """Show each input in `specs` with its current array from `arrays` (keyed by name)."""
        values = list(specs.values()) if isinstance(specs, Mapping) else list(specs)
        self._timer.stop()
        self.arrays = {k: np.array(v, copy=True) for k, v in arrays.items()}
        self.rows, self.previews = {}, {}
        self.preset = set()
        info = self._spec_info() if values else {}
        body = QWidget()
        col = QVBoxLayout(body)
        for spec in values:
            a = self.arrays.get(spec.name)
            box = QGroupBox(f"{spec.name}  {(spec.dtype or '?')}[{short_shape(spec.shape)}]", body)
            box.setToolTip(f"{spec.name}  {spec.type_label}")
            inner = QVBoxLayout(box)
            if a is None and (early := self._before_run_value(spec.name, info)) is not None:
                # Editable before the first run: a model that checks a value (silero-vad's
                # sr) cannot run on Random/Zeros/Ones, which now keep what is set here.
                self.arrays[spec.name] = a = np.array(early, copy=True)
                self.preset.add(spec.name)
                kept = a.dtype.kind in "iub" or spec.name in info.get("fixed", {})
                inner.addWidget(QLabel(
                    "set before running: Random, Zeros and Ones keep this value" if kept else
                    "editable before running: the model runs on these values once every input "
                    "has one; Random, Zeros and Ones make new ones"))
                inner.addLayout(self._feature_grid(spec.name, a, (feature_names or {}).get(spec.name),
                                                   info))
            elif a is None:
                inner.addWidget(QLabel("no value yet: Random, Zeros, Ones or From file... makes "
                                       "one and runs the model on it"))
            elif a.dtype.kind in "iuf" and _features(a) <= MAX_EDITABLE:
                inner.addLayout(self._feature_grid(spec.name, a, (feature_names or {}).get(spec.name),
                                                   info))
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

    def _feature_grid(self, name: str, a: np.ndarray, labels: Sequence[str] | None,
                      info: dict | None = None) -> QGridLayout:
        from inspector.runtime.inputs import allowed_values

        grid = QGridLayout()
        flat = a.reshape(-1).astype(np.float64)
        lo, hi = slider_range(flat)
        integer = a.dtype.kind in "iub"
        limits = None
        spec = (info or {}).get("specs", {}).get(name)
        if integer:
            if spec is not None and spec.vocab:
                # token ids index an embedding of `vocab` rows: 0 .. vocab-1 and nothing else
                lo, hi = 0.0, float(spec.vocab - 1)
                limits = (lo, hi)
            elif a.dtype.kind == "b":
                lo, hi = 0.0, 1.0
                limits = (0.0, 1.0)
            else:
                info_ = np.iinfo(a.dtype)
                limits = (float(max(info_.min, -2**53)), float(min(info_.max, 2**53)))
                allowed = allowed_values(self.model, name) if self.model is not None else []
                if allowed:
                    lo = min(lo, *map(float, allowed))
                    hi = max(hi, *map(float, allowed))
        rows = []
        for i, v in enumerate(flat):
            label = labels[i] if labels is not None and i < len(labels) else f"[{i}]"
            rows.append(FeatureRow(grid, i, label, float(v), lo, hi,
                                   lambda x, n=name, k=i: self._edited(n, k, x),
                                   integer=integer, limits=limits))
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
        if self.model is not None and (a_fixed(self.model, name)
                                       or (name in self.preset and arr.dtype.kind in "iub")):
            # A control value (a rate, a flag, an id) set by hand stays for later Random,
            # Zeros and Ones inputs; float features still follow the button pressed.
            from inspector.runtime.inputs import set_input_values

            set_input_values(self.model, {name: arr})
        if not self._complete():
            return  # before the first run there is no full input to run on yet
        # Throttle, not debounce: a burst of moves becomes one emit THROTTLE_MS after its
        # first move (with the values as they are then), so a long drag still updates live.
        if not self._timer.isActive():
            self._timer.start()

    def _complete(self) -> bool:
        """True when every input has a value here (after a run, or all small ones)."""
        if self.model is None:
            return True
        from inspector.runtime.errors import RunError
        from inspector.runtime.inputs import input_specs

        try:
            return all(s.name in self.arrays for s in input_specs(self.model))
        except RunError:
            return True

    def _emit_edited(self) -> None:
        self.inputs_edited.emit({k: v.copy() for k, v in self.arrays.items()})

    def _button(self, kind: str) -> None:
        if kind != "file":
            self.request_input(kind)
            return
        # Start where the model is: its inputs usually sit beside it (not the working folder).
        start = str(Path(self.model.path).parent) if getattr(self.model, "path", "") else ""
        path, _ = QFileDialog.getOpenFileName(self, "Input from file", start, INPUT_FILTER)
        if path:
            self.request_input("file", path)


def a_fixed(model, name: str) -> bool:
    """True when input `name` of `model` is one made the same for every run."""
    from inspector.runtime.inputs import fixed_inputs

    return name in fixed_inputs(model)


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
