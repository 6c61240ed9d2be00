"""The weight panel: a node's weights as a heatmap with a colour bar, conv kernels as a grid
per output channel, vectors as bars, with a histogram, statistics, an optional gradient
heatmap beside the weights, and export to .npy."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QLabel,
    QPushButton,
    QWidget,
)

from inspector.ir import Node, Weight
from inspector.runtime.stats import (
    downsample_1d,
    downsample_2d,
    summarize,
)
from inspector.ui.panels._common import (
    HistogramPlot,
    Panel,
    PlotAndSide,
    block_note,
    block_rect,
    stats_text,
    tile_maps,
)
from inspector.ui.panels.colormaps import (
    COLORMAP_NAMES,
    annotate_cells,
    get_colormap,
    is_diverging,
)
from inspector.ui.panels.levels import color_array

#: Matrices up to this many rows and columns get their values written in the cells.
MAX_ANNOTATED = 16
#: Largest side of a heatmap as drawn; bigger matrices are block-averaged first.
MAX_IMAGE_SIDE = 1024
MAX_KERNEL_OUT = 64
MAX_KERNEL_IN = 32
MAX_BARS = 512

# Keras stores conv kernels spatial-first; ONNX output-channel first (the Conv schema's W).
_KERAS_NAMES = {"kernel", "depthwise_kernel", "pointwise_kernel", "recurrent_kernel"}


def kernel_layout(node: Node | None, weight: Weight) -> str:
    """The axis order of a 3-D/4-D conv kernel: "OIHW", "IOHW", "HWIO" or "HWOI"."""
    op = node.op_type if node is not None else ""
    keras = weight.name in _KERAS_NAMES or weight.tensor.kind == "keras"
    if keras:
        return "HWOI" if "Transpose" in op else "HWIO"
    return "IOHW" if op == "ConvTranspose" else "OIHW"


def to_oihw(kernel: np.ndarray, layout: str) -> np.ndarray:
    """A 3-D or 4-D kernel in `layout` reordered to (out, in, height, width)."""
    k = np.asarray(kernel)
    if k.ndim == 3:  # 1-D convolution: a height of one
        k = k[None] if layout.startswith("HW") else k[:, :, None]
    order = {"OIHW": (0, 1, 2, 3), "IOHW": (1, 0, 2, 3), "HWIO": (3, 2, 0, 1),
             "HWOI": (2, 3, 0, 1)}[layout]
    return k.transpose(order)


class WeightPanel(Panel):
    """A node's weights: selector, heatmap or kernel grid, histogram, stats, export."""

    TITLE = "Weights"
    weight_selected = Signal(str)
    exported = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._node: Node | None = None
        self._array: np.ndarray | None = None
        self._gradient: np.ndarray | None = None
        self.kind = "none"  # "matrix", "kernels", "bars", "scalar" or "none"
        self.tile_origins: list[tuple[int, int]] = []
        self.block = (1, 1)  # rows x columns averaged per heatmap cell

        bar = self.header  # the controls share the title's row: a row more for the heatmap
        self.selector = QComboBox(self)
        self.selector.currentIndexChanged.connect(self._on_selected)
        self.cmap_box = QComboBox(self)
        self.cmap_box.addItems(list(COLORMAP_NAMES))
        self.cmap_box.currentTextChanged.connect(self.set_colormap)
        self.export_button = QPushButton("Export .npy...", self)
        self.export_button.clicked.connect(self._export_dialog)
        bar.addWidget(QLabel("weight:", self))
        bar.addWidget(self.selector, 1)
        bar.addWidget(QLabel("colours:", self))
        bar.addWidget(self.cmap_box)
        bar.addWidget(self.export_button)

        self.view = pg.GraphicsLayoutWidget(self)
        self.view.setBackground("w")
        self.plot = self.view.addPlot(row=0, col=0)
        self.plot.invertY(True)
        self.plot.setMenuEnabled(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(colorMap=get_colormap("viridis"), interactive=False,
                                        width=16, colorMapMenu=False)
        self.colorbar.setImageItem(self.image, insert_in=self.plot)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#1f77b4")
        self.plot.addItem(self.bars)
        self.grad_plot = self.view.addPlot(row=0, col=2, title="gradient")
        self.grad_plot.invertY(True)
        self.grad_plot.setMenuEnabled(False)
        self.grad_image = pg.ImageItem(axisOrder="row-major")
        self.grad_plot.addItem(self.grad_image)
        self.grad_colorbar = pg.ColorBarItem(colorMap=get_colormap("diverging"),
                                             interactive=False, width=16, colorMapMenu=False)
        self.grad_colorbar.setImageItem(self.grad_image, insert_in=self.grad_plot)
        self._show_gradient(False)
        for p in (self.plot, self.grad_plot):
            for ax in ("left", "bottom"):
                p.getAxis(ax).setPen(pg.mkPen("#222"))
                p.getAxis(ax).setTextPen(pg.mkPen("#222"))
        for cb in (self.colorbar, self.grad_colorbar):
            cb.axis.setTextPen(pg.mkPen("#222"))

        self.histogram = HistogramPlot(self)
        self.stats_label = QLabel("", self)
        self.stats_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stats_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.cell_texts: list[pg.TextItem] = []
        self.grad_cell_texts: list[pg.TextItem] = []
        self.split = PlotAndSide(self.view, [self.histogram, self.stats_label], self)
        self._layout.addWidget(self.split, 1)

    # ------------------------------------------------------------------ public API

    def set_weights(self, node: Node) -> None:
        """Show `node`'s weights (the first one selected); a node without weights says so."""
        self._node = node
        self._gradient = None
        self.set_subject(node.name)
        self.selector.blockSignals(True)
        self.selector.clear()
        for w in node.weights:
            self.selector.addItem(f"{w.name}  {'x'.join(map(str, w.tensor.shape)) or 'scalar'}")
        self.selector.blockSignals(False)
        if not node.weights:
            self._show_nothing(f"{node.name} ({node.op_type}) has no weights.")
            return
        self.select_weight(0)

    def select_weight(self, index: int) -> None:
        """Show weight number `index` of the current node."""
        if self.selector.currentIndex() != index:
            self.selector.setCurrentIndex(index)  # re-enters through _on_selected
            return
        self._on_selected(index)

    def current_weight(self) -> Weight | None:
        """The weight on screen, or None."""
        i = self.selector.currentIndex()
        if self._node is None or not 0 <= i < len(self._node.weights):
            return None
        return self._node.weights[i]

    def current_array(self) -> np.ndarray | None:
        """The full (not downsampled) data of the weight on screen."""
        return self._array

    def set_colormap(self, name: str) -> None:
        """Use colour map `name` ("viridis", "diverging" centred at 0, "gray", "inferno")."""
        if self.cmap_box.currentText() != name:
            self.cmap_box.setCurrentText(name)
            return
        self.colorbar.setColorMap(get_colormap(name))
        self._apply_levels()

    def set_gradient(self, array: np.ndarray | None) -> None:
        """Show the loss gradient for the current weight beside it (None hides it)."""
        if array is None or self._array is None:
            self._gradient = None
            self._show_gradient(False)
            return
        g = np.asarray(array)
        if g.shape != self._array.shape:
            self._gradient = None
            self._show_gradient(False)
            self.set_notes([f"gradient shape {g.shape} does not match the weight {self._array.shape}"])
            return
        self._gradient = g
        img, _ = self._display_image(g)
        if img is None:
            self._show_gradient(False)
            return
        self.grad_image.setImage(img, autoLevels=False)
        self._place_image(self.grad_plot, self.grad_image, g, img)
        color_array(self.grad_colorbar, img, symmetric=True)
        levels = self.grad_colorbar.levels()
        self._annotate(self.grad_plot, self.grad_cell_texts, img, get_colormap("diverging"), levels,
                       "{:.2g}")
        self._show_gradient(True)
        self._fit(self.grad_plot, img)

    def export_npy(self, path: str) -> None:
        """Save the full current weight to `path` as .npy (OSError if it cannot be written)."""
        if self._array is None:
            raise ValueError("No weight is shown, so there is nothing to export.")
        np.save(path, self._array, allow_pickle=False)
        self.exported.emit(path)

    def clear(self) -> None:
        """Show nothing."""
        super().clear()
        self._node = None
        self.selector.clear()
        self._show_nothing("")
        for ax in ("left", "bottom"):
            self.plot.setLabel(ax, "")
            self.plot.getAxis(ax).setTicks(None)

    # ------------------------------------------------------------------ drawing

    def _on_selected(self, index: int) -> None:
        weight = self.current_weight()
        if weight is None:
            return
        try:
            array = np.asarray(weight.tensor.numpy())
        except Exception as exc:  # a lazy load can hit a broken file; say so, do not crash
            self._show_nothing(f"could not read {weight.name}: {exc}")
            return
        self._array = array
        self._gradient = None
        self._show_gradient(False)
        self.weight_selected.emit(weight.name)
        self._draw()

    def _display_image(self, a: np.ndarray) -> tuple[np.ndarray | None, list[str]]:
        """The 2-D image for `a` under the current weight's layout, and notes about it."""
        notes: list[str] = []
        self.tile_origins = []
        self.block = (1, 1)  # rows x columns averaged per heatmap cell
        if a.ndim in (3, 4) and self._looks_like_kernel(a):
            weight = self.current_weight()
            layout = kernel_layout(self._node, weight) if weight else "OIHW"
            k = to_oihw(a, layout).astype(np.float32, copy=False)
            o, i = k.shape[:2]
            if o > MAX_KERNEL_OUT or i > MAX_KERNEL_IN:
                notes.append(f"showing {min(o, MAX_KERNEL_OUT)} of {o} output and "
                             f"{min(i, MAX_KERNEL_IN)} of {i} input channels")
            k = k[:MAX_KERNEL_OUT, :MAX_KERNEL_IN]
            o, i, h, w = k.shape
            # One row of tiles per output channel, one column per input channel.
            img, origins = tile_maps(k.reshape(o * i, h, w), columns=i)
            self.tile_origins = origins
            self.tile_shape = (h, w)
            notes.append(f"{layout} kernel: rows are output channels, columns input channels")
            self.kind = "kernels"
            return img, notes
        if a.ndim >= 2:
            m = a.reshape(a.shape[0], -1) if a.ndim > 2 else a
            if a.ndim > 2:
                notes.append(f"{a.ndim}-D weight shown as {m.shape[0]} x {m.shape[1]}")
            m = m.astype(np.float32, copy=False)
            img, self.block = downsample_2d(m, MAX_IMAGE_SIDE)
            if self.block != (1, 1):
                notes.append(block_note(m.shape, img, self.block))
            self.kind = "matrix"
            return img, notes
        return None, notes

    def _looks_like_kernel(self, a: np.ndarray) -> bool:
        return self._node is not None and ("Conv" in self._node.op_type
                                           or self.current_weight().name in _KERAS_NAMES)

    def _draw(self) -> None:
        a = self._array
        assert a is not None
        summary = summarize(a)
        self.histogram.set_array(a)
        img, notes = self._display_image(a)
        if img is not None:
            self.bars.setOpts(x=[], height=[])
            self.bars.hide()
            self.image.setImage(img, autoLevels=False)
            self.image.show()
            self.colorbar.show()
            self._place_image(self.plot, self.image, a, img)
            self._apply_levels()
        elif a.ndim == 1:
            self.kind = "bars"
            values, factor = downsample_1d(a, MAX_BARS)
            if factor > 1:
                notes.append(f"{a.size} values shown as {values.size} bars (mean of {factor})")
            self.image.clear()
            self.image.hide()
            self.colorbar.hide()
            x = np.arange(values.size, dtype=np.float64) * factor
            self.bars.setOpts(x=x, height=values, width=0.8 * factor)
            self.bars.show()
            self.plot.setLabel("bottom", "index")
            self.plot.setLabel("left", "value")
        else:
            self.kind = "scalar"
            self.image.clear()
            self.bars.hide()
            self.colorbar.hide()
        self.plot.invertY(self.kind != "bars")
        self.plot.enableAutoRange()
        self.plot.autoRange()
        if img is not None:
            self._fit(self.plot, img)
        elif self.kind == "bars":
            n = values.size * factor
            self.plot.setXRange(-0.5 * factor, n - 0.5 * factor, padding=0.02)
        self.set_notes(notes)
        extra = [f"sparsity {summary.zeros:.1%}"]
        weight = self.current_weight()
        if weight is not None and weight.tensor.location:
            extra.append(f"from {weight.tensor.location}")
        self.stats_label.setText(stats_text(summary, extra))
        self.split.refit()  # the side keeps the width of the new text

    def _place_image(self, plot: pg.PlotItem, item: pg.ImageItem, a: np.ndarray,
                     img: np.ndarray) -> None:
        """Put `img` in index coordinates: cell (i, j) centred on (j, i) even when the image
        was block-averaged, and kernel tiles labelled by channel."""
        left, bottom = plot.getAxis("left"), plot.getAxis("bottom")
        if self.kind == "kernels":
            item.setRect(0, 0, img.shape[1], img.shape[0])
            plot.setAspectLocked(True)
            h, w = self.tile_shape
            rows = sorted({r for r, _ in self.tile_origins})
            cols = sorted({c for _, c in self.tile_origins})
            # At most ~16 labels per axis so they never overlap.
            step_r, step_c = max(1, len(rows) // 16), max(1, len(cols) // 16)
            left.setTicks([[(r + h / 2, str(k)) for k, r in enumerate(rows) if k % step_r == 0]])
            bottom.setTicks([[(c + w / 2, str(k)) for k, c in enumerate(cols) if k % step_c == 0]])
            plot.setLabel("bottom", "input channel")
            plot.setLabel("left", "output channel")
        else:
            item.setRect(*block_rect(img, self.block))
            plot.setAspectLocked(False)
            left.setTicks(None)
            bottom.setTicks(None)
            row_name, col_name = self._axis_names()
            plot.setLabel("bottom", col_name)
            plot.setLabel("left", row_name)

    def _axis_names(self) -> tuple[str, str]:
        """What rows and columns of a 2-D weight are, where the op says it."""
        node, weight = self._node, self.current_weight()
        if node is None or weight is None or self._array is None or self._array.ndim != 2:
            return "row", "column"
        op = node.op_type
        if op == "Gemm" and node.attr("transB", 0) and weight is node.weights[0]:
            return "unit (output)", "input"
        if (op in ("Dense", "MatMul", "Gemm") and weight is node.weights[0]) or weight.name == "kernel":
            return "input", "unit (output)"
        return "row", "column"

    def _apply_levels(self) -> None:
        if self.image.image is None:
            self._annotate(self.plot, self.cell_texts, None, None, (0.0, 1.0))
            return
        name = self.cmap_box.currentText()
        color_array(self.colorbar, self.image.image, symmetric=is_diverging(name))
        levels = self.colorbar.levels()
        self._annotate(self.plot, self.cell_texts, self.image.image, get_colormap(name), levels)

    def _annotate(self, plot: pg.PlotItem, texts: list[pg.TextItem], img: np.ndarray | None,
                  cmap: pg.ColorMap | None, levels: tuple[float, float],
                  fmt: str = "{:.2f}") -> None:
        """Write each value in its cell for small matrices, as the tutorials' imshow does."""
        for t in texts:
            plot.removeItem(t)
        texts.clear()
        if img is None or cmap is None or self.kind != "matrix" or self.block != (1, 1) \
                or max(img.shape) > MAX_ANNOTATED:
            return
        texts.extend(annotate_cells(plot, img, cmap, levels, fmt))

    def cell_annotations(self, gradient: bool = False) -> dict[tuple[int, int], str]:
        """{(row, column): text} of the values written in the heatmap's cells."""
        out = {}
        for t in self.grad_cell_texts if gradient else self.cell_texts:
            pos = t.pos()
            out[(int(round(pos.y())), int(round(pos.x())))] = t.toPlainText()
        return out

    def _fit(self, plot: pg.PlotItem, img: np.ndarray) -> None:
        """Frame exactly the image (autoRange pads it and lets the colour bar widen it)."""
        if self.kind == "matrix":
            rows, cols = img.shape[0] * self.block[0], img.shape[1] * self.block[1]
            plot.setRange(xRange=(-0.5, cols - 0.5), yRange=(-0.5, rows - 0.5), padding=0)
            small = max(rows, cols) <= MAX_ANNOTATED
            for axis, n in (("bottom", cols), ("left", rows)):
                plot.getAxis(axis).setTicks([[(i, str(i)) for i in range(n)]] if small else None)

    def _show_gradient(self, on: bool) -> None:
        self.grad_plot.setVisible(on)
        self.grad_colorbar.setVisible(on)

    def _show_nothing(self, message: str) -> None:
        self._array = None
        self.kind = "none"
        self.image.clear()
        self._annotate(self.plot, self.cell_texts, None, None, (0.0, 1.0))
        self.bars.setOpts(x=[], height=[])
        self.histogram.clear_data()
        self._show_gradient(False)
        self.stats_label.setText(message)
        self.set_notes([])

    def _export_dialog(self) -> None:
        weight = self.current_weight()
        if weight is None or self._array is None:
            return
        default = f"{self._node.name if self._node else 'weight'}_{weight.name}.npy".replace("/", "_")
        path, _ = QFileDialog.getSaveFileName(self, "Export weight", default, "NumPy array (*.npy)")
        if path:
            try:
                self.export_npy(path)
            except OSError as exc:
                self.set_notes([f"could not write {path}: {exc.strerror or exc}"])
