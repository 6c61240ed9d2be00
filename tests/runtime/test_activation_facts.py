"""Activation facts checked against real computations: onnxruntime running the ONNX operator
(PRelu with its learned, per-channel slope read from the model file), Keras's own functions,
and the dead/saturated rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from inspector.ir import Attribute, Node, Tensor, Weight
from inspector.loaders import load_model
from inspector.runtime.activation_facts import (
    ACTIVATIONS,
    activation_curve,
    activation_kind,
    apply_activation,
    dead_count,
    normalize_kind,
    saturated_count,
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
    ("LogSoftmax", {}, {}),
    ("ThresholdedRelu", {"alpha": 0.5}, {}),
]


def _onnx_model(op: str, attrs: dict, extra: dict, shape: tuple[int, ...]) -> onnx.ModelProto:
    node = helper.make_node(op, ["x", *extra], ["y"], **attrs)
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))],
        initializer=[onnx.numpy_helper.from_array(v, k) for k, v in extra.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    onnx.checker.check_model(model)
    return model


def _ir_node_and_ort(tmp_path: Path, op: str, attrs: dict, extra: dict,
                     x: np.ndarray) -> tuple[Node, np.ndarray]:
    """The IR node as the loader reads it from a saved file, and onnxruntime's output."""
    model = _onnx_model(op, attrs, extra, x.shape)
    path = tmp_path / f"{op}.onnx"
    onnx.save(model, path)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return load_model(path).graph.nodes[0], sess.run(None, {"x": x})[0]


@pytest.mark.parametrize(("op", "attrs", "extra"), ONNX_CASES,
                         ids=[f"{c[0]}{c[1] or ''}" for c in ONNX_CASES])
def test_formula_matches_onnxruntime(tmp_path: Path, op: str, attrs: dict, extra: dict) -> None:
    node, expected = _ir_node_and_ort(tmp_path, op, attrs, extra, X)
    kind, params = activation_kind(node)
    np.testing.assert_allclose(apply_activation(kind, X, params), expected, rtol=2e-5, atol=2e-6)


def test_prelu_uses_its_learned_slope_per_channel(tmp_path: Path) -> None:
    x = np.linspace(-5.0, 5.0, 3 * 20).astype(np.float32).reshape(1, 3, 20)
    slope = np.array([[0.05], [0.5], [-0.2]], np.float32)  # one slope per channel
    node, expected = _ir_node_and_ort(tmp_path, "PRelu", {}, {"slope": slope}, x)
    kind, params = activation_kind(node)
    assert kind == "prelu"
    np.testing.assert_allclose(apply_activation(kind, x, params), expected, rtol=1e-6)
    # The panel marks the real outputs and says the drawn curve is one of several.
    curve = activation_curve(kind, x, None, params)
    np.testing.assert_allclose(curve.py, expected[0].reshape(-1), rtol=1e-6)
    assert any("per channel" in n for n in curve.notes)


def test_keras_prelu_reads_its_alpha_weight() -> None:
    alpha = np.array([0.1, 0.4], np.float32)
    node = Node("p", "PReLU", weights=(Weight("alpha", Tensor("p/alpha", (2,), "float32",
                                                              lambda: alpha, kind="keras")),))
    kind, params = activation_kind(node)
    x = np.array([[-2.0, -2.0], [3.0, 3.0]])
    np.testing.assert_allclose(apply_activation(kind, x, params), [[-0.2, -0.8], [3.0, 3.0]],
                               rtol=1e-6)


def test_keras_names_map_to_kinds() -> None:
    def act(name: str) -> tuple | None:
        return activation_kind(Node("a", "Activation", attributes=(Attribute("activation", name),)))

    dense = Node("d", "Dense", attributes=(Attribute("activation", "relu"),))
    linear = Node("d2", "Dense", attributes=(Attribute("activation", "linear"),))
    leaky3 = Node("l", "LeakyReLU", attributes=(Attribute("negative_slope", 0.2),))
    leaky2 = Node("l2", "LeakyReLU", attributes=(Attribute("alpha", 0.1),))
    relu6 = Node("r", "ReLU", attributes=(Attribute("max_value", 6.0),))
    assert activation_kind(dense) == ("relu", {})
    assert activation_kind(linear) is None
    assert act("silu") == ("swish", {})
    assert act("hard_silu") == ("hard_swish", {})
    assert act("log_softmax") == ("log_softmax", {})
    assert activation_kind(leaky3) == ("leaky_relu", {"alpha": 0.2})
    assert activation_kind(leaky2) == ("leaky_relu", {"alpha": 0.1})
    assert activation_kind(relu6) == ("relu", {"max_value": 6.0})
    assert activation_kind(Node("c", "Conv")) is None
    assert activation_kind(None) is None
    assert all(normalize_kind(k) == k for k in ACTIVATIONS)


def test_hard_silu_is_keras_formula() -> None:
    """keras.activations.hard_silu(x) = x * relu6(x + 3) / 6 (keras/src/activations)."""
    kind = normalize_kind("hard_silu")
    assert kind is not None
    x = X.astype(np.float64)
    np.testing.assert_allclose(apply_activation(kind, x), x * np.clip(x + 3, 0, 6) / 6)


def test_log_softmax_is_the_log_of_softmax_not_softmax() -> None:
    x = np.array([[1.0, 2.0, 5.0], [0.0, -1.0, 3.0]])
    y = apply_activation("log_softmax", x)
    np.testing.assert_allclose(np.exp(y), apply_activation("softmax", x), rtol=1e-12)
    assert np.all(y < 0)
    curve = activation_curve("log_softmax", x[0], None)
    assert np.all(curve.ys < 0)
    np.testing.assert_allclose(curve.py, y[0])


@pytest.mark.convert
@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softplus", "softsign", "gelu",
                                  "hard_sigmoid", "hard_silu", "mish", "silu", "elu", "selu",
                                  "exponential", "linear", "relu6", "log_softmax", "softmax"])
def test_formula_matches_keras(name: str) -> None:
    pytest.importorskip("tensorflow")
    import keras

    found = activation_kind(Node("a", "Activation", attributes=(Attribute("activation", name),)))
    assert found is not None, name
    kind, params = found
    x = X.astype(np.float32)
    if name == "exponential":
        x = x[x < 5]
    expected = np.asarray(keras.activations.get(name)(keras.ops.convert_to_tensor(x)))
    np.testing.assert_allclose(apply_activation(kind, x, params), expected, rtol=1e-5, atol=1e-5)


def test_dead_and_saturated_counts() -> None:
    pre = np.array([-2.0, -0.1, 0.0, 0.5, 3.0, 4.5, -6.0])
    post = apply_activation("relu", pre)
    assert dead_count(post, "relu") == 4
    assert dead_count(post, "sigmoid") is None
    assert dead_count(apply_activation("prelu", pre, {"slope": 0.2}), "prelu") is None
    assert saturated_count("sigmoid", pre=pre) == 2
    # From outputs alone the same units are found.
    assert saturated_count("sigmoid", post=apply_activation("sigmoid", pre)) == 2
    assert saturated_count("tanh", post=apply_activation("tanh", pre)) == 2
    assert saturated_count("relu6", post=apply_activation("relu6", np.array([7.0, 1.0]))) == 1
    assert saturated_count("relu", pre=pre) is None
    assert saturated_count("log_softmax", pre=pre) is None


def test_curve_decimates_marked_points() -> None:
    pre = np.linspace(-3, 3, 10_000)
    curve = activation_curve("tanh", pre, None)
    assert curve.px.size <= 2000 and curve.units == 10_000
    np.testing.assert_allclose(curve.py, np.tanh(curve.px))
    assert curve.xs.min() <= -3 and curve.xs.max() >= 3
