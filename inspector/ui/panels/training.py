"""The training panel: take K real optimizer steps on a Keras model and watch it learn.

Training runs off the GUI thread (one `JobSlot`, cancellable) on an in-memory copy loaded
fresh from the file, so the file on disk never changes; "Save trained copy…" writes a new
file and refuses the source. The panel plots the loss per step, how far each weight moved
(|after - before| as bars), the selected weight before, after and their difference, and
how far each layer's activation for the training input moved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QWidget,
)

from inspector.progress import Task
from inspector.runtime.errors import RunError
from inspector.runtime.stats import symmetric_levels
from inspector.ui.jobs import JobSlot
from inspector.ui.panels._common import Panel, make_plot
from inspector.ui.panels.colormaps import get_colormap
from inspector.ui.panels.training_data import load_training_data

CURRENT = "current input + target"


def change_norms(before: dict[str, np.ndarray], after: dict[str, np.ndarray]
                 ) -> list[tuple[str, float]]:
    """(key, ||after - before||) for every key in both, in `before`'s order."""
    out = []
    for k, b in before.items():
        if k in after and np.shape(after[k]) == np.shape(b):
            d = np.asarray(after[k], np.float64) - np.asarray(b, np.float64)
            out.append((k, float(np.sqrt(np.sum(d * d)))))
    return out


def _as_matrix(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        return a.reshape(1, -1)
    return a.reshape(a.shape[0], -1) if a.ndim > 2 else a


def _short_key(key: str) -> str:
    layer, _, var = key.rpartition("/")
    var = {"kernel": "W", "bias": "b", "recurrent_kernel": "U"}.get(var, var)
    layer = layer if len(layer) <= 10 else layer[:9] + "…"
    return f"{layer}/{var}" if layer else var


class TrainingPanel(Panel):
    """Train a Keras model for a few steps and show the loss curve and what moved."""

    TITLE = "Training"
    trained = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path: str | None = None
        self.format = ""
        self.input_names: list[str] = []
        self.current: tuple[dict[str, np.ndarray], np.ndarray] | None = None
        self.data_path: str | None = None
        self.result: Any = None
        self.weight_changes: list[tuple[str, float]] = []
        self.activation_changes: list[tuple[str, float]] = []
        self.job = JobSlot(self)
        self.job.progressed.connect(self._progress)
        self.job.finished.connect(self._finished)
        self.job.failed.connect(lambda msg, _d: self._failed(msg))
        self.job.cancelled.connect(lambda: self._status("cancelled"))
        self.job.busy_changed.connect(self._busy)
        self._build_controls()
        self._build_views()
        self.set_model(None, "", [])

    def _build_controls(self) -> None:
        row = self.header  # the controls share the title's row: a row more for the plots
        self.data_box = QComboBox(self)
        self.data_box.addItems([CURRENT, "data file (.npz / .csv)…"])
        self.data_box.activated.connect(self._data_chosen)
        self.steps = QSpinBox(self)
        self.steps.setRange(1, 10_000)
        self.steps.setValue(20)
        self.lr = QDoubleSpinBox(self)
        self.lr.setDecimals(4)
        self.lr.setRange(0.0001, 10.0)
        self.lr.setSingleStep(0.01)
        self.lr.setValue(0.05)
        self.optimizer = QComboBox(self)
        self.optimizer.addItems(["sgd", "adam"])
        self.loss = QComboBox(self)
        self.loss.addItems(["ce", "mse"])
        self.train_button = QPushButton("Train", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.reset_button = QPushButton("Reset", self)
        self.reset_button.setToolTip("Forget the trained weights: back to the file's weights")
        self.save_button = QPushButton("Save trained copy…", self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(160)
        for w in (QLabel("data", self), self.data_box, QLabel("steps", self), self.steps,
                  QLabel("lr", self), self.lr, self.optimizer, self.loss, self.train_button,
                  self.cancel_button, self.reset_button, self.save_button, self.progress):
            row.addWidget(w)
        row.addStretch(1)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self._layout.addWidget(self.status)
        self.train_button.clicked.connect(self.train)
        self.cancel_button.clicked.connect(self.job.cancel)
        self.reset_button.clicked.connect(self.reset)
        self.save_button.clicked.connect(self._save_dialog)

    def _build_views(self) -> None:
        self.loss_plot = make_plot(self, x_label="step", y_label="loss")
        self.loss_curve = self.loss_plot.plot([], [], pen=pg.mkPen("#1f77b4", width=2),
                                              symbol="o", symbolSize=4, symbolBrush="#1f77b4")
        self.change_plot = make_plot(self, y_label="‖after − before‖")
        self.change_kind = QComboBox(self)
        self.change_kind.addItems(["weights", "activations"])
        self.change_kind.currentTextChanged.connect(lambda _t: self._draw_changes())
        self.change_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#2ca02c", pen=None)
        self.change_plot.addItem(self.change_bars)
        self.weight_box = QComboBox(self)
        self.weight_box.currentTextChanged.connect(self._draw_weight)
        self.delta_view = pg.GraphicsLayoutWidget(self)
        self.delta_view.setBackground("w")
        self.delta_images: list[pg.ImageItem] = []
        for col, title in enumerate(("before", "after", "after − before")):
            plot = self.delta_view.addPlot(row=0, col=col, title=title)
            plot.invertY(True)
            plot.setMenuEnabled(False)
            plot.hideAxis("bottom")
            img = pg.ImageItem(axisOrder="row-major")
            plot.addItem(img)
            self.delta_images.append(img)
        self.delta_bar = pg.ColorBarItem(colorMap=get_colormap("diverging"), interactive=False,
                                         width=12, colorMapMenu=False)
        self.delta_bar.setImageItem(self.delta_images[2])
        self.delta_view.addItem(self.delta_bar, row=0, col=3)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        change = QSplitter(Qt.Orientation.Vertical, self)
        change.addWidget(self.change_kind)
        change.addWidget(self.change_plot)
        delta = QSplitter(Qt.Orientation.Vertical, self)
        delta.addWidget(self.weight_box)
        delta.addWidget(self.delta_view)
        for w in (self.loss_plot, change, delta):
            split.addWidget(w)
        split.setSizes([300, 300, 400])
        self._layout.addWidget(split, 1)

    # ------------------------------------------------------------------ public API

    def set_model(self, path: str | None, fmt: str, input_names: list[str]) -> None:
        """Follow a model file; training is offered for Keras files only."""
        if path != self.path:
            self.job.cancel()
            self.reset()
        self.path, self.format, self.input_names = path, fmt, list(input_names)
        keras = fmt == "keras"
        for w in (self.train_button, self.data_box, self.steps, self.lr, self.optimizer,
                  self.loss):
            w.setEnabled(keras)
        self.set_subject(Path(path).name if path else "")
        if path is None:
            self._status("Open a Keras model to train it.")
        elif not keras:
            self._status("Training needs a Keras file (.keras or .h5): ONNX models hold no "
                         "optimizer state to train with. Open the Keras version of this model.")
        elif self.result is None:
            self._status("Take a few real optimizer steps on a copy in memory; the file on "
                         "disk is never changed.")

    def set_current(self, feeds: dict[str, np.ndarray] | None, target: np.ndarray | None) -> None:
        """The current input and target, used when the data source is the current input."""
        self.current = None if feeds is None or target is None else (dict(feeds), target)

    def set_data_file(self, path: str) -> None:
        """Train on the .npz/.csv file at `path` from now on."""
        self.data_path = path
        if self.data_box.count() < 3:
            self.data_box.addItem("")
        self.data_box.setItemText(2, Path(path).name)
        self.data_box.setCurrentIndex(2)

    def train(self) -> None:
        """Start training with the controls' settings off the GUI thread."""
        if self.path is None or self.format != "keras":
            self._failed("Training needs a Keras file (.keras or .h5).")
            return
        try:
            x, y = self._data()
        except RunError as e:
            self._failed(str(e))
            return
        path, steps, lr = self.path, self.steps.value(), self.lr.value()
        opt, loss = self.optimizer.currentText(), self.loss.currentText()

        def work(task: Task) -> Any:
            from inspector.autodiff import train_steps

            return train_steps(path, x, y, steps=steps, lr=lr, optimizer=opt, loss=loss,
                               task=task, record_activations=True)

        self._status(f"training {steps} steps of {opt} (lr {lr:g}) on {y.shape[0]} row(s)…")
        self.job.start(work, "Training")

    def loss_values(self) -> list[float]:
        """The loss curve as drawn, one value per step."""
        _, ys = self.loss_curve.getData()
        return [] if ys is None else [float(v) for v in ys]

    def reset(self) -> None:
        """Forget the trained state: the model is the file's again."""
        self.result = None
        self.weight_changes, self.activation_changes = [], []
        self.loss_curve.setData([], [])
        self.change_bars.setOpts(x=[], height=[])
        self.weight_box.clear()
        for img in self.delta_images:
            img.clear()
        self.save_button.setEnabled(False)
        self.reset_button.setEnabled(False)
        self.progress.setValue(0)
        if self.path:
            self._status("Reset: showing the file's own weights again.")

    def save_copy(self, out_path: str) -> Path:
        """Write the trained model to `out_path` (never over the source file)."""
        from inspector.autodiff import save_trained_copy

        if self.result is None:
            raise RunError("Train first: there is no trained model to save.")
        return save_trained_copy(self.result, out_path)

    # ------------------------------------------------------------------ internals

    def _data(self) -> tuple[dict[str, np.ndarray] | np.ndarray, np.ndarray]:
        if self.data_box.currentIndex() == 2 and self.data_path:
            return load_training_data(self.data_path, self.input_names)
        if self.current is None:
            raise RunError("Run an input first (or choose a data file) to train on.")
        feeds, target = self.current
        return feeds, np.asarray(target).reshape(-1)

    def _data_chosen(self, index: int) -> None:
        if index != 1:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Training data", "",
                                              "Training data (*.npz *.csv);;All files (*)")
        if path:
            self.set_data_file(path)
        else:
            self.data_box.setCurrentIndex(2 if self.data_path else 0)

    def _progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self._status(message)

    def _busy(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)
        self.train_button.setEnabled(not busy and self.format == "keras")

    def _status(self, text: str) -> None:
        self.status.setText(text)

    def _failed(self, message: str) -> None:
        self._status(f"Training failed: {message}")
        self.failed.emit(message)

    def _finished(self, result: Any) -> None:
        self.result = result
        losses = list(result.losses)
        self.loss_curve.setData(np.arange(1, len(losses) + 1, dtype=np.float64),
                                np.asarray(losses, dtype=np.float64))
        self.loss_plot.getPlotItem().autoRange()
        self.weight_changes = change_norms(result.weights_before, result.weights_after)
        self.activation_changes = change_norms(result.activations_before or {},
                                               result.activations_after or {})
        self.weight_box.blockSignals(True)
        self.weight_box.clear()
        self.weight_box.addItems([k for k, _ in self.weight_changes])
        self.weight_box.blockSignals(False)
        self._draw_changes()
        self._draw_weight(self.weight_box.currentText())
        self.save_button.setEnabled(True)
        self.reset_button.setEnabled(True)
        self.progress.setValue(1000)
        first, last = (losses[0], losses[-1]) if losses else (float("nan"),) * 2
        engine = ("ONNX engine, no TensorFlow" if getattr(result, "engine", "") == "lowering"
                  else "TensorFlow GradientTape")
        note = getattr(result, "note", "")
        self._status(f"{len(losses)} steps ({engine}): loss {first:.4g} → {last:.4g}. "
                     "The file on disk is unchanged; Reset forgets this, Save trained copy… "
                     "writes a new file." + (f" Note: {note}." if note else ""))
        self.trained.emit(result)

    def _draw_changes(self) -> None:
        items = self.weight_changes if self.change_kind.currentText() == "weights" \
            else self.activation_changes
        x = np.arange(len(items), dtype=np.float64)
        self.change_bars.setOpts(x=x, height=np.array([v for _, v in items]), width=0.8)
        # About 90 px per name so they never overlap; the full key is in the weight menu.
        room = max(1, self.change_plot.width() // 90)
        step = max(1, -(-len(items) // room))
        self.change_plot.getPlotItem().getAxis("bottom").setTicks(
            [[(i, _short_key(k)) for i, (k, _) in enumerate(items) if i % step == 0]])
        top = max((v for _, v in items), default=1.0) or 1.0
        self.change_plot.getPlotItem().setRange(xRange=(-0.5, max(len(items), 1) - 0.5),
                                                yRange=(0, top), padding=0.04)

    def _draw_weight(self, key: str) -> None:
        r = self.result
        if r is None or key not in r.weights_before or key not in r.weights_after:
            return
        before, after = _as_matrix(r.weights_before[key]), _as_matrix(r.weights_after[key])
        lo = float(min(np.nanmin(before), np.nanmin(after)))
        hi = float(max(np.nanmax(before), np.nanmax(after)))
        lut = get_colormap("viridis").getLookupTable(nPts=256)
        for img, m in zip(self.delta_images[:2], (before, after), strict=True):
            img.setImage(m, levels=(lo, hi if hi > lo else lo + 1))  # one scale for both
            img.setLookupTable(lut)
        self.delta_images[2].setImage(after - before, autoLevels=False)
        self.delta_bar.setLevels(symmetric_levels(after - before))

    def _save_dialog(self) -> None:
        if self.result is None or not self.path:
            return
        src = Path(self.path)
        default = str(src.with_name(f"{src.stem}_trained{src.suffix}"))
        out, _ = QFileDialog.getSaveFileName(self, "Save trained copy", default,
                                             "Keras model (*.keras *.h5)")
        if not out:
            return
        try:
            written = self.save_copy(out)
        except RunError as e:
            self._failed(str(e))
            return
        self._status(f"Saved the trained copy to {written}; {src.name} is unchanged.")
