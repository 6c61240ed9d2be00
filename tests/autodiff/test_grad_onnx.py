"""The ONNX backward engine end to end: whole models, checked against finite differences of
the loss computed by onnxruntime, and the losses against their own finite differences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from inspector.autodiff import compute_gradients, loss_and_grad
from inspector.loaders.registry import load_model
from inspector.progress import Cancelled, Task
from inspector.runtime.errors import InputError, RunError

R = np.random.default_rng(7)


def _save(tmp_path, name, nodes, inputs, outputs, inits, opset=17):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


def _init(name, a):
    return numpy_helper.from_array(np.asarray(a, np.float32), name)


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    """x -> Gemm -> Tanh -> MatMul + Add -> Softmax: logits go through a softmax."""
    d = tmp_path_factory.mktemp("mlp")
    inits = [_init("W1", R.normal(size=(5, 4))), _init("b1", R.normal(size=4)),
             _init("W2", R.normal(size=(4, 3))), _init("b2", R.normal(size=3))]
    nodes = [helper.make_node("Gemm", ["x", "W1", "b1"], ["h"], name="dense1", transB=0),
             helper.make_node("Tanh", ["h"], ["a"], name="act1"),
             helper.make_node("MatMul", ["a", "W2"], ["z0"], name="dense2"),
             helper.make_node("Add", ["z0", "b2"], ["z"], name="bias2"),
             helper.make_node("Softmax", ["z"], ["p"], name="softmax")]
    return _save(d, "mlp", nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5])],
                 [helper.make_tensor_value_info("p", TensorProto.FLOAT, [2, 3])], inits)


@pytest.fixture(scope="module")
def convnet(tmp_path_factory):
    """Conv -> BN -> Clip -> depthwise Conv -> MaxPool -> GlobalAveragePool -> Flatten -> Gemm."""
    d = tmp_path_factory.mktemp("cnn")
    inits = [_init("W1", R.normal(size=(4, 2, 3, 3)) * 0.5), _init("B1", R.normal(size=4)),
             _init("s", R.uniform(0.5, 1.5, 4)), _init("bb", R.normal(size=4)),
             _init("m", R.normal(size=4) * 0.1), _init("v", R.uniform(0.5, 1.5, 4)),
             _init("Wd", R.normal(size=(4, 1, 3, 3))), _init("Wf", R.normal(size=(4, 3))),
             _init("bf", R.normal(size=3))]
    nodes = [
        helper.make_node("Conv", ["x", "W1", "B1"], ["c1"], name="conv1", pads=[1, 1, 1, 1],
                         strides=[2, 2]),
        helper.make_node("BatchNormalization", ["c1", "s", "bb", "m", "v"], ["n1"], name="bn1"),
        helper.make_node("Clip", ["n1", "", "six"], ["r1"], name="relu6"),
        helper.make_node("Conv", ["r1", "Wd"], ["c2"], name="dw", group=4, pads=[1, 1, 1, 1]),
        helper.make_node("MaxPool", ["c2"], ["mp"], name="pool", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["mp"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "Wf", "bf"], ["logits"], name="fc"),
    ]
    inits.append(_init("six", 6.0))
    return _save(d, "cnn", nodes,
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2, 9, 9])],
                 [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [2, 3])], inits)


def _loss_fn(path, out, kind, target, probs, inits=None):
    """f(x) = the loss of the model's output, evaluated by onnxruntime (weights overridable)."""
    model = onnx.load(str(path))
    for init in model.graph.initializer:
        if inits and init.name in inits:
            init.CopyFrom(numpy_helper.from_array(inits[init.name].astype(np.float32), init.name))
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])

    def f(x):
        y = sess.run([out], {"x": x.astype(np.float32)})[0].astype(np.float64)
        return loss_and_grad(y, kind, target, probs).loss

    return f


def _fd_input(f, x, h=1e-3):
    g = np.zeros(x.size)
    for j in range(x.size):
        xp, xm = x.astype(np.float64).reshape(-1).copy(), x.astype(np.float64).reshape(-1).copy()
        xp[j] += h
        xm[j] -= h
        g[j] = (f(xp.reshape(x.shape)) - f(xm.reshape(x.shape))) / (2 * h)
    return g.reshape(x.shape)


@pytest.mark.parametrize("loss,target", [("ce", None), ("ce", 2), ("mse", 0.3)])
def test_mlp_gradients_match_finite_differences(mlp, loss, target):
    model = load_model(mlp)
    x = R.normal(size=(2, 5)).astype(np.float32)
    res = compute_gradients(model, {"x": x}, target=target, loss=loss)
    assert res.output_name == "p" and res.uncovered == {}
    probs = loss == "ce"
    f = _loss_fn(mlp, "p", loss, res.target if target is None else target, probs)
    assert res.loss == pytest.approx(f(x), rel=1e-5)
    np.testing.assert_allclose(res.values["x"], _fd_input(f, x), atol=2e-4)
    # Weight gradients, keyed <node>/<weight role>, against a directional derivative.
    proto = onnx.load(str(mlp))
    weights = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in proto.graph.initializer}
    for key, init in [("dense1/B", "W1"), ("dense1/C", "b1"), ("dense2/B", "W2"), ("bias2/B", "b2")]:
        v = R.normal(size=weights[init].shape)
        h = 1e-2  # float32 forward: a wider step keeps rounding noise under the tolerance
        fp = _loss_fn(mlp, "p", loss, res.target if target is None else target, probs,
                      {init: weights[init] + h * v})(x)
        fm = _loss_fn(mlp, "p", loss, res.target if target is None else target, probs,
                      {init: weights[init] - h * v})(x)
        assert float(np.sum(res.values[key] * v)) == pytest.approx((fp - fm) / (2 * h),
                                                                   rel=2e-3, abs=5e-5), key
    # dW2 = a^T dz0: the layer-output gradients are consistent with the weight gradients.
    a = np.tanh(x @ weights["W1"] + weights["b1"])
    np.testing.assert_allclose(res.values["dense2/B"], a.T @ res.values["z0"], rtol=1e-4,
                               atol=1e-7)
    assert set(res.norms) == {"dense1", "act1", "dense2", "bias2", "softmax"}
    assert res.norms["softmax"] == pytest.approx(float(np.linalg.norm(res.values["p"])), rel=1e-6)


def test_convnet_gradients_match_finite_differences(convnet):
    model = load_model(convnet)
    x = R.normal(size=(2, 2, 9, 9)).astype(np.float32)
    res = compute_gradients(model, {"x": x}, target=1)
    assert res.uncovered == {} and res.target == 1
    f = _loss_fn(convnet, "logits", "ce", 1, False)
    fd = _fd_input(f, x, h=1e-2)
    np.testing.assert_allclose(res.values["x"], fd, atol=2e-3 * max(1.0, np.abs(fd).max()))
    for key in ["conv1/W", "conv1/B", "bn1/scale", "bn1/B", "dw/W", "fc/B", "fc/C"]:
        assert key in res.values, key
    # Layer outputs are keyed by value name and consistent with the weights: dfc/C == sum dlogits.
    np.testing.assert_allclose(res.values["fc/C"], res.values["logits"].sum(0), rtol=1e-6)
    assert res.values["c2"].shape == (2, 4, 5, 5)


def test_uncovered_op_stops_gradient_and_is_listed(tmp_path):
    nodes = [helper.make_node("Exp", ["x"], ["e"], name="exp"),
             helper.make_node("Pad", ["e", "pads"], ["pd"], name="pad", mode="reflect"),
             helper.make_node("ReduceSum", ["pd"], ["s"], name="sum", keepdims=0)]
    path = _save(tmp_path, "unc", nodes,
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                 [helper.make_tensor_value_info("s", TensorProto.FLOAT, [])],
                 [numpy_helper.from_array(np.array([0, 1, 0, 1], np.int64), "pads")])
    res = compute_gradients(load_model(path), {"x": np.ones((1, 4), np.float32)}, loss="mse")
    assert "reflect" in res.uncovered["pad"]
    assert "pd" in res.values and "x" not in res.values  # unknown, not silently zero


def test_bad_requests_are_one_line_errors(mlp):
    model = load_model(mlp)
    x = np.zeros((2, 5), np.float32)
    with pytest.raises(InputError, match="out of range"):
        compute_gradients(model, {"x": x}, target=7)
    with pytest.raises(InputError, match="not a value"):
        compute_gradients(model, {"x": x}, output="nope")
    with pytest.raises(RunError, match="unknown loss"):
        compute_gradients(model, {"x": x}, loss="hinge")
    with pytest.raises(InputError):
        compute_gradients(model, {"y": x})
    with pytest.raises(Cancelled):
        compute_gradients(model, {"x": x}, task=Task(cancelled=lambda: True))


@pytest.mark.parametrize("kind,probs,shape,target", [
    ("ce", False, (3, 4), None), ("ce", False, (3, 4), 2), ("ce", True, (3, 4), 1),
    ("ce", True, (2, 1), None), ("ce", False, (2, 1), 1), ("mse", False, (3, 4), 0.5),
    ("mse", False, (3, 4), None)])
def test_loss_gradients_match_finite_differences(kind, probs, shape, target):
    y = R.normal(size=shape)
    if probs:
        y = np.exp(y) / np.exp(y).sum(-1, keepdims=True) if shape[-1] > 1 else 1 / (1 + np.exp(-y))
    lv = loss_and_grad(y, kind, target, probs)
    t = lv.target if target is None and kind == "ce" and lv.target is not None else target
    if kind == "ce" and target is None and lv.target is None:
        t = (y >= (0.5 if probs else 0)).astype(int).reshape(-1) if shape[-1] == 1 else y.argmax(-1)
    h = 1e-6
    num = np.zeros(y.size)
    for j in range(y.size):
        yp, ym = y.reshape(-1).copy(), y.reshape(-1).copy()
        yp[j] += h
        ym[j] -= h
        num[j] = (loss_and_grad(yp.reshape(shape), kind, t, probs).loss
                  - loss_and_grad(ym.reshape(shape), kind, t, probs).loss) / (2 * h)
    np.testing.assert_allclose(lv.grad.reshape(-1), num, atol=1e-6)


def test_cross_entropy_values():
    z = np.array([[1.0, 2.0, 0.5]])
    p = np.exp(z) / np.exp(z).sum()
    assert loss_and_grad(z, "ce", 0).loss == pytest.approx(-np.log(p[0, 0]))
    assert loss_and_grad(p, "ce", 0, probabilities=True).loss == pytest.approx(-np.log(p[0, 0]))
    assert loss_and_grad(z, "ce").target == 1
    with pytest.raises(InputError):
        loss_and_grad(z, "ce", 1.5)
    with pytest.raises(InputError):
        loss_and_grad(z, "mse", np.zeros(4))


def test_unlikely_target_still_gets_the_exact_logit_gradient() -> None:
    """Asking "why not class k?" of a confident classifier: p_k is far below the clip epsilon,
    yet d CE / d logits = p - onehot(k) exactly, and the error flows back to the first layer."""
    import onnx as _onnx

    from inspector.autodiff import compute_gradients
    from inspector.loaders import load_model
    from inspector.runtime.activations import run_activations

    samples = Path(__file__).resolve().parents[2] / "samples"
    model = load_model(samples / "digits_cnn.onnx")
    feeds = {model.graph.inputs[0]: np.load(samples / "digits_cnn_input.npy")}
    probs = run_activations(model, feeds).outputs[model.graph.outputs[0]]
    k = int(np.argmin(probs[0]))
    result = compute_gradients(model, feeds, target=k, loss="ce")
    proto = _onnx.load(str(samples / "digits_cnn.onnx"))
    softmax = next(n for n in proto.graph.node if n.op_type == "Softmax")
    expected = probs.astype(np.float64).copy()
    expected[0, k] -= 1.0
    np.testing.assert_allclose(result.values[softmax.input[0]], expected, rtol=1e-5, atol=1e-7)
    first_conv = next(n for n in proto.graph.node if n.op_type == "Conv")
    assert np.linalg.norm(result.values[first_conv.output[0]]) > 1e-3
