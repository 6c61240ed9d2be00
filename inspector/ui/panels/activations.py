"""The activation panel: one node output for the current input, drawn by its shape: a bar
per unit for vectors, a grid of feature maps on one colour scale for images, a time x
feature heatmap for sequences; always a histogram with statistics."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from inspector.ir import Node, category_of
from inspector.runtime.activation_facts import activation_kind, dead_count, saturated_count
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
    grid_columns,
    layout_plot,
    stats_text,
    tile_maps,
)
from inspector.ui.panels.colormaps import get_colormap
from inspector.ui.panels.levels import color_array

MAX_BARS = 512
MAX_MAPS = 64
MAX_MAP_SIDE = 128
MAX_SEQUENCE_SIDE = 512


def guess_layout(node: Node | None, shape: tuple[int, ...]) -> tuple[str, bool]:
    """("NCHW" or "NHWC", guessed?) for a 3-D (batch-less) image tensor of `shape`.

    A Keras layer class means channels-last (Keras's default); an ONNX op channels-first
    (the Conv schema). Without a node the square spatial dims give it away.
    """
    if node is not None:
        if category_of(node.op_type, "onnx") not in ("other", "custom"):
            return "NCHW", True
        if category_of(node.op_type, "keras") != "custom":
            return "NHWC", True
    if shape[0] == shape[1] and shape[1] != shape[2]:
        return "NHWC", True
    return "NCHW", True


class ActivationPanel(Panel):
    """What one node produced for this input."""

    TITLE = "Activations"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = "none"  # "bars", "maps", "sequence" or "none"
        self.tile_origins: list[tuple[int, int]] = []
        self.shown_channels = 0
        self.bin_size = 1
        self.blocks = (1, 1)  # rows x columns averaged per heatmap cell
        self.array: np.ndarray | None = None

        self.view, self.plot = layout_plot(self)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#1f77b4", pen=None)
        self.plot.addItem(self.bars)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(colorMap=get_colormap("viridis"), interactive=False,
                                        width=16, colorMapMenu=False)
        self.colorbar.setImageItem(self.image, insert_in=self.plot)
        self.colorbar.axis.setTextPen(pg.mkPen("#222"))

        self.histogram = HistogramPlot(self)
        self.stats_label = QLabel("", self)
        self.stats_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stats_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.split = PlotAndSide(self.view, [self.histogram, self.stats_label], self)
        self._layout.addWidget(self.split, 1)
        self._show(None)

    def set_activation(self, node: Node | None, name: str, array: np.ndarray,
                       layout: str | None = None) -> None:
        """Show `array`, the value `name` produced by `node` (None for a graph input).

        `layout` ("NCHW", "NHWC" or None to guess) says where channels are in 4-D tensors.
        """
        a = np.asarray(array)
        notes: list[str] = []
        self.set_subject(name if node is None or node.name == name else f"{node.name} -> {name}")
        if a.dtype.kind not in "biuf":
            a = a.astype(np.float64) if a.dtype.kind == "b" else a
            if a.dtype.kind not in "biuf":
                self._show(None)
                self.stats_label.setText(f"{a.dtype} values cannot be plotted")
                return
        if a.ndim >= 2 and a.shape[0] == 1:
            a = a[0]
        elif a.ndim >= 4:
            notes.append(f"batch of {a.shape[0]}: showing sample 0")
            a = a[0]
        self.array = a
        if a.ndim == 0:
            a = a.reshape(1)
        if a.ndim == 1:
            self._draw_bars(a, notes)
        elif a.ndim == 2:
            self._draw_sequence(a, notes)
        elif a.ndim == 3:
            self._draw_maps(node, a, layout, notes)
        else:
            notes.append(f"{a.ndim}-D value: showing it flattened")
            self._draw_bars(a.reshape(-1), notes)
        self._draw_stats(node, a)
        self.set_notes(notes)

    def clear(self) -> None:
        """Show nothing."""
        super().clear()
        self.array = None
        self._show(None)
        self.histogram.clear_data()
        self.stats_label.setText("")
        # Axis captions and ticks belong to the value that was shown, not to the next model.
        for ax in ("left", "bottom"):
            self.plot.setLabel(ax, "")
            self.plot.getAxis(ax).setTicks(None)

    # ------------------------------------------------------------------ drawing

    def _show(self, kind: str | None) -> None:
        self.kind = kind or "none"
        bars = kind == "bars"
        self.bars.setVisible(bars)
        self.image.setVisible(kind in ("maps", "sequence"))
        self.colorbar.setVisible(kind in ("maps", "sequence"))
        if not bars:
            self.bars.setOpts(x=[], height=[])
        if kind not in ("maps", "sequence"):
            self.image.clear()

    def _draw_bars(self, v: np.ndarray, notes: list[str]) -> None:
        values, factor = downsample_1d(v, MAX_BARS)
        self.bin_size = factor
        if factor > 1:
            notes.append(f"{v.size} units shown as {values.size} bars (mean of {factor} each)")
        self._show("bars")
        x = np.arange(values.size, dtype=np.float64) * factor + (factor - 1) / 2
        self.bars.setOpts(x=x, height=values, width=0.8 * factor)
        self.plot.invertY(False)
        self.plot.setAspectLocked(False)
        self.plot.setLabel("bottom", "unit")
        self.plot.setLabel("left", "activation")
        for ax in ("left", "bottom"):
            self.plot.getAxis(ax).setTicks(None)
        if v.size <= 16:  # one labelled tick per unit: "unit 3" is then read off the axis
            self.plot.getAxis("bottom").setTicks([[(i, str(i)) for i in range(v.size)]])
        self.plot.autoRange()
        # Frame the units exactly: autoRange pads to -1 .. n + 0.5 for n bars.
        lo = min(0.0, float(np.nanmin(values))) if values.size else 0.0
        hi = max(0.0, float(np.nanmax(values))) if values.size else 1.0
        self.plot.setXRange(-0.5, v.size - 0.5, padding=0.01)
        self.plot.setYRange(lo, hi if hi > lo else lo + 1.0, padding=0.05)

    def _draw_image(self, img: np.ndarray, scale: np.ndarray) -> None:
        self.image.setImage(img, autoLevels=False)
        color_array(self.colorbar, scale)  # a constant `scale` is labelled with its value
        self.plot.invertY(True)

    def _draw_sequence(self, a: np.ndarray, notes: list[str]) -> None:
        img, self.blocks = downsample_2d(a.astype(np.float32, copy=False), MAX_SEQUENCE_SIDE)
        if self.blocks != (1, 1):
            notes.append(block_note(a.shape, img, self.blocks))
        self._show("sequence")
        # The cells are block means: the colour bar spans what is drawn (the raw range is in
        # the statistics). Scaled to the raw extremes, a logits gradient (one -1/T per row
        # among 50257 near-zeros) drew every 99-column mean the same colour.
        self._draw_image(img, img)
        self.image.setRect(*block_rect(img, self.blocks))
        self.plot.setAspectLocked(False)
        self.plot.setLabel("bottom", "feature")
        self.plot.setLabel("left", "step")
        for ax in ("left", "bottom"):
            self.plot.getAxis(ax).setTicks(None)
        self.plot.autoRange()

    def _draw_maps(self, node: Node | None, a: np.ndarray, layout: str | None,
                   notes: list[str]) -> None:
        if layout is None:
            layout, _ = guess_layout(node, a.shape)
            notes.append(f"channel axis guessed: {layout}")
        chw = a.transpose(2, 0, 1) if layout.upper() == "NHWC" else a
        c, h, w = chw.shape
        shown = chw[:MAX_MAPS]
        if c > MAX_MAPS:
            notes.append(f"showing {MAX_MAPS} of {c} feature maps")
        factor = max(1, -(-max(h, w) // MAX_MAP_SIDE))
        if factor > 1:
            shown = shown[:, ::factor, ::factor]
            notes.append(f"{h}x{w} maps shown every {factor}th pixel")
        self.shown_channels = shown.shape[0]
        cols = grid_columns(shown.shape[0], shown.shape[1] / max(1, shown.shape[2]))
        img, self.tile_origins = tile_maps(shown.astype(np.float32, copy=False), cols)
        self._show("maps")
        # One scale for every channel (not only the ones shown), so maps compare fairly.
        self._draw_image(img, chw)
        self.image.setRect(0, 0, img.shape[1], img.shape[0])
        self.plot.setAspectLocked(True)
        self.plot.setLabel("bottom", f"{c} channels of {h}x{w}")
        self.plot.setLabel("left", "")
        th, tw = shown.shape[1:]
        left = [(r + th / 2, str(k)) for k, (r, cc) in enumerate(self.tile_origins) if cc == 0]
        self.plot.getAxis("left").setTicks([left])
        self.plot.getAxis("bottom").setTicks([[]])
        self.plot.autoRange()

    def _draw_stats(self, node: Node | None, a: np.ndarray) -> None:
        summary = summarize(a)
        self.histogram.set_array(a)
        extra: list[str] = []
        found = activation_kind(node)
        if found is not None and summary.size:
            kind, params = found
            dead = dead_count(a, kind)
            sat = saturated_count(kind, post=a, params=params)
            if dead is not None:
                extra.append(f"dead (<= 0 after {kind}) {dead / summary.size:.1%}")
            if sat is not None:
                extra.append(f"saturated ({kind}) {sat / summary.size:.1%}")
        self.stats_label.setText(stats_text(summary, extra))
        self.split.refit()  # the side keeps the width of the new text
