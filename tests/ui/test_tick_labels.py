"""Tick labels never run into each other: the Gradients value plot of a [1, 16, 50257] logits
gradient (and of one position's 50257 values) at narrow widths drew "0", "20000" and
"40000" as one string. Checked on every labelled axis of the panel, at many widths, from the
rectangles the axis draws and from its tick values, tick strings and font metrics."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QFontMetricsF, QImage, QPainter

from inspector.autodiff import compute_gradients
from inspector.loaders import load_model
from tests.ui._onnx_models import seq_logits
from tests.ui._panel_helpers import grab_nonblank

#: Panel widths to try: the value plot is then ~140 to ~420 px wide.
WIDTHS = range(380, 700, 6)


@pytest.fixture(scope="module")
def logits_gradient(tmp_path_factory) -> np.ndarray:
    """d loss / d logits of the real sequence model, [1, 16, 50257]."""
    model = load_model(seq_logits(tmp_path_factory.mktemp("seq") / "seq.onnx"))
    x = np.random.default_rng(1).normal(size=(1, 16, 8)).astype(np.float32)
    g = compute_gradients(model, {"x": x}, target=None, loss="ce").values["logits"]
    assert g.shape == (1, 16, 50257)
    return g


def drawn_labels(axis: pg.AxisItem) -> list[tuple[QRectF, str]]:
    """The (rectangle, text) of every tick label the axis draws."""
    image = QImage(4, 4, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [] if not specs else [(rect, text) for rect, _flags, text in specs[2]]


def major_label_rects(axis: pg.AxisItem) -> list[tuple[QRectF, str]]:
    """The major ticks' labels as tickValues and tickStrings give them, measured with the
    font: those wholly on the axis (pyqtgraph draws no other)."""
    bounds = axis.mapRectFromParent(axis.geometry())
    horizontal = axis.orientation in ("top", "bottom")
    length = bounds.width() if horizontal else bounds.height()
    lo, hi = axis.range
    spacing, values = axis.tickValues(lo, hi, length)[0]
    strings = axis.tickStrings(values, axis.autoSIPrefixScale * axis.scale, spacing)
    fm = QFontMetricsF(axis.style["tickFont"] or axis.font())
    out = []
    for v, s in zip(values, strings, strict=True):
        pos = (v - lo) / (hi - lo) * length
        if horizontal:
            rect = QRectF(pos - fm.horizontalAdvance(s) / 2, 0, fm.horizontalAdvance(s), fm.height())
            inside = rect.left() >= 0 and rect.right() <= length
        else:
            pos = length - pos
            rect = QRectF(0, pos - fm.height() * 0.4, fm.horizontalAdvance(s), fm.height() * 0.8)
            inside = rect.top() >= 0 and rect.bottom() <= length
        if inside:
            out.append((rect, s))
    return out


def _intersecting(labels: list[tuple[QRectF, str]]) -> list[tuple[str, str]]:
    return [(a[1], b[1]) for i, a in enumerate(labels) for b in labels[i + 1:]
            if a[0].intersects(b[0])]


def _labelled_axes(widget) -> list[pg.AxisItem]:
    return [item for view in widget.findChildren(pg.GraphicsView) if view.isVisible()
            for item in view.scene().items()
            if isinstance(item, pg.AxisItem) and item.isVisible() and item.style["showValues"]]


@pytest.mark.parametrize("shape", ["sequence", "vector"])
def test_value_plot_tick_labels_never_overlap(qtbot, logits_gradient, tmp_path, shape) -> None:
    from inspector.ui.panels.gradients import GradientValuePanel

    value = logits_gradient if shape == "sequence" else logits_gradient[:, -1]  # 16x50257 / 50257
    panel = GradientValuePanel()
    qtbot.addWidget(panel)
    panel.resize(WIDTHS[0], 180)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_activation(None, "logits", value)
    assert panel.kind == ("sequence" if shape == "sequence" else "bars")
    for width in WIDTHS:
        panel.resize(width, 180)
        qtbot.wait(5)
        axes = _labelled_axes(panel)
        assert len(axes) >= 4, width  # the value plot's and the histogram's (and a colour bar)
        for axis in axes:
            drawn = drawn_labels(axis)
            assert not _intersecting(drawn), (width, axis.orientation, _intersecting(drawn))
            if axis.orientation == "bottom" and axis._tickLevels is None:
                # what is drawn is the axis's own tick strings, as wide as the font says
                fm = QFontMetricsF(axis.style["tickFont"] or axis.font())
                strings = {s for spacing, values in axis.tickValues(*axis.range, axis.width())
                           for s in axis.tickStrings(values, axis.autoSIPrefixScale * axis.scale,
                                                     spacing)}
                for rect, text in drawn:
                    assert text in strings
                    assert abs(rect.width() - fm.horizontalAdvance(text)) <= 2, (text, rect)
            major = major_label_rects(axis)
            assert not _intersecting(major), (width, axis.orientation, _intersecting(major))
        # the value plot's x axis still says where the columns are, from ~90 px of axis on
        bottom = panel.plot.getAxis("bottom")
        if bottom.width() >= 90:
            assert drawn_labels(bottom), (width, bottom.width())
    grab_nonblank(panel, str(tmp_path / f"ticks_{shape}.png"))
