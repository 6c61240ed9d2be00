"""The options a sample input is made with: seed, a value for every symbolic or unknown dim,
the image scaling preset, the CSV row and whether raw CSV values are standardized. One `InputChoice` per model tab holds them, so
they stay with the tab (and a newly opened model starts from its own defaults)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QWidget,
)

from inspector.ir import format_shape
from inspector.runtime.errors import InputError
from inspector.runtime.input_spec import InputSpec
from inspector.runtime.inputs import DEFAULT_SEQUENCE, resolve_shape

# Label shown in the combo for each scaling preset load_image knows.
SCALING_LABELS = {
    "0-1": "0-1",
    "0-255": "0-255",
    "imagenet": "ImageNet mean/std",
    "-1-1": "-1-1",
}
#: A spin box accepts sizes far past any sane input so that an absurd one reaches the size
#: check in make_inputs and gets its one-sentence message, instead of being silently clamped.
MAX_DIM = 2_000_000_000
#: Option edits are coalesced: typing "32" is one change, not "3" then "32".
SETTLE_MS = 300


@dataclass
class InputChoice:
    """What the next input of one tab is made from (kind, file) and with (seed, dims, ...)."""

    kind: str = "random"
    path: str | None = None
    seed: int = 0
    dims: dict[str, int] = field(default_factory=dict)
    scaling: str = "0-1"
    row: int = 0
    standardize: bool = True


@dataclass(frozen=True)
class DimField:
    """One symbolic or unknown dim to ask for: its `dims` key, label, default and users."""

    key: str
    label: str
    default: int
    where: str


def _default(spec: InputSpec, axis: int | None) -> int:
    if axis is None:  # unknown rank: resolve_shape takes the length under the input's name
        return DEFAULT_SEQUENCE
    try:
        return resolve_shape(spec)[axis]
    except InputError:
        return 1


def dim_fields(specs: Sequence[InputSpec]) -> list[DimField]:
    """One field per symbolic or unknown dim: a named dim once (every input using it shares
    it, as onnxruntime requires), an unnamed one per input and axis."""
    fields: dict[str, DimField] = {}
    for spec in specs:
        if spec.shape is None:
            fields[spec.name] = DimField(spec.name, f"{spec.name} length", _default(spec, None),
                                         f"{spec.name} (rank unknown: fed as 1 x length)")
            continue
        for axis, d in enumerate(spec.shape):
            if isinstance(d, int) and d >= 0:
                continue
            where = f"{spec.name} axis {axis}"
            if isinstance(d, str) and d:
                old = fields.get(d)
                if old is not None:
                    fields[d] = DimField(d, d, old.default, f"{old.where}, {where}")
                else:
                    fields[d] = DimField(d, d, _default(spec, axis), where)
            else:
                key = f"{spec.name}:{axis}"
                label = "batch" if axis == 0 else f"{spec.name}[{axis}]"
                if len(specs) > 1 and axis == 0:
                    label = f"{spec.name} batch"
                fields[key] = DimField(key, label, _default(spec, axis), where)
    return list(fields.values())


#: Dim names longer than this are cut in the middle on screen (the tooltip has them whole):
#: paddle2onnx's `p2o.DynamicDimension.0` pushed the Inspect row past the window's edge.
DIM_LABEL_CHARS = 14


def elide(text: str, limit: int = DIM_LABEL_CHARS) -> str:
    """`text` cut in the middle to `limit` characters ("p2o.Dy…ension.0")."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "…" + text[-(limit - 1 - head):]


def short_shape(shape) -> str:
    """A shape label with each long symbolic dim elided."""
    if shape is None:
        return "?"
    return "x".join(elide(d, 10) if isinstance(d, str) else ("?" if d is None else str(d))
                    for d in shape)


def _looks_like_image(spec: InputSpec) -> bool:
    try:
        return spec.shape is not None and spec.image_layout is not None
    except InputError:  # a dtype numpy cannot hold (bfloat16, ...): not an image input
        return False


def is_csv(path: str | None) -> bool:
    """True when `path` names a CSV file (its row is then chosen)."""
    return bool(path) and Path(str(path)).suffix.lower() == ".csv"


class InputOptions(QWidget):
    """A row of controls for the current tab's `InputChoice`; edits change it in place."""

    options_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.choice = InputChoice()
        self.specs: list[InputSpec] = []
        self.dim_spins: dict[str, QSpinBox] = {}
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.seed = QSpinBox(self)
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("Seed of the random input: the same seed gives the same input")
        self.seed.setMaximumWidth(110)
        self.seed_label = QLabel("seed", self)
        self.dims_box = QWidget(self)
        self._dims_layout = QHBoxLayout(self.dims_box)
        self._dims_layout.setContentsMargins(0, 0, 0, 0)
        self.scaling_label = QLabel("image scaling", self)
        self.scaling = QComboBox(self)
        for key, text in SCALING_LABELS.items():
            self.scaling.addItem(text, key)
        self.scaling.setToolTip("How image pixels become numbers: 0-1 (x/255), 0-255 (raw), "
                                "ImageNet mean/std ((x/255-mean)/std), -1-1 (x/127.5-1)")
        self.row_label = QLabel("CSV row", self)
        self.row = QSpinBox(self)
        self.row.setRange(0, 10_000_000)
        self.row.setToolTip("Data row of the CSV file (0 = first row after any header)")
        self.row.setMaximumWidth(100)
        self.standardize = QCheckBox("standardize", self)
        self.standardize.setToolTip("Raw CSV values become (value - mean) / std with the mean and "
                                    "std the model was trained with (from the samples manifest)")
        self.mean_std: tuple[list[float], list[float]] | None = None
        self.shapes = QLabel(self)
        self.shapes.setStyleSheet("color: #555555;")
        # The shapes text may be long; it is cut at the window's edge rather than widening it.
        self.shapes.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.shapes.setMinimumWidth(40)
        for w in (self.seed_label, self.seed, self.dims_box, self.scaling_label, self.scaling,
                  self.row_label, self.row, self.standardize):
            lay.addWidget(w)
        lay.addWidget(self.shapes, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SETTLE_MS)
        self._timer.timeout.connect(self.options_changed)
        self.seed.valueChanged.connect(self._seed_changed)
        self.scaling.currentIndexChanged.connect(self._scaling_changed)
        self.row.valueChanged.connect(self._row_changed)
        self.standardize.toggled.connect(self._standardize_changed)
        self.set_specs([], InputChoice())

    def set_specs(self, specs: Sequence[InputSpec], choice: InputChoice,
                  mean_std: tuple[list[float], list[float]] | None = None) -> None:
        """Show the options of a model with inputs `specs`, editing `choice` from now on;
        `mean_std` is the standardization its CSV rows get (None: none known)."""
        self._timer.stop()
        self.specs, self.choice, self.mean_std = list(specs), choice, mean_std
        while self._dims_layout.count():
            w = self._dims_layout.takeAt(0).widget()
            if w is not None:
                w.hide()
                w.deleteLater()
        self.dim_spins = {}
        for f in dim_fields(self.specs):
            choice.dims.setdefault(f.key, f.default)
            label = QLabel(elide(f.label), self.dims_box)
            spin = QSpinBox(self.dims_box)
            spin.setRange(1, MAX_DIM)
            spin.setMaximumWidth(110)
            spin.setValue(choice.dims[f.key])
            tip = f"Size of the symbolic dim {f.label!r} ({f.where}); default {f.default}"
            label.setToolTip(tip)
            spin.setToolTip(tip)
            spin.valueChanged.connect(lambda v, k=f.key: self._dim_changed(k, v))
            self._dims_layout.addWidget(label)
            self._dims_layout.addWidget(spin)
            self.dim_spins[f.key] = spin
        self.dims_box.setVisible(bool(self.dim_spins))
        for w, v in ((self.seed, choice.seed), (self.row, choice.row)):
            w.blockSignals(True)
            w.setValue(v)
            w.blockSignals(False)
        self.scaling.blockSignals(True)
        self.scaling.setCurrentIndex(max(0, self.scaling.findData(choice.scaling)))
        self.scaling.blockSignals(False)
        self.standardize.blockSignals(True)
        self.standardize.setChecked(choice.standardize)
        self.standardize.blockSignals(False)
        self.set_file(choice.path)
        images = any(_looks_like_image(s) for s in self.specs)
        self.scaling_label.setVisible(images)
        self.scaling.setVisible(images)
        self._show_shapes()

    def set_file(self, path: str | None) -> None:
        """Remember the chosen input file; a new file starts at row 0; CSVs show the row box."""
        if path != self.choice.path:
            self.choice.row = 0
            self.row.blockSignals(True)
            self.row.setValue(0)
            self.row.blockSignals(False)
        self.choice.path = path
        self.row_label.setVisible(is_csv(path))
        self.row.setVisible(is_csv(path))
        self.standardize.setVisible(is_csv(path) and self.mean_std is not None)

    def csv_mean_std(self) -> tuple[list[float], list[float]] | None:
        """The mean and std to standardize CSV rows with, when known and chosen."""
        return self.mean_std if self.choice.standardize else None

    def set_dim(self, key: str, value: int) -> None:
        """Set a dim's spin box (as the user would)."""
        self.dim_spins[key].setValue(value)

    def shape_text(self) -> str:
        """The shapes the inputs will be fed with, e.g. "features 1x4"."""
        return self.shapes.text()

    def _show_shapes(self) -> None:
        parts = []
        for spec in self.specs:
            try:
                parts.append(f"{spec.name} {format_shape(resolve_shape(spec, self.choice.dims))}")
            except InputError:
                parts.append(f"{spec.name} ?")
        self.shapes.setText("→ " + ", ".join(parts) if parts else "")
        self.shapes.setToolTip(self.shapes.text())

    def _changed(self) -> None:
        self._show_shapes()
        self._timer.start()

    def _seed_changed(self, v: int) -> None:
        self.choice.seed = int(v)
        self._changed()

    def _dim_changed(self, key: str, v: int) -> None:
        self.choice.dims[key] = int(v)
        self._changed()

    def _scaling_changed(self, _i: int) -> None:
        self.choice.scaling = str(self.scaling.currentData())
        self._changed()

    def _row_changed(self, v: int) -> None:
        self.choice.row = int(v)
        self._changed()

    def _standardize_changed(self, on: bool) -> None:
        self.choice.standardize = bool(on)
        self._changed()
