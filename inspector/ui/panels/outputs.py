"""The output panel: each output drawn as its shape and name call for (see
`inspector.runtime.output_views`): class bars with their numbers (top-k), p and 1-p for one
sigmoid unit, the top-k tokens at a chosen position of a sequence, maps as images,
hidden states as a heatmap with statistics, integers as integers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QSpinBox, QStackedWidget, QWidget

from inspector.runtime import output_views as ov
from inspector.runtime.errors import InputError
from inspector.runtime.stats import downsample_2d, summarize
from inspector.ui.panels._common import (
    ElidedLabel,
    Panel,
    block_note,
    block_rect,
    layout_plot,
    make_plot,
    text_color,
)
from inspector.ui.panels.colormaps import get_colormap
from inspector.ui.panels.levels import color_array, set_colorbar_levels

MODES = ("auto", "probabilities", "logits", "regression")
#: The least height of one output bar with its number beside it.
ROW_PX = 16
_ROWS_NOTE = " bars shown: drag the plot or enlarge the dock"
MAX_REGRESSION_BARS = 256
#: Pixels kept between a bar's number and the plot's edge.
LABEL_MARGIN_PX = 3


def load_labels(path: str | Path) -> list[str]:
    """Class labels from a .txt (one per line) or .json (a list, or {index: label}) file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read labels from {p.name}: {exc}") from None
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{p.name} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
        if isinstance(data, dict) and all(str(k).isdigit() for k in data):
            return [str(data[k]) for k in sorted(data, key=lambda k: int(k))]
        if isinstance(data, list) and all(isinstance(x, (str, int, float)) for x in data):
            return [str(x) for x in data]
        raise InputError(f"{p.name} must hold a JSON list of labels.")
    return [line.strip() for line in text.splitlines() if line.strip()]


def labels_from_metadata(metadata: dict | None) -> list[str] | None:
    """Labels stored in the model (ONNX metadata_props "labels": a JSON list or commas)."""
    raw = (metadata or {}).get("labels")
    if not raw:
        return None
    try:
        labels = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        labels = str(raw).split(",")
    return [str(x).strip() for x in labels] if isinstance(labels, list) else None


def manifest_entry(model_path: str | Path) -> dict:
    """The entry for a model in a samples-style manifest.json beside it ({} if none)."""
    p = Path(model_path)
    manifest = p.parent / "manifest.json"
    try:
        if not manifest.is_file() or manifest.stat().st_size > 4_000_000:
            return {}
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    for entry in files if isinstance(files, list) else []:
        if isinstance(entry, dict) and entry.get("file") == p.name:
            return entry
    return {}


def _manifest_labels(model_path: Path) -> list[str] | None:
    labels = manifest_entry(model_path).get("labels")
    return [str(x) for x in labels] if isinstance(labels, list) and labels else None


def feature_names(model_path: str | Path | None) -> list[str] | None:
    """Input feature names from the manifest beside the model (preprocessing.feature_names)."""
    if not model_path:
        return None
    pre = manifest_entry(model_path).get("preprocessing")
    names = pre.get("feature_names") if isinstance(pre, dict) else None
    return [str(x) for x in names] if isinstance(names, list) and names else None


def sidecar_label_files(model_path: str | Path) -> list[Path]:
    """The label files looked for beside a model, most specific first."""
    p = Path(model_path)
    folder, stem = p.parent, p.stem
    names = [folder / "labels" / f"{stem}.txt", folder / "labels" / f"{stem}.json",
             folder / f"{stem}.labels.txt", folder / f"{stem}.labels.json",
             folder / "labels.txt", folder / "labels.json"]
    return names


def find_labels(model_path: str | Path | None, metadata: dict | None = None
                ) -> tuple[list[str] | None, str]:
    """(labels, where they came from) for a model: its own metadata, then a manifest.json
    beside it, then a labels file beside it (see `sidecar_label_files`); (None, "") if none."""
    labels = labels_from_metadata(metadata)
    if labels:
        return labels, "model metadata"
    if not model_path:
        return None, ""
    p = Path(model_path)
    labels = _manifest_labels(p)
    if labels:
        return labels, "manifest.json"
    for candidate in sidecar_label_files(p):
        if candidate.is_file():
            try:
                labels = load_labels(candidate)
            except InputError:
                continue  # a broken sidecar is ignored: the indices still show
            if labels:
                return labels, str(candidate.relative_to(p.parent))
    return None, ""


def looks_like_probabilities(v: np.ndarray) -> bool:
    """Every value in [0, 1] (sigmoid outputs), or a row summing to 1 (softmax)."""
    return bool(v.size) and bool(np.all((v >= -1e-6) & (v <= 1 + 1e-6)))


class OutputPanel(Panel):
    """What the model answered, drawn by what kind of output it is."""

    TITLE = "Output"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = "auto"
        self.shown_mode = "none"
        self.view: ov.OutputView | None = None
        self.position = 0
        self._entries: list[tuple[str, float]] = []
        self._value_items: list[pg.TextItem] = []
        self._outputs: dict[str, np.ndarray] = {}
        self._last: tuple[np.ndarray, list[str] | None, int, str] | None = None
        row = self.header  # the controls share the title's row: a row more for the bars
        self.output_label = QLabel("output:", self)
        self.output_box = QComboBox(self)
        self.output_box.currentTextChanged.connect(self._output_changed)
        self.mode_label = QLabel("show as:", self)
        self.mode_box = QComboBox(self)
        self.mode_box.addItems(list(MODES))
        self.mode_box.currentTextChanged.connect(self._mode_changed)
        self.position_label = QLabel("position:", self)
        self.position_box = QSpinBox(self)
        self.position_box.setToolTip("Which position of the sequence to show the top tokens of")
        self.position_box.valueChanged.connect(self.set_position)
        for w in (self.output_label, self.output_box, self.mode_label, self.mode_box,
                  self.position_label, self.position_box):
            row.addWidget(w)
        self.stack = QStackedWidget(self)
        self.plot = make_plot(self, x_label="probability")
        # Probabilities read as themselves: not "50 .. 300 (x0.001)" for a top value of 0.24.
        self.plot.getPlotItem().getAxis("bottom").enableAutoSIPrefix(False)
        self.bars = pg.BarGraphItem(x0=[], y=[], height=[], width=[], brush="#1f77b4", pen=None)
        self.plot.addItem(self.bars)
        self.plot.getPlotItem().invertY(True)  # the top class on top
        self.plot.getPlotItem().getViewBox().sigResized.connect(lambda _vb: self._fit_rows())
        self._fitting = False
        self.image_view, self.image_plot = layout_plot(self)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image_plot.addItem(self.image)
        self.image_plot.invertY(True)
        self.colorbar = pg.ColorBarItem(colorMap=get_colormap("viridis"), interactive=False,
                                        width=16, colorMapMenu=False)
        self.colorbar.setImageItem(self.image, insert_in=self.image_plot)
        self.text = QLabel("", self)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.text.setStyleSheet("font-family: monospace;")
        self.text.setWordWrap(True)
        for w in (self.plot, self.image_view, self.text):
            self.stack.addWidget(w)
        # The summary shares the title's row (one line, shortened): below the plot it took
        # a row of a 1200x800 first-run dock, and the page scrolled.
        self.summary_label = ElidedLabel("", self)
        self.header.insertWidget(2, self.summary_label, 1)
        self._layout.addWidget(self.stack, 1)
        self._show_controls(None)

    # ------------------------------------------------------------------ public API

    def set_outputs(self, outputs: dict[str, np.ndarray], labels: list[str] | None = None,
                    top_k: int = 10) -> None:
        """Show the model's outputs: the first one, the others one pick away."""
        self._outputs = {k: np.asarray(v) for k, v in outputs.items()}
        self.output_box.blockSignals(True)
        self.output_box.clear()
        self.output_box.addItems(list(self._outputs))
        self.output_box.blockSignals(False)
        self._labels, self._top_k = labels, top_k
        if self._outputs:
            name = next(iter(self._outputs))
            self.set_output(self._outputs[name], labels, top_k=top_k, name=name)

    def set_output(self, array: np.ndarray, labels: list[str] | None = None,
                   mode: str = "auto", top_k: int = 10, name: str = "") -> None:
        """Show a model output called `name` (sample 0 of a batch)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        a = np.asarray(array)
        old = self.view
        self._last = (a, labels, top_k, name)
        self.mode = mode
        self.mode_box.blockSignals(True)
        self.mode_box.setCurrentText(mode)
        self.mode_box.blockSignals(False)
        sample = a[0] if a.ndim >= 2 else a
        self.view = ov.choose_view(a.shape, a.dtype, name, labels=labels,
                                   values=sample if a.dtype.kind in "biuf" else None)
        if self.view.kind == "sequence":
            t = self.view.positions
            keep = old is not None and old.kind == "sequence" and old.positions == t
            self.position_box.blockSignals(True)
            self.position_box.setRange(0, max(0, t - 1))
            # The last position is the next-token prediction of a language model.
            self.position_box.setValue(self.position if keep else t - 1)
            self.position_box.blockSignals(False)
            self.position = self.position_box.value()
        if name:
            self.set_subject(name)
        self._draw()

    def set_position(self, position: int) -> None:
        """Show the top tokens at `position` of a sequence output."""
        self.position = int(position)
        if self.position_box.value() != self.position:
            self.position_box.setValue(self.position)
            return
        if self._last is not None and self.view is not None and self.view.kind == "sequence":
            self._draw()

    def entries(self) -> list[tuple[str, float]]:
        """The (label, value) pairs drawn, top bar first."""
        return list(self._entries)

    def value_texts(self) -> list[str]:
        """The numbers written beside the bars, top bar first."""
        return [t.toPlainText() for t in self._value_items]

    def summary_text(self) -> str:
        """The line under the plot."""
        return self.summary_label.text()

    def load_labels(self, path: str | Path) -> list[str]:
        """Read labels from `path` and redraw the current output with them."""
        labels = load_labels(path)
        if self._last is not None:
            a, _, k, name = self._last
            self.set_output(a, labels, self.mode, k, name)
        return labels

    def clear(self) -> None:
        """Show nothing."""
        super().clear()
        self._last, self.view, self._outputs = None, None, {}
        self._entries = []
        self.shown_mode = "none"
        self.output_box.blockSignals(True)
        self.output_box.clear()
        self.output_box.blockSignals(False)
        self.bars.setOpts(x0=[], y=[], height=[], width=[])
        self._set_value_texts([], [])
        self.image.clear()
        self.text.setText("")
        self.summary_label.setText("")
        self._show_controls(None)

    # ------------------------------------------------------------------ drawing

    def _show_controls(self, kind: str | None) -> None:
        many = self.output_box.count() > 1
        for w in (self.output_label, self.output_box):
            w.setVisible(many)
        for w in (self.mode_label, self.mode_box):
            w.setVisible(kind in ("classes", "binary", "values"))
        for w in (self.position_label, self.position_box):
            w.setVisible(kind == "sequence")

    def _output_changed(self, name: str) -> None:
        if name in self._outputs:
            self.set_output(self._outputs[name], getattr(self, "_labels", None),
                            top_k=getattr(self, "_top_k", 10), name=name)

    def _mode_changed(self, mode: str) -> None:
        self.mode = mode
        if self._last is not None:
            self._draw()

    def _draw(self) -> None:
        assert self._last is not None and self.view is not None
        self.set_empty("")
        a, labels, top_k, _name = self._last
        view = self.view
        notes = [f"batch of {view.batch}: showing sample 0"] if view.batch > 1 else []
        self._entries = []
        self._set_value_texts([], [])
        sample = a[0] if a.ndim >= 2 else a
        kind = view.kind if self.mode == "auto" else "classes"
        self._show_controls(kind)
        if kind == "integers":
            self.shown_mode = "integers"
            self.stack.setCurrentWidget(self.text)
            self.text.setText(ov.format_integers(sample))
            self.summary_label.setText(f"{view.reason}; shape {'x'.join(map(str, a.shape))}")
        elif kind == "sequence":
            self._draw_sequence(sample, labels, top_k, notes)
        elif kind in ("spatial", "embedding"):
            self._draw_image(sample, kind, notes)
        elif kind == "values" and self.mode == "auto" and a.dtype.kind not in "biuf":
            self.shown_mode = "none"
            self.stack.setCurrentWidget(self.text)
            self.text.setText(view.reason)
            self.summary_label.setText("")
        else:
            self._draw_classes(a, labels, top_k, notes)
        self.set_notes(notes)
        self._fit_rows()

    def _draw_sequence(self, sample: np.ndarray, labels: list[str] | None, top_k: int,
                       notes: list[str]) -> None:
        view = self.view
        assert view is not None
        t, v = view.sample_shape
        names = labels if labels and len(labels) == v else None
        if labels and names is None:
            notes.append(f"{len(labels)} labels for a vocabulary of {v}: showing token ids")
        top = ov.position_top_k(sample.astype(np.float64), self.position, top_k,
                                logits=view.logits, names=names)
        self.shown_mode = "sequence"
        self._bars([(f"{lab} ({i})" if names else lab, val) for i, lab, val in top],
                   "probability", probabilities=True)
        how = "softmax of the logits" if view.logits else "probabilities"
        self.summary_label.setText(
            f"position {self.position} of {t}: top {len(top)} of {v} tokens ({how}); "
            f"top: {self._entries[0][0]} ({self._entries[0][1]:.4g})")

    def _draw_image(self, sample: np.ndarray, kind: str, notes: list[str]) -> None:
        view = self.view
        assert view is not None
        x = sample.astype(np.float32, copy=False)
        if kind == "spatial":
            maps = x if view.layout == "HW" else (x if view.layout == "CHW" else
                                                   np.moveaxis(x, -1, 0))
            maps = maps.reshape(-1, *maps.shape[-2:])
            if maps.shape[0] > 1:
                notes.append(f"showing channel 0 of {maps.shape[0]}")
            img = maps[0]
            left, bottom = "row", "column"
        else:
            img = x.reshape(x.shape[0], -1) if x.ndim >= 2 else x.reshape(1, -1)
            left, bottom = ("position", "feature") if x.ndim >= 2 else ("", "feature")
        shown, blocks = downsample_2d(img, 512)
        if blocks != (1, 1):
            notes.append(block_note(img.shape, shown, blocks))
        self.stack.setCurrentWidget(self.image_view)
        self.image.setImage(shown, autoLevels=False)
        self.image.setRect(*block_rect(shown, blocks))
        probs = kind == "spatial" and looks_like_probabilities(img)
        if probs:
            set_colorbar_levels(self.colorbar, 0.0, 1.0)
        else:
            color_array(self.colorbar, img)
        self.image_plot.setLabel("left", left)
        self.image_plot.setLabel("bottom", bottom)
        self.image_plot.setAspectLocked(kind == "spatial")
        self.image_plot.autoRange()
        self.shown_mode = kind
        s = summarize(x)
        stats = f"min {s.min:.4g}  max {s.max:.4g}  mean {s.mean:.4g}  std {s.std:.4g}"
        if kind == "spatial":
            r, c = np.unravel_index(int(np.nanargmax(img)), img.shape)
            extra = f"; {float((img > 0.5).mean()):.1%} of pixels > 0.5" if probs else ""
            self.summary_label.setText(f"{view.reason}{' (probabilities)' if probs else ''}: "
                                       f"{stats}; peak at row {r}, column {c}{extra}")
        else:
            norms = np.linalg.norm(img.astype(np.float64), axis=-1)
            self.summary_label.setText(f"{view.reason}: {stats}; L2 norm per "
                                       f"{'position' if img.shape[0] > 1 else 'vector'} "
                                       f"{norms.min():.4g} .. {norms.max():.4g}")

    def _draw_classes(self, a: np.ndarray, labels: list[str] | None, top_k: int,
                      notes: list[str]) -> None:
        view = self.view
        assert view is not None
        v = a.astype(np.float64) if a.dtype.kind in "biuf" else np.zeros(0)
        if v.ndim >= 2:
            v = v[0]
        v = v.reshape(-1)
        names = [str(x) for x in labels] if labels else None
        if names is not None and len(names) != v.size and not (v.size == 1 and len(names) == 2):
            notes.append(f"{len(names)} labels for {v.size} outputs: using indices")
            names = None
        mode = self.mode
        if mode == "auto":
            if view.named_logits:
                mode = "logits"
            elif view.kind == "values" and v.size == 1:
                mode = "regression"
            else:
                mode = "probabilities" if not view.logits or looks_like_probabilities(v) \
                    else "scores"
        if mode == "logits":
            v = ov.to_probabilities(v)
            notes.append("softmax applied to the logits" if v.size > 1 else "sigmoid applied")
            mode = "probabilities"
        if mode == "scores":
            notes.append("values are not probabilities; choose 'logits' to apply softmax")
        self.shown_mode = mode
        if mode == "regression":
            entries = [(names[i] if names else f"output {i}", float(v[i]))
                       for i in range(min(v.size, MAX_REGRESSION_BARS))]
            if v.size > MAX_REGRESSION_BARS:
                notes.append(f"first {MAX_REGRESSION_BARS} of {v.size} values")
            self._bars(entries, "value", probabilities=False)
            self.summary_label.setText(f"{v.size} value(s)")
            return
        if mode == "probabilities" and v.size == 1:
            p = float(v[0])
            neg, pos = (names[0], names[1]) if names and len(names) == 2 else ("0", "1")
            entries = sorted([(pos, p), (neg, 1.0 - p)], key=lambda e: -e[1])
        else:
            entries = [(lab, val) for _i, lab, val in ov.top_k(v, top_k, names)]
            if v.size > top_k:
                notes.append(f"top {top_k} of {v.size} classes")
        self._bars(entries, "probability" if mode == "probabilities" else "score",
                   probabilities=mode == "probabilities")
        top = entries[0] if entries else None
        self.summary_label.setText("" if top is None else f"top: {top[0]}  ({top[1]:.4g})")

    def _bars(self, entries: list[tuple[str, float]], x_label: str, *,
              probabilities: bool) -> None:
        self.stack.setCurrentWidget(self.plot)
        self._entries = entries
        item = self.plot.getPlotItem()
        item.setLabel("bottom", x_label)
        values = np.array([e[1] for e in entries], dtype=np.float64)
        y = np.arange(len(entries), dtype=np.float64)
        self.bars.setOpts(x0=np.minimum(values, 0), y=y, height=0.7, width=np.abs(values))
        left = item.getAxis("left")
        left.setTicks([[(i, e[0]) for i, e in enumerate(entries)]])
        # The axis does not grow for long tick labels by itself: size it to the longest.
        metrics = self.fontMetrics()
        widest = max((metrics.horizontalAdvance(e[0]) for e in entries), default=20)
        left.setWidth(min(300, widest + 16))
        # Every bar carries its number: near-uniform probabilities are too short to read.
        self._set_value_texts([f"{e[1]:.4g}" for e in entries], values)
        top = float(np.max(np.abs(values))) if values.size else 1.0
        if probabilities:
            # A 1000-class near-uniform output is 0.001 wide: scale to the top bar, not to 1.
            self._x_span = (0.0, 1.0 if top > 0.5 else max(top * 1.3, 1e-6))
        else:
            lo = min(0.0, float(values.min())) if values.size else 0.0
            hi = max(0.0, float(values.max())) if values.size else 1.0
            self._x_span = (lo, hi if hi > lo else lo + 1.0)
        self._fit_rows()

    def shown_rows(self) -> int:
        """How many bars, from the top one, fit the plot at ROW_PX a bar."""
        height = self.plot.getPlotItem().getViewBox().height()
        n = len(self._entries)
        row = max(ROW_PX, self.fontMetrics().height() + 2)  # a line of text and a gap
        return n if height <= 0 else max(1, min(n, int(height // row)))

    def _fit_rows(self) -> None:
        # Ten bars in the first-run dock's ~60 px of plot ran their numbers together: show
        # the top bars that fit at a readable height; the others are a drag (or a taller
        # dock) away, and the title row says so.
        if self._fitting or self.stack.currentWidget() is not self.plot or not self._entries:
            return
        self._fitting = True
        try:
            rows, n = self.shown_rows(), len(self._entries)
            self.plot.getPlotItem().setYRange(-0.5, rows - 0.5, padding=0.02)
            self._fit_numbers(rows)
            notes = [x for x in self.notes() if not x.endswith(_ROWS_NOTE)]
            if rows < n:
                notes.append(f"the top {rows} of {n}{_ROWS_NOTE}")
            if notes != self.notes():
                self.set_notes(notes)
        finally:
            self._fitting = False

    def _fit_numbers(self, rows: int) -> None:
        """Widen the x range until every shown bar's number ends inside the plot: a 0.9843
        bar's number, written from x = 0.9843 in a 0 .. 1 range, was cut at the right edge."""
        lo, hi = getattr(self, "_x_span", (0.0, 1.0))
        width = self.plot.getPlotItem().getViewBox().width()
        total = (hi - lo) * 1.04  # the range shown, with a margin on each side
        for t in self._value_items[:rows]:
            room = width - t.boundingRect().width() - 2 * LABEL_MARGIN_PX
            if room > width / 4:  # else the plot is too narrow for numbers at any range
                total = max(total, (t.pos().x() - lo) * width / room)
        start = lo - (total * LABEL_MARGIN_PX / width if width > 0 else total * 0.02)
        self.plot.getPlotItem().setXRange(start, start + total, padding=0)

    def _set_value_texts(self, texts: list[str], values) -> None:
        item = self.plot.getPlotItem()
        for t in self._value_items:
            item.removeItem(t)
        self._value_items = []
        for i, (text, val) in enumerate(zip(texts, values, strict=False)):
            label = pg.TextItem(text, color=text_color(), anchor=(0, 0.5))
            label.setPos(max(float(val), 0.0), float(i))
            item.addItem(label)
            self._value_items.append(label)
