"""Every number written beside an output bar lies inside the plot's view box: at the
first-run dock's height the top bar's "0.9744" ran past the right edge and was cut."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRectF

from inspector.ui.panels.outputs import OutputPanel

from ._panel_helpers import shown_panel


def label_rects(panel: OutputPanel) -> list[QRectF]:
    """The drawn text of each shown bar's number, in scene coordinates: the item's width
    and one line of text round its centre (the item's box is padded above and below)."""
    line = panel.fontMetrics().height()
    rects = []
    for t in panel._value_items[:panel.shown_rows()]:
        box = t.mapRectToScene(t.boundingRect())
        rects.append(QRectF(box.left(), box.center().y() - line / 2, box.width(), line))
    return rects


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


@pytest.mark.parametrize("size", [(940, 130), (1260, 200), (420, 160)])
@pytest.mark.parametrize("probs", [
    softmax(np.array([6.0, 1.2, 0.4, -1.0, 0.0, 0.3, -0.5, 0.1, 0.2, -2.0])),  # top 0.98
    softmax(np.zeros(10)) + np.linspace(0, 1e-3, 10),                          # near uniform
    np.array([1.0, 0.0, 0.0]),                                                 # a sure class
], ids=["confident", "uniform", "one-hot"])
def test_bar_numbers_lie_inside_the_view(qtbot, size, probs) -> None:
    panel = shown_panel(qtbot, OutputPanel, *size)
    panel.set_outputs({"probs": probs[None].astype(np.float32)})
    qtbot.wait(20)
    view = panel.plot.getPlotItem().getViewBox().sceneBoundingRect()
    rects = label_rects(panel)
    assert rects
    for text, rect in zip(panel.value_texts(), rects, strict=False):
        assert view.contains(rect), f"{text!r} at {rect} is cut by the view {view}"
    # the bars are still drawn to scale from the left edge: the top bar is the longest
    # thing on the plot and the numbers sit right after their bars
    assert panel.value_texts()[0] == f"{probs.max():.4g}"


def test_probability_axis_reads_probabilities(qtbot) -> None:
    """A top probability of 0.24 puts ticks at 0.05 .. 0.3, not "50 .. 300 (x0.001)"."""
    panel = shown_panel(qtbot, OutputPanel, 940, 200)
    probs = np.array([0.2386, 0.1417, 0.12, 0.1, 0.09, 0.08, 0.08, 0.06, 0.05, 0.0397])
    panel.set_outputs({"probs": probs[None].astype(np.float32)})
    qtbot.wait(20)
    axis = panel.plot.getPlotItem().getAxis("bottom")
    assert "x0.001" not in axis.labelString() and axis.autoSIPrefixScale == 1
    lo, hi = axis.range
    ticks = [v for level in axis.tickValues(lo, hi, axis.width()) for v in level[1]]
    assert ticks and max(ticks) <= 1.0
    shown = axis.tickStrings(ticks, axis.autoSIPrefixScale, 0.05)
    assert any(t.startswith("0.") for t in shown), shown
