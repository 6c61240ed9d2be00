"""The tutorial case on the real Iris sample written by Keras: the first layer's 4x8 kernel
as a heatmap (row-major, not transposed) with a colour bar, the Dense layer's outputs as
bars, and the neuron view of the whole network; Keras computes every expected number."""

from __future__ import annotations

import numpy as np
import pytest

from tests.ui._panel_helpers import SAMPLES, grab_nonblank, keras_dense_node

pytestmark = pytest.mark.convert


@pytest.fixture(scope="module")
def iris():
    """(model, input row, per-layer outputs) from Keras itself."""
    pytest.importorskip("tensorflow")
    import keras

    model = keras.models.load_model(SAMPLES / "iris_mlp.keras", safe_mode=True)
    x = np.load(SAMPLES / "iris_mlp_input.npy").astype(np.float32)[:1]
    dense = [layer for layer in model.layers if layer.weights]
    probe = keras.Model(model.inputs, [layer.output for layer in dense])
    outs = [np.asarray(o) for o in probe.predict(x, verbose=0)]
    return model, x, outs


def test_first_layer_heatmap_is_the_kernel(qtbot, iris, tmp_path) -> None:
    from inspector.ui.panels import WeightPanel

    model, _, _ = iris
    layer = model.get_layer("hidden1")
    panel = WeightPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 500)
    panel.set_weights(keras_dense_node(layer))
    kernel = np.asarray(layer.get_weights()[0])
    assert kernel.shape == (4, 8)
    assert panel.image.image.shape == (4, 8)  # rows are inputs, columns units: not transposed
    np.testing.assert_array_equal(panel.image.image, kernel)
    lo, hi = panel.colorbar.levels()
    assert (lo, hi) == pytest.approx((kernel.min(), kernel.max()))
    assert panel.colorbar.isVisible()
    panel.show()
    img = grab_nonblank(panel, str(tmp_path / "panel_iris_weights.png"))
    # Row-major on screen too: cell (0, 7) is right of cell (0, 0) in the drawn image.
    rect = panel.plot.getViewBox().mapViewToScene(panel.image.mapRectToView(
        panel.image.boundingRect())).boundingRect()
    assert rect.width() > rect.height()
    assert img.shape[0] > 0


def test_activation_bars_are_the_dense_outputs(qtbot, iris, tmp_path) -> None:
    from inspector.ui.panels import ActivationPanel

    model, _, outs = iris
    panel = ActivationPanel()
    qtbot.addWidget(panel)
    node = keras_dense_node(model.get_layer("hidden1"))
    panel.set_activation(node, "hidden1", outs[0])
    assert panel.kind == "bars"
    np.testing.assert_allclose(panel.bars.opts["height"], outs[0][0], rtol=1e-6)
    dead = int(np.count_nonzero(outs[0] <= 0))
    assert f"dead (<= 0 after relu) {dead / 8:.1%}" in panel.stats_label.text()
    panel.resize(600, 450)
    panel.show()
    grab_nonblank(panel, str(tmp_path / "panel_iris_activations.png"))


def test_neuron_view_of_iris(qtbot, iris, tmp_path) -> None:
    from inspector.ui.panels import NeuronView

    model, x, outs = iris
    layers = [("features", None, None, x[0])]
    for layer, out in zip([m for m in model.layers if m.weights], outs, strict=True):
        k, b = layer.get_weights()
        layers.append((layer.name, k, b, out[0]))
    view = NeuronView()
    qtbot.addWidget(view)
    view.set_network(layers)
    styles = view.edge_styles()
    assert len(styles) == 4 * 8 + 8 * 4 + 4 * 1
    k1 = model.get_layer("hidden1").get_weights()[0]
    for layer, i, j, rgb, _ in styles:
        if layer == 1:
            assert rgb == ((31, 119, 180) if k1[i, j] >= 0 else (245, 130, 32))
    widths = {(i, j): w for layer, i, j, _, w in styles if layer == 1}
    order = np.argsort(np.abs(k1).reshape(-1))
    ws = [widths[divmod(int(n), 8)] for n in order]
    assert ws == sorted(ws) and ws[-1] > ws[0]  # widths grow with |w|
    assert view.unit_tooltip(1, 3).startswith(f"hidden1[3] = {outs[0][0, 3]:.4g}")
    view.resize(700, 450)
    view.show()
    grab_nonblank(view, str(tmp_path / "panel_iris_neurons.png"))
