"""The Gradients tab, saliency and gradient colouring on real ONNX samples with the real
gradient engine; the gradient norms are checked against the gradient arrays themselves."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.autodiff import compute_gradients
from inspector.loaders import load_model
from tests.ui._onnx_models import seq_logits
from tests.ui._panel_helpers import SAMPLES, grab_nonblank


@pytest.fixture(scope="module")
def digits():
    """(model, feeds, GradientResult) for the digits CNN on its real sample digit."""
    model = load_model(SAMPLES / "digits_cnn.onnx")
    x = np.load(SAMPLES / "digits_cnn_input.npy").astype(np.float32)
    feeds = {model.graph.inputs[0]: x}
    result = compute_gradients(model, feeds, target=None, loss="ce")
    assert np.abs(result.values[model.graph.inputs[0]]).max() > 0
    return model, feeds, result


@pytest.fixture(scope="module")
def iris():
    model = load_model(SAMPLES / "iris_mlp.onnx")
    # The sample row (a setosa) leaves every first-layer ReLU off, so no gradient reaches
    # the input; a standardized random row keeps some on.
    x = np.random.default_rng(3).normal(size=(1, 4)).astype(np.float32)
    feeds = {model.graph.inputs[0]: x}
    result = compute_gradients(model, feeds, target=1, loss="ce")
    assert np.abs(result.values[model.graph.inputs[0]]).max() > 0
    return model, feeds, result


def test_norm_bars_are_the_gradient_norms_in_graph_order(qtbot, digits, tmp_path) -> None:
    from inspector.ui.panels.gradients import GradientsPanel

    model, _, result = digits
    panel = GradientsPanel()
    qtbot.addWidget(panel)
    panel.resize(1300, 300)
    panel.log_box.setChecked(False)
    panel.set_result(result, model.graph)
    shown = panel.norm_values()
    position = {n.name: i for i, n in enumerate(model.graph.nodes)}
    assert [position[name] for name, _ in shown] == sorted(position[name] for name, _ in shown)
    assert len(shown) == len(result.norms)
    # Each bar is the L2 norm of that node's output gradient, recomputed from the array.
    for name, norm in shown:
        node = model.graph.node(name) if hasattr(model.graph, "node") else \
            next(n for n in model.graph.nodes if n.name == name)
        g = result.values[node.outputs[0]]
        assert norm == pytest.approx(float(np.linalg.norm(g.astype(np.float64))), rel=1e-6)
    heights = panel.norm_bars.opts["height"]
    np.testing.assert_allclose(heights, [v for _, v in shown])
    # The output (softmax) is the rightmost bar: the error flows leftward from it.
    assert shown[-1][0] == model.graph.nodes[-1].name
    assert f"target {result.target}" in panel.summary.text() and f"{result.loss:.4g}" in panel.summary.text()
    panel.show()
    grab_nonblank(panel, str(tmp_path / "test_gradients_panel.png"))


def test_log_scale_keeps_the_order_of_the_norms(qtbot, digits) -> None:
    from inspector.ui.panels.gradients import GradientsPanel

    model, _, result = digits
    panel = GradientsPanel()
    qtbot.addWidget(panel)
    panel.set_result(result, model.graph)
    heights = np.asarray(panel.norm_bars.opts["height"])
    norms = np.array([v for _, v in panel.norm_values()])
    assert np.all(heights[norms > 0] > 0)
    assert np.array_equal(np.argsort(heights, kind="stable"), np.argsort(norms, kind="stable"))


def test_selected_node_shows_its_output_gradient(qtbot, digits) -> None:
    from inspector.ui.panels.gradients import GradientsPanel

    model, _, result = digits
    panel = GradientsPanel()
    qtbot.addWidget(panel)
    panel.set_result(result, model.graph)
    node = next(n for n in model.graph.nodes if n.op_type == "Relu")
    key = node.outputs[0]
    panel.show_node(node, key)
    np.testing.assert_array_equal(panel.value_panel.array, result.values[key][0])
    assert panel.selected_bar.opts["x"] == [[n for n, _ in panel.norm_values()].index(node.name)]


def test_saliency_over_the_image_is_abs_input_gradient(qtbot, digits, tmp_path) -> None:
    from inspector.ui.panels.gradients import GradientsPanel

    model, feeds, result = digits
    name = model.graph.inputs[0]
    panel = GradientsPanel()
    qtbot.addWidget(panel)
    panel.resize(1300, 320)
    panel.set_result(result, model.graph)
    panel.set_saliency(name, feeds[name])
    sal = panel.saliency
    assert sal.kind == "image"
    g = result.values[name]  # (1, 8, 8, 1): one grey channel
    np.testing.assert_array_equal(sal.heat, np.abs(g[0, :, :, 0]))
    np.testing.assert_array_equal(sal.base, feeds[name][0, :, :, 0])
    np.testing.assert_array_equal(sal.heat_item.image, np.abs(g[0, :, :, 0]).astype(np.float32))
    assert sal.heat.max() > 0
    panel.show()
    grab_nonblank(sal, str(tmp_path / "test_saliency_image.png"))


def test_saliency_of_a_feature_vector_is_bars(qtbot, iris) -> None:
    from inspector.ui.panels.saliency import SaliencyPanel

    model, feeds, result = iris
    name = model.graph.inputs[0]
    panel = SaliencyPanel()
    qtbot.addWidget(panel)
    names = ["a", "b", "c", "d"]
    panel.set_saliency(name, feeds[name], result.values[name], None, names)
    assert panel.kind == "bars"
    np.testing.assert_array_equal(panel.bars.opts["height"], np.abs(result.values[name][0]))
    top = names[int(np.argmax(np.abs(result.values[name][0])))]
    assert f"most sensitive to {top}" in panel.summary.text()


def test_weight_gradient_beside_the_weights(qtbot, iris) -> None:
    from inspector.ui.panels import WeightPanel

    model, _, result = iris
    node = next(n for n in model.graph.nodes if n.op_type == "MatMul")
    panel = WeightPanel()
    qtbot.addWidget(panel)
    panel.resize(1300, 300)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_weights(node)
    panel.set_gradient(None)
    assert not panel.grad_plot.isVisible()  # no gradient yet: the plot is hidden
    g = result.values[f"{node.name}/{node.weights[0].name}"]
    panel.set_gradient(g)
    assert panel.grad_plot.isVisible() and panel.grad_colorbar.isVisible()
    np.testing.assert_array_equal(panel.grad_image.image, g.astype(np.float32))
    cells = panel.cell_annotations(gradient=True)
    assert len(cells) == g.size
    for (i, j), text in cells.items():
        assert float(text) == pytest.approx(float(g[i, j]), rel=0.06, abs=1e-12)


def test_gradient_norm_colours_follow_the_norms(iris) -> None:
    from inspector.ui.node_colors import node_colors, viridis

    model, _, result = iris
    colors, legend = node_colors(model, model.graph, "gradient norm", None, result)
    assert colors is not None and legend
    norms = result.norms
    hi = max(norms, key=norms.get)
    lo = min(norms, key=norms.get)
    assert colors[hi] == tuple(int(v) for v in viridis(np.array(1.0)).round())
    assert colors[lo] == tuple(int(v) for v in viridis(np.array(0.0)).round())
    # The documented scale, computed here by hand: log10, exact zeros one decade under the
    # smallest non-zero norm.
    import math

    smallest = min(v for v in norms.values() if v > 0)
    bottom = math.log10(smallest / 10) if any(v == 0 for v in norms.values()) else \
        math.log10(smallest)
    top = math.log10(norms[hi])
    for n, v in norms.items():
        t = 0.0 if v == 0 else (math.log10(v) - bottom) / (top - bottom)
        want = tuple(int(c) for c in viridis(np.array(t)).round())
        assert all(abs(a - b) <= 1 for a, b in zip(colors[n], want, strict=True)), (n, v)
    # Brighter (later in viridis) means a larger norm: compare green channels on a sorted run.
    ranked = sorted(norms, key=norms.get)
    greens = [colors[n][1] for n in ranked]
    assert greens == sorted(greens)


def test_a_logits_sequence_gradient_keeps_every_position(qtbot, tmp_path) -> None:
    """d loss / d logits of a [1, 16, 50257] output: block averaging kept one row (16x16 block
    means), so the 16 positions were lost. Each axis is reduced on its own now: 16 rows of
    99-column means, and in each row the darkest cell is the block of that row's target."""
    from inspector.ui.panels.gradients import GradientsPanel

    model = load_model(seq_logits(tmp_path / "seq.onnx"))
    x = np.random.default_rng(1).normal(size=(1, 16, 8)).astype(np.float32)
    result = compute_gradients(model, {"x": x}, target=None, loss="ce")
    g = result.values["logits"][0].astype(np.float64)
    assert g.shape == (16, 50257)
    panel = GradientsPanel()
    qtbot.addWidget(panel)
    panel.resize(1300, 500)
    panel.set_result(result, model.graph)
    panel.show_node(model.graph.nodes[0], "logits")
    part = panel.value_panel
    img = part.image.image
    assert img.shape == (16, 508) and part.blocks == (1, 99)
    whole = 507 * 99
    np.testing.assert_allclose(img[:, :507], g[:, :whole].reshape(16, 507, 99).mean(axis=2),
                               rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(img[:, 507], g[:, whole:].mean(axis=1), rtol=1e-4, atol=1e-9)
    # the target of each position (argmax: d loss/d logit is (p - 1)/16 there) is in its block
    targets = np.argmin(g, axis=1)
    assert len(set(targets.tolist())) > 1  # the positions differ: one row would lose that
    np.testing.assert_array_equal(np.argmin(img, axis=1), targets // 99)
    assert "16x50257 shown as 16x508 (means of 1x99 blocks)" in part.notes()
    # cells sit over their columns: cell (i, j) spans columns 99j .. 99j + 98 of row i
    rect = part.image.mapRectToView(part.image.boundingRect())
    assert (rect.left(), rect.top(), rect.width(), rect.height()) == (-0.5, -0.5, 508 * 99, 16)
    panel.show()
    qtbot.waitExposed(panel)
    grab_nonblank(panel, str(tmp_path / "seq_gradient.png"))
