"""Colour-bar levels that say what a (near-)constant array is.

Over an array whose values are all equal, or differ only in the last digits (0.5 +- 1e-7),
pyqtgraph's colour-bar axis drew no label, or ticks such as -0.4 .. 0.4 for an all-zero
array (values that are not there), or a lone "0". Such a bar gets one tick in its middle
that reads the value: "all 0", or "0.5 ±1e-07".
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFontMetricsF

#: A spread below this fraction of the values' size cannot be read off distinct tick labels.
NEAR_CONSTANT = 1e-5


def constant_label(lo: float, hi: float) -> str | None:
    """The tick text for data spanning lo .. hi when it is (near-)constant, else None."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    spread = hi - lo
    if spread <= 0:
        return f"all {lo:.6g}"
    if spread > NEAR_CONSTANT * max(abs(lo), abs(hi)):
        return None
    mid, half = (lo + hi) / 2, spread / 2
    return f"{mid:.6g} ±{half:.1g}"


def set_colorbar_levels(colorbar: pg.ColorBarItem, lo: float, hi: float) -> None:
    """Colour `colorbar` from lo to hi (the data's own min and max); a (near-)constant
    range is widened for the colours and labelled with its value."""
    lo, hi = float(lo), float(hi)
    label = constant_label(lo, hi)
    if label is None:
        colorbar.axis.setTicks(None)
        colorbar.axis.setWidth(None)  # sized to its labels again
        colorbar.setLevels((lo, hi))
        return
    mid = (lo + hi) / 2
    # The colours: the data's range if it has one, else a unit range round the value.
    low, high = (lo, hi) if hi > lo else (mid - 0.5, mid + 0.5)
    colorbar.setLevels((low, high))
    axis = colorbar.axis
    axis.setTicks([[(mid, label)], []])
    # The axis grows to a new label's width only after a paint that leaves it out: a
    # label wider than the last one ("0.5 ±1e-07") was never drawn. Make room for it now.
    font = axis.style.get("tickFont") or axis.font()
    text = QFontMetricsF(font).horizontalAdvance(label)
    axis.setWidth(int(math.ceil(text)) + max(0, axis.style["tickLength"]) +
                  axis.style["tickTextOffset"][0] + 4)


def color_array(colorbar: pg.ColorBarItem, array, symmetric: bool = False) -> None:
    """Colour `colorbar` over the finite values of `array` (centred on 0 if `symmetric`,
    for a diverging map); a (near-)constant array is labelled with its value."""
    flat = np.asarray(array, dtype=np.float64).reshape(-1)
    flat = flat[np.isfinite(flat)]
    if not flat.size:
        set_colorbar_levels(colorbar, 0.0, 1.0)
        return
    lo, hi = float(flat.min()), float(flat.max())
    if symmetric and constant_label(lo, hi) is None:
        m = max(abs(lo), abs(hi))
        lo, hi = -m, m
    set_colorbar_levels(colorbar, lo, hi)
