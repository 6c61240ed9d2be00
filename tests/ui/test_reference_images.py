"""Reference images of the node painter (a whole small graph, through the PNG export) and of
one panel (the Activation function curve with this input's points). See reference_images.py."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.loaders.registry import load_model
from tests.ui.reference_images import (
    MAX_DIFFERING,
    as_rgb,
    assert_image_approved,
    differing_fraction,
)
from tests.ui.view_models import conv_net


def _painted_graph(tmp_path, theme: str = "light"):
    from inspector.ui.graph.export import export_png
    from inspector.ui.graph.painter import PaintState
    from inspector.ui.graph.scene import SceneOptions, all_groups, prepare
    from inspector.ui.graph.style import palette

    model = load_model(conv_net(tmp_path / "conv.onnx"))
    data = prepare(model, model.graph, all_groups(model.graph), SceneOptions())
    out = tmp_path / f"graph_{theme}.png"
    export_png(data, out, 1.0, PaintState(palette(theme)))
    return as_rgb(out)


def test_node_painter_matches_its_reference(qtbot, tmp_path) -> None:
    assert_image_approved(_painted_graph(tmp_path), "node_painter_conv_net", tmp_path)


def test_the_tolerance_catches_a_real_change(qtbot, tmp_path, monkeypatch) -> None:
    """The same graph in the dark theme, or with one node recoloured, is not 'approved'."""
    monkeypatch.delenv("MI_UPDATE_REFERENCE", raising=False)  # compare, never rewrite
    light = _painted_graph(tmp_path)
    assert differing_fraction(light, _painted_graph(tmp_path, "dark")) > 10 * MAX_DIFFERING
    changed = light.copy()
    ys, xs = np.nonzero((light[:, :, 0] < 120) & (light[:, :, 2] > 120))  # a blue Conv header
    assert len(ys) > 200
    changed[ys.min():ys.min() + 18, xs.min():xs.min() + 90] = (200, 40, 40)
    assert differing_fraction(light, changed) > MAX_DIFFERING
    with pytest.raises(AssertionError, match="differ from the reference"):
        assert_image_approved(changed, "node_painter_conv_net", tmp_path)


def test_activation_function_panel_matches_its_reference(qtbot, tmp_path) -> None:
    from inspector.ui.panels import ActivationFunctionPanel

    panel = ActivationFunctionPanel()
    qtbot.addWidget(panel)
    panel.resize(480, 320)
    pre = np.linspace(-4, 4, 33).reshape(1, -1)
    panel.set_function("leaky_relu", pre, None, {"alpha": 0.2})
    panel.show()
    qtbot.waitExposed(panel)
    assert_image_approved(panel.grab().toImage(), "panel_activation_fn_leaky_relu", tmp_path)
