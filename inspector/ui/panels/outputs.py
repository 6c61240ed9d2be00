"""The output panel: class probabilities as a sorted horizontal bar chart with labels
(top-k), a single sigmoid unit as p and 1-p, or regression values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from inspector.runtime.activation_facts import apply_activation
from inspector.runtime.errors import InputError
from inspector.ui.panels._common import Panel, make_plot

MODES = ("auto", "probabilities", "logits", "regression")
MAX_REGRESSION_BARS = 256


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
    """What the model answered: top-k classes or regression values."""

    TITLE = "Output"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = "auto"
        self.shown_mode = "none"
        self._entries: list[tuple[str, float]] = []
        self._last: tuple[np.ndarray, list[str] | None, int] | None = None
        row = QHBoxLayout()
        row.addWidget(QLabel("show as:", self))
        self.mode_box = QComboBox(self)
        self.mode_box.addItems(list(MODES))
        self.mode_box.currentTextChanged.connect(self._mode_changed)
        row.addWidget(self.mode_box)
        row.addStretch(1)
        self._layout.addLayout(row)
        self.plot = make_plot(self, x_label="probability")
        self.bars = pg.BarGraphItem(x0=[], y=[], height=[], width=[], brush="#1f77b4", pen=None)
        self.plot.addItem(self.bars)
        self.plot.getPlotItem().invertY(True)  # the top class on top
        self.summary_label = QLabel("", self)
        self._layout.addWidget(self.plot, 1)
        self._layout.addWidget(self.summary_label)

    def set_output(self, array: np.ndarray, labels: list[str] | None = None,
                   mode: str = "auto", top_k: int = 10) -> None:
        """Show a model output (batch dim 1 dropped; the first row of a larger batch)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        self._last = (np.asarray(array), labels, top_k)
        self.mode = mode
        self.mode_box.blockSignals(True)
        self.mode_box.setCurrentText(mode)
        self.mode_box.blockSignals(False)
        self._draw()

    def entries(self) -> list[tuple[str, float]]:
        """The (label, value) pairs drawn, top bar first."""
        return list(self._entries)

    def load_labels(self, path: str | Path) -> list[str]:
        """Read labels from `path` and redraw the current output with them."""
        labels = load_labels(path)
        if self._last is not None:
            a, _, k = self._last
            self._last = (a, labels, k)
            self._draw()
        return labels

    def clear(self) -> None:
        """Show nothing."""
        super().clear()
        self._last = None
        self._entries = []
        self.shown_mode = "none"
        self.bars.setOpts(x0=[], y=[], height=[], width=[])
        self.summary_label.setText("")

    def _mode_changed(self, mode: str) -> None:
        self.mode = mode
        if self._last is not None:
            self._draw()

    def _draw(self) -> None:
        assert self._last is not None
        a, labels, top_k = self._last
        notes: list[str] = []
        v = a.astype(np.float64) if a.dtype.kind in "biuf" else np.zeros(0)
        if v.ndim >= 2 and v.shape[0] > 1:
            notes.append(f"batch of {v.shape[0]}: showing sample 0")
        if v.ndim >= 2:
            v = v[0]
        v = v.reshape(-1)
        names = [str(x) for x in labels] if labels else None
        if names is not None and len(names) != v.size and not (v.size == 1 and len(names) == 2):
            notes.append(f"{len(names)} labels for {v.size} outputs: using indices")
            names = None
        mode = self.mode
        if mode == "auto":
            mode = "probabilities" if looks_like_probabilities(v) else "regression" \
                if v.size == 1 else "scores"
        if mode == "logits":
            v = apply_activation("softmax", v) if v.size > 1 else apply_activation("sigmoid", v)
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
            self.plot.getPlotItem().setLabel("bottom", "value")
        elif mode == "probabilities" and v.size == 1:
            p = float(v[0])
            neg, pos = (names[0], names[1]) if names and len(names) == 2 else ("0", "1")
            entries = sorted([(pos, p), (neg, 1.0 - p)], key=lambda e: -e[1])
            self.plot.getPlotItem().setLabel("bottom", "probability")
        else:
            order = np.argsort(-v, kind="stable")[:max(1, top_k)]
            entries = [(names[i] if names else str(i), float(v[i])) for i in order]
            if v.size > top_k:
                notes.append(f"top {top_k} of {v.size} classes")
            self.plot.getPlotItem().setLabel("bottom", "probability" if mode ==
                                             "probabilities" else "score")
        self._entries = entries
        values = np.array([e[1] for e in entries], dtype=np.float64)
        y = np.arange(len(entries), dtype=np.float64)
        self.bars.setOpts(x0=np.minimum(values, 0), y=y, height=0.7, width=np.abs(values))
        left = self.plot.getPlotItem().getAxis("left")
        left.setTicks([[(i, e[0]) for i, e in enumerate(entries)]])
        # The axis does not grow for long tick labels by itself: size it to the longest.
        metrics = self.fontMetrics()
        widest = max((metrics.horizontalAdvance(e[0]) for e in entries), default=20)
        left.setWidth(min(300, widest + 16))
        if mode == "probabilities":
            self.plot.getPlotItem().setXRange(0, 1, padding=0.02)
            self.plot.getPlotItem().setYRange(-0.5, max(len(entries), 1) - 0.5, padding=0.02)
        else:
            self.plot.getPlotItem().autoRange()
        top = entries[0] if entries else None
        self.summary_label.setText("" if top is None else
                                   f"top: {top[0]}  ({top[1]:.4g})" if mode != "regression"
                                   else f"{v.size} value(s)")
        self.set_notes(notes)
