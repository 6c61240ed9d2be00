"""A keras.applications architecture saved by Keras itself, opened in the whole window, with
Keras as the oracle: layers, parameter count, a layer's weights."""

from __future__ import annotations

import re

import numpy as np
import pytest

pytestmark = pytest.mark.convert

STAT_RE = re.compile(r"min\s+(\S+)\s+max\s+(\S+)\s+mean\s+(\S+)\s+std\s+(\S+)")


@pytest.fixture(scope="session")
def mobilenet(tmp_path_factory):
    """MobileNetV2 (weights=None, 96x96x3) saved as .keras, with the Keras model."""
    pytest.importorskip("tensorflow")
    import keras

    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3))
    path = tmp_path_factory.mktemp("keras_app") / "mobilenet_v2.keras"
    model.save(path)
    return path, model


def test_mobilenet_v2_in_the_window_matches_keras(qtbot, main_window, open_model, mobilenet, tmp_path):
    path, model = mobilenet
    tab = open_model(path, timeout=60_000)
    layers = [la for la in model.layers if type(la).__name__ != "InputLayer"]
    tab.view.expand_all()
    items = [it for it in tab.view.scene_data.items if it.kind == "node"]
    assert len(items) == len(layers)
    assert {it.node.name for it in items} == {la.name for la in layers}
    text = " ".join(main_window.properties.html().split())
    assert f"parameters {model.count_params():,}" in text
    assert "format keras" in text
    layer = model.get_layer("Conv1")
    tab.view.select_node("Conv1")
    shown = main_window.properties.html()
    assert " ".join(shown.split()).startswith(type(layer).__name__)
    blocks = [np.array([float(v) for v in m.groups()]) for m in STAT_RE.finditer(shown)]
    for w in layer.get_weights():
        f = np.asarray(w, np.float64)
        expected = np.array([f.min(), f.max(), f.mean(), f.std()])
        assert any(np.allclose(b, expected, rtol=2e-5, atol=1e-6) for b in blocks)
    main_window.grab().save(str(tmp_path / "window_mobilenet.png"))
