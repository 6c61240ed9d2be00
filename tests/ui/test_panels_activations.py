"""Activation panel shapes, activation-function curves and counts, and the output panel,
with onnxruntime computing the activations of a real ONNX model."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest

from inspector.ir import Attribute, Node
from inspector.runtime.activation_facts import apply_activation
from inspector.runtime.errors import InputError
from inspector.ui.panels import ActivationFunctionPanel, ActivationPanel, OutputPanel, load_labels
from tests.ui._panel_helpers import SAMPLES, grab_nonblank


@pytest.fixture(scope="module")
def digits_run() -> tuple[np.ndarray, np.ndarray]:
    """(first conv's ReLU output NHWC from onnxruntime, class probabilities)."""
    import onnx

    model = onnx.load(str(SAMPLES / "digits_cnn.onnx"))
    relu = next(n for n in model.graph.node if n.op_type == "Relu")
    model.graph.output.append(onnx.helper.make_tensor_value_info(relu.output[0], 1, None))
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.load(SAMPLES / "digits_cnn_input.npy").astype(np.float32)[:1]
    probs, act = sess.run(None, {sess.get_inputs()[0].name: x})
    return act, probs


def test_feature_maps_share_one_scale(qtbot, digits_run, tmp_path) -> None:
    act, _ = digits_run
    panel = ActivationPanel()
    qtbot.addWidget(panel)
    panel.set_activation(Node("conv1_relu", "Relu"), "relu", act, layout="NCHW")
    assert panel.kind == "maps" and panel.shown_channels == act.shape[1]
    h, w = act.shape[2:]
    img = panel.image.image
    for k, (r, c) in enumerate(panel.tile_origins):
        np.testing.assert_array_equal(img[r:r + h, c:c + w], act[0, k])
    assert panel.colorbar.levels() == pytest.approx((act.min(), act.max()))
    panel.resize(700, 500)
    panel.show()
    grab_nonblank(panel, str(tmp_path / "panel_activation_maps.png"))


def test_channels_last_and_caps(qtbot) -> None:
    rng = np.random.default_rng(0)
    panel = ActivationPanel()
    qtbot.addWidget(panel)
    nhwc = rng.normal(size=(1, 10, 12, 100)).astype(np.float32)
    panel.set_activation(Node("c", "Conv2D"), "c", nhwc, layout="NHWC")
    r, c = panel.tile_origins[5]
    np.testing.assert_array_equal(panel.image.image[r:r + 10, c:c + 12], nhwc[0, :, :, 5])
    assert panel.shown_channels == 64 and "showing 64 of 100 feature maps" in panel.notes()
    seq = rng.normal(size=(1, 20, 6))
    panel.set_activation(None, "seq", seq)
    assert panel.kind == "sequence"
    np.testing.assert_array_equal(panel.image.image, seq[0].astype(np.float32))
    v = rng.normal(size=(1, 1500))
    panel.set_activation(None, "v", v)
    assert len(panel.bars.opts["height"]) == 500
    assert panel.bars.opts["height"][3] == pytest.approx(v[0, 9:12].mean())
    assert any("1500 units shown as 500 bars" in n for n in panel.notes())


@pytest.mark.parametrize(("kind", "params"), [
    ("relu", {}), ("leaky_relu", {"alpha": 0.2}), ("elu", {"alpha": 1.0}), ("sigmoid", {}),
    ("tanh", {}), ("gelu", {}), ("swish", {}), ("softplus", {}), ("hard_swish", {}),
])
def test_curve_equals_formula(qtbot, kind: str, params: dict) -> None:
    panel = ActivationFunctionPanel()
    qtbot.addWidget(panel)
    pre = np.linspace(-5, 5, 50)
    panel.set_function(kind, pre, None, params)
    x, y = panel.curve_data()
    reference = {
        "relu": np.maximum(x, 0), "leaky_relu": np.where(x >= 0, x, 0.2 * x),
        "elu": np.where(x > 0, x, np.expm1(np.minimum(x, 0))), "sigmoid": 1 / (1 + np.exp(-x)),
        "tanh": np.tanh(x), "softplus": np.log1p(np.exp(x)), "swish": x / (1 + np.exp(-x)),
        "hard_swish": x * np.clip(x + 3, 0, 6) / 6,
        "gelu": 0.5 * x * (1 + np.vectorize(__import__("math").erf)(x / np.sqrt(2))),
    }[kind]
    np.testing.assert_allclose(y, reference, rtol=1e-9, atol=1e-12)
    px, py = panel.marked_points()
    np.testing.assert_array_equal(px, pre)
    np.testing.assert_allclose(py, apply_activation(kind, pre, params))


def test_dead_and_saturated_counts(qtbot, tmp_path) -> None:
    panel = ActivationFunctionPanel()
    qtbot.addWidget(panel)
    pre = np.array([[-3.0, -0.5, 0.0, 0.2, 2.0, 5.0, -4.5]])
    panel.set_function("relu", pre, None, {})
    assert panel.dead == 4
    panel.set_function("sigmoid", pre, None, {})
    assert panel.dead is None and panel.saturated == 2
    assert "saturated" in panel.counts_label.text()
    panel.set_function("softmax", pre, None, {})
    px, py = panel.marked_points()
    e = np.exp(pre[0] - pre.max())
    np.testing.assert_allclose(py, e / e.sum())
    panel.resize(600, 400)
    panel.show()
    grab_nonblank(panel, str(tmp_path / "panel_activation_fn.png"))


def test_output_top_k_order_and_labels(qtbot, digits_run, tmp_path) -> None:
    _, probs = digits_run
    panel = OutputPanel()
    qtbot.addWidget(panel)
    labels = load_labels(SAMPLES / "labels" / "digits.txt")
    panel.set_output(probs, labels, top_k=3)
    order = np.argsort(-probs[0])[:3]
    assert panel.shown_mode == "probabilities"
    assert [lab for lab, _ in panel.entries()] == [labels[i] for i in order]
    np.testing.assert_allclose([v for _, v in panel.entries()], probs[0][order])
    # Logits on request: softmax, same order.
    logits = np.log(probs + 1e-12)
    panel.set_output(logits, labels, mode="logits", top_k=3)
    np.testing.assert_allclose([v for _, v in panel.entries()], probs[0][order], rtol=1e-4)
    panel.set_output(logits, labels)  # auto on logits: scores, not probabilities
    assert panel.shown_mode == "scores"
    # A single sigmoid unit: p and 1 - p with both labels.
    panel.set_output(np.array([[0.25]]), ["setosa", "versicolor"])
    assert panel.entries() == [("setosa", 0.75), ("versicolor", 0.25)]
    panel.set_output(np.array([[1.5, -2.0]]), ["a", "b"], mode="regression")
    assert panel.entries() == [("a", 1.5), ("b", -2.0)]
    (tmp_path / "l.json").write_text(json.dumps(["x", "y"]))
    assert load_labels(tmp_path / "l.json") == ["x", "y"]
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError):
        load_labels(tmp_path / "bad.json")
    panel.set_output(probs, labels)
    panel.resize(600, 400)
    panel.show()
    grab_nonblank(panel, str(tmp_path / "panel_output.png"))


def test_keras_fused_activation_in_stats(qtbot) -> None:
    panel = ActivationPanel()
    qtbot.addWidget(panel)
    node = Node("d", "Dense", attributes=(Attribute("activation", "sigmoid"),))
    post = apply_activation("sigmoid", np.array([[-5.0, 0.0, 5.0, 1.0]]))
    panel.set_activation(node, "d", post)
    assert "saturated (sigmoid) 50.0%" in panel.stats_label.text()
