"""A colour bar over a (near-)constant array says what the value is: one label reading the
value ("all 0", "0.5 ±1e-07"), where it showed no label, or ticks -0.4 .. 0.4 over zeros."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage, QPainter

from inspector.ir import Node
from inspector.ui.panels.activations import ActivationPanel
from inspector.ui.panels.weights import WeightPanel

from ._panel_helpers import shown_panel, weight


def drawn_labels(colorbar) -> list[str]:
    """The tick labels the colour bar's axis draws (those that fit its rectangle)."""
    image = QImage(200, 400, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = colorbar.axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [text for _rect, _flags, text in specs[2]] if specs else []


NEAR = 0.5 + np.random.default_rng(0).uniform(-1e-7, 1e-7, (6, 20))

CASES = [
    (np.zeros((6, 20), np.float32), ["all 0"]),
    (np.full((6, 20), 0.5, np.float32), ["all 0.5"]),
    (NEAR.astype(np.float64), ["0.5 ±1e-07"]),
]


@pytest.mark.parametrize(("array", "labels"), CASES, ids=["zeros", "halves", "near-0.5"])
def test_activation_colorbar_reads_a_constant(qtbot, array, labels) -> None:
    panel = shown_panel(qtbot, ActivationPanel, 700, 220)
    panel.set_activation(None, "constant", array)
    qtbot.wait(20)
    assert panel.kind == "sequence"
    assert drawn_labels(panel.colorbar) == labels


def test_weight_colorbar_reads_zeros_and_varied_weights_get_ticks_back(qtbot) -> None:
    panel = shown_panel(qtbot, WeightPanel, 700, 220)
    zero = Node("dense", "Dense", weights=(weight("kernel", np.zeros((4, 8), np.float32)),))
    panel.set_weights(zero)
    qtbot.wait(20)
    assert drawn_labels(panel.colorbar) == ["all 0"]
    varied = np.linspace(-1, 1, 32, dtype=np.float32).reshape(4, 8)
    panel.set_weights(Node("dense2", "Dense", weights=(weight("kernel", varied),)))
    qtbot.wait(20)
    labels = drawn_labels(panel.colorbar)
    assert len(labels) >= 2 and "all 0" not in labels, labels
