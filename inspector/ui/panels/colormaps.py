"""Colour maps for the panels: viridis for magnitudes (matplotlib's imshow default, as in
the tutorials), a blue-white-orange diverging map centred at 0 for signed data, and the
TensorFlow Playground colours for the neuron view."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

#: Playground's colours: blue for positive, orange for negative.
POSITIVE_RGB = (31, 119, 180)
NEGATIVE_RGB = (245, 130, 32)
NEUTRAL_RGB = (240, 240, 240)

#: Names offered in the colour-map selectors, in menu order.
COLORMAP_NAMES: tuple[str, ...] = ("viridis", "diverging", "gray", "inferno")


def diverging() -> pg.ColorMap:
    """Orange (negative) through near-white (0) to blue (positive)."""
    return pg.ColorMap(
        pos=np.array([0.0, 0.5, 1.0]),
        color=np.array([NEGATIVE_RGB, NEUTRAL_RGB, POSITIVE_RGB], dtype=np.ubyte),
        name="diverging",
    )


def get_colormap(name: str) -> pg.ColorMap:
    """A colour map by menu name; unknown names fall back to viridis."""
    if name == "diverging":
        return diverging()
    if name == "gray":
        return pg.ColorMap(pos=np.array([0.0, 1.0]),
                           color=np.array([(0, 0, 0), (255, 255, 255)], dtype=np.ubyte),
                           name="gray")
    try:
        return pg.colormap.get(name)
    except (FileNotFoundError, KeyError, ValueError):
        return pg.colormap.get("viridis")


def is_diverging(name: str) -> bool:
    """Whether the map should be given levels symmetric about 0."""
    return name == "diverging"


def signed_rgb(values: np.ndarray, scale: float) -> np.ndarray:
    """Per-value RGB (N x 3 uint8): blue for positive, orange for negative, paler near 0."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    t = np.clip(np.abs(v) / scale, 0.0, 1.0)[:, None] if scale > 0 else np.zeros((v.size, 1))
    neutral = np.array(NEUTRAL_RGB, dtype=np.float64)
    target = np.where(v[:, None] >= 0, np.array(POSITIVE_RGB, float), np.array(NEGATIVE_RGB, float))
    return np.round(neutral + (target - neutral) * t).astype(np.uint8)


def annotate_cells(plot: pg.PlotItem, img: np.ndarray, cmap: pg.ColorMap,
                   levels: tuple[float, float], fmt: str = "{:.2f}") -> list[pg.TextItem]:
    """Write every value of a small matrix in its cell (cell (i, j) centred on (j, i)),
    black on light cells and white on dark ones; returns the text items added to `plot`."""
    lo, hi = levels
    span = hi - lo if hi > lo else 1.0
    items = []
    for (i, j), v in np.ndenumerate(img):
        if not np.isfinite(v):
            continue
        r, g, b = cmap.map((float(v) - lo) / span, mode="byte")[:3]
        # Rec. 601 luma: dark cells get white text so the number stays readable.
        color = "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#ffffff"
        text = pg.TextItem(fmt.format(float(v)), color=color, anchor=(0.5, 0.5))
        text.setPos(j, i)
        plot.addItem(text)
        items.append(text)
    return items
