"""The panels' numbers: summaries, histograms, downsampling, and activation formulas checked
against onnxruntime running the real ONNX operators (and TensorFlow for Keras's names)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from inspector.ir import Attribute, Node
from inspector.runtime.stats import (
    activation_kind,
    apply_activation,
    dead_count,
    downsample_1d,
    downsample_2d,
    histogram,
    saturated_count,
    summarize,
    symmetric_levels,
)

X = np.linspace(-7.0, 7.0, 141).astype(np.float32)

# (ONNX op, attributes, extra initializer inputs)
ONNX_CASES = [
    ("Relu", {}, {}),
    ("LeakyRelu", {"alpha": 0.1}, {}),
    ("PRelu", {}, {"slope": np.array([0.3], np.float32)}),
    ("Elu", {"alpha": 0.7}, {}),
    ("Selu", {}, {}),
    ("Celu", {"alpha": 1.5}, {}),
    ("Sigmoid", {}, {}),
    ("HardSigmoid", {}, {}),
    ("Tanh", {}, {}),
    ("Softplus", {}, {}),
    ("Softsign", {}, {}),
    ("HardSwish", {}, {}),
    ("Mish", {}, {}),
    ("Gelu", {}, {}),
    ("Gelu", {"approximate": "tanh"}, {}),
    ("Softmax", {}, {}),
    ("ThresholdedRelu", {"alpha": 0.5}, {}),
]


def _run_onnx(op: str, attrs: dict, extra: dict) -> np.ndarray:
    inputs = ["x", *extra]
    node = helper.make_node(op, inputs, ["y"], **attrs)
    opset = 20
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [X.size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [X.size])],
        initializer=[onnx.numpy_helper.from_array(v, k) for k, v in extra.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": X})[0]


@pytest.mark.parametrize(("op", "attrs", "extra"), ONNX_CASES,
                         ids=[f"{c[0]}{c[1] or ''}" for c in ONNX_CASES])
def test_formula_matches_onnxruntime(op: str, attrs: dict, extra: dict) -> None:
    node = Node(name="n", op_type=op,
                attributes=tuple(Attribute(k, v) for k, v in attrs.items()))
    kind, params = activation_kind(node)
    if op == "PRelu":
        params = {"slope": float(extra["slope"][0])}
    ours = apply_activation(kind, X, params)
    expected = _run_onnx(op, attrs, extra)
    np.testing.assert_allclose(ours, expected, rtol=2e-5, atol=2e-6)


def test_keras_names_map_to_kinds() -> None:
    dense = Node("d", "Dense", attributes=(Attribute("activation", "relu"),))
    linear = Node("d2", "Dense", attributes=(Attribute("activation", "linear"),))
    act = Node("a", "Activation", attributes=(Attribute("activation", "silu"),))
    leaky3 = Node("l", "LeakyReLU", attributes=(Attribute("negative_slope", 0.2),))
    leaky2 = Node("l2", "LeakyReLU", attributes=(Attribute("alpha", 0.1),))
    relu6 = Node("r", "ReLU", attributes=(Attribute("max_value", 6.0),))
    assert activation_kind(dense) == ("relu", {})
    assert activation_kind(linear) is None
    assert activation_kind(act) == ("swish", {})
    assert activation_kind(leaky3) == ("leaky_relu", {"alpha": 0.2})
    assert activation_kind(leaky2) == ("leaky_relu", {"alpha": 0.1})
    assert activation_kind(relu6) == ("relu", {"max_value": 6.0})
    assert activation_kind(Node("c", "Conv")) is None
    assert activation_kind(None) is None


@pytest.mark.convert
@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softplus", "softsign", "gelu",
                                  "hard_sigmoid", "hard_silu", "mish", "silu", "elu", "selu",
                                  "exponential", "linear", "relu6"])
def test_formula_matches_keras(name: str) -> None:
    pytest.importorskip("tensorflow")
    import keras

    node = Node("a", "Activation", attributes=(Attribute("activation", name),))
    found = activation_kind(node)
    kind, params = found if found else (name, {})
    if name == "hard_silu":
        kind, params = "hard_swish", {}
    fn = keras.activations.get(name)
    x = X.astype(np.float32)
    if name == "exponential":
        x = x[x < 5]
    expected = np.asarray(fn(keras.ops.convert_to_tensor(x)))
    np.testing.assert_allclose(apply_activation(kind, x, params), expected, rtol=1e-5, atol=1e-6)


def test_summary_and_histogram_agree_with_numpy() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 40, 50)).astype(np.float32)
    a[0, :5] = 0
    s = summarize(a)
    assert s.min == float(a.min()) and s.max == float(a.max())
    assert s.mean == pytest.approx(float(a.astype(np.float64).mean()))
    assert s.std == pytest.approx(float(a.astype(np.float64).std()))
    assert s.zeros == pytest.approx(np.count_nonzero(a == 0) / a.size)
    counts, edges = histogram(a, bins=20)
    ref_counts, ref_edges = np.histogram(a, bins=20)
    np.testing.assert_array_equal(counts, ref_counts)
    np.testing.assert_allclose(edges, ref_edges, atol=1e-6)


def test_summary_skips_non_finite() -> None:
    s = summarize(np.array([1.0, np.nan, 3.0, np.inf]))
    assert (s.min, s.max, s.finite) == (1.0, 3.0, False)


def test_downsampling_keeps_bin_means() -> None:
    v = np.arange(1030, dtype=np.float64)
    d, factor = downsample_1d(v, limit=512)
    assert factor == 3 and d.size == 344
    assert d[0] == 1.0 and d[-1] == np.mean(v[1029:])
    m = np.arange(64, dtype=np.float32).reshape(8, 8)
    img, f = downsample_2d(m, max_side=4)
    assert f == 2 and img.shape == (4, 4)
    assert img[1, 2] == m[2:4, 4:6].mean()


def test_dead_and_saturated_counts() -> None:
    pre = np.array([-2.0, -0.1, 0.0, 0.5, 3.0, 4.5, -6.0])
    post = apply_activation("relu", pre)
    assert dead_count(post, "relu") == 4
    assert dead_count(post, "sigmoid") is None
    assert saturated_count("sigmoid", pre=pre) == 2
    # From outputs alone the same units are found.
    assert saturated_count("sigmoid", post=apply_activation("sigmoid", pre)) == 2
    assert saturated_count("tanh", post=apply_activation("tanh", pre)) == 2
    assert saturated_count("relu6", post=apply_activation("relu6", np.array([7.0, 1.0]))) == 1
    assert saturated_count("relu", pre=pre) is None


def test_symmetric_levels_centre_on_zero() -> None:
    assert symmetric_levels(np.array([-0.5, 2.0])) == (-2.0, 2.0)
    assert symmetric_levels(np.zeros(3)) == (-1.0, 1.0)
