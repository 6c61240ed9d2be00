"""The saliency panel: |d loss / d input| for the current input, drawn over the input image
(a grey picture with a heat overlay) or, for vectors and short sequences, as one bar per
feature. It shows which input values the loss is most sensitive to."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from inspector.runtime.stats import finite_levels
from inspector.ui.panels._common import ElidedLabel, Panel, layout_plot
from inspector.ui.panels.colormaps import get_colormap
from inspector.ui.panels.levels import set_colorbar_levels

#: Images smaller than this on both sides are drawn as bars (a 4-feature row is no picture).
MIN_IMAGE_SIDE = 5
MAX_BARS = 512


def image_layout(shape: tuple[int, ...], hint: str | None = None) -> str | None:
    """"HW", "HWC" or "CHW" when an input of `shape` (batch dropped) is a picture, else None."""
    if len(shape) == 2:
        return "HW" if min(shape) >= MIN_IMAGE_SIDE else None
    if len(shape) != 3:
        return None
    if hint in ("NHWC", "NCHW"):
        layout = "HWC" if hint == "NHWC" else "CHW"
    elif shape[-1] in (1, 3, 4) and shape[0] not in (1, 3, 4):
        layout = "HWC"
    elif shape[0] in (1, 3, 4):
        layout = "CHW"
    else:
        layout = "HWC"
    spatial = shape[:2] if layout == "HWC" else shape[1:]
    return layout if min(spatial) >= MIN_IMAGE_SIDE else None


def saliency_map(x: np.ndarray, grad: np.ndarray, hint: str | None = None
                 ) -> tuple[str, np.ndarray | None, np.ndarray]:
    """("image", grey base H x W, |grad| H x W) or ("bars", None, |grad| flat).

    Colour channels are reduced by their largest |grad| (Simonyan et al., 2014), the input
    by its channel mean; a batch of one is dropped, a larger batch shows sample 0.
    """
    g = np.abs(np.asarray(grad, dtype=np.float64))
    a = np.asarray(x, dtype=np.float64)
    if a.shape != g.shape:
        raise ValueError(f"gradient shape {g.shape} does not match the input {a.shape}")
    if g.ndim >= 2 and (g.shape[0] == 1 or g.ndim >= 4):
        g, a = g[0], a[0]
    layout = image_layout(g.shape, hint)
    if layout == "HW":
        return "image", a, g
    if layout == "HWC":
        return "image", a.mean(axis=-1), g.max(axis=-1)
    if layout == "CHW":
        return "image", a.mean(axis=0), g.max(axis=0)
    return "bars", None, g.reshape(-1)


class SaliencyPanel(Panel):
    """Where the loss is most sensitive to the input."""

    TITLE = "Saliency |d loss / d input|"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = "none"
        self.heat: np.ndarray | None = None
        self.base: np.ndarray | None = None
        self.view, self.plot = layout_plot(self)
        self.base_item = pg.ImageItem(axisOrder="row-major")
        self.heat_item = pg.ImageItem(axisOrder="row-major")
        self.heat_item.setOpacity(0.6)  # the picture stays visible under the heat
        self.plot.addItem(self.base_item)
        self.plot.addItem(self.heat_item)
        self.colorbar = pg.ColorBarItem(colorMap=get_colormap("inferno"), interactive=False,
                                        width=14, colorMapMenu=False)
        self.colorbar.setImageItem(self.heat_item, insert_in=self.plot)
        self.colorbar.axis.setTextPen(pg.mkPen("#222"))
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#d62728", pen=None)
        self.plot.addItem(self.bars)
        # The summary shares the title's row: below the picture it took a row of a short
        # dock's height from it.
        self.summary = ElidedLabel("", self)
        self.header.addWidget(self.summary, 1)
        self._layout.addWidget(self.view, 1)
        self.clear()

    def set_saliency(self, name: str, x: np.ndarray, grad: np.ndarray, hint: str | None = None,
                     feature_names: list[str] | None = None) -> None:
        """Show |grad| of input `name` over the input `x` (`hint`: "NHWC"/"NCHW" or None)."""
        kind, base, heat = saliency_map(x, grad, hint)
        self.kind, self.base, self.heat = kind, base, heat
        self.set_subject(name)
        if kind == "image":
            self._draw_image(base, heat)
        else:
            self._draw_bars(heat, feature_names)
        top = tuple(int(i) for i in np.unravel_index(int(np.argmax(heat)), heat.shape)) \
            if heat.size else None
        where = "" if top is None else (
            f"most sensitive at {'pixel (row, col)' if kind == 'image' else 'feature'} "
            f"{top if kind == 'image' else top[0]}")
        if kind == "bars" and top is not None and feature_names and len(feature_names) == heat.size:
            where = f"most sensitive to {feature_names[top[0]]}"
        if not heat.size or heat.max() <= 0:
            where = "the loss does not change with the input here (every gradient is 0)"
        self.summary.setText(f"max |grad| {heat.max() if heat.size else 0:.3g}  {where}")

    def clear(self) -> None:
        """Show nothing."""
        super().clear()
        self.kind, self.base, self.heat = "none", None, None
        self.base_item.clear()
        self.heat_item.clear()
        self.colorbar.hide()
        self.bars.setOpts(x=[], height=[])
        self.summary.setText("Backpropagate to see which inputs the loss depends on most.")

    def _draw_image(self, base: np.ndarray, heat: np.ndarray) -> None:
        self.bars.setOpts(x=[], height=[])
        self.bars.hide()
        lo, hi = finite_levels(base)
        self.base_item.setImage(base.astype(np.float32), levels=(lo, hi if hi > lo else lo + 1))
        self.base_item.setLookupTable(get_colormap("gray").getLookupTable(nPts=256))
        # Transparent where the gradient is small, opaque where it is large.
        lut = get_colormap("inferno").getLookupTable(nPts=256, alpha=True)
        lut[:, 3] = np.linspace(0, 255, 256).astype(np.ubyte)
        hmax = float(heat.max()) if heat.size and heat.max() > 0 else 1.0
        self.heat_item.setImage(heat.astype(np.float32), levels=(0.0, hmax))
        self.heat_item.setLookupTable(lut)
        set_colorbar_levels(self.colorbar, 0.0, float(heat.max()) if heat.size else 0.0)
        self.colorbar.show()
        for item in (self.base_item, self.heat_item):
            item.setRect(-0.5, -0.5, heat.shape[1], heat.shape[0])
            item.show()
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        # No bottom axis under the picture: in a short dock its ticks and "column" caption
        # took ~40 of ~70 px, and the aspect-locked picture shrank to 12 px. The summary
        # names the most sensitive pixel; the rows keep their ticks.
        self.plot.showAxis("bottom", False)
        self.plot.setLabel("left", "row")
        self.plot.setRange(xRange=(-0.5, heat.shape[1] - 0.5), yRange=(-0.5, heat.shape[0] - 0.5),
                           padding=0.02)

    def _draw_bars(self, heat: np.ndarray, feature_names: list[str] | None) -> None:
        self.base_item.clear()
        self.heat_item.clear()
        self.colorbar.hide()
        shown = heat[:MAX_BARS]
        if heat.size > MAX_BARS:
            self.set_notes([f"first {MAX_BARS} of {heat.size} input values"])
        x = np.arange(shown.size, dtype=np.float64)
        self.bars.setOpts(x=x, height=shown, width=0.8)
        self.bars.show()
        self.plot.invertY(False)
        self.plot.setAspectLocked(False)
        self.plot.showAxis("bottom", True)
        self.plot.setLabel("bottom", "input feature")
        self.plot.setLabel("left", "|d loss / d x|")
        names = feature_names if feature_names and len(feature_names) == heat.size else None
        ticks = [(i, names[i] if names else str(i)) for i in range(shown.size)] \
            if shown.size <= 32 else None
        self.plot.getAxis("bottom").setTicks([ticks] if ticks else None)
        top = float(shown.max()) if shown.size and shown.max() > 0 else 1.0
        self.plot.setRange(xRange=(-0.5, shown.size - 0.5), yRange=(0, top), padding=0.04)
