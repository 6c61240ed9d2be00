"""Keras gradients against TensorFlow itself, and against our ONNX engine on the same model
converted by tf2onnx (the strongest check of both engines)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from inspector.autodiff import compute_gradients
from inspector.loaders.registry import load_model

pytestmark = pytest.mark.convert

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")


def _nested_model():
    """Conv (1x1 stride 2) + BN + a nested Sequential + a shared Dense + softmax head."""
    keras.utils.set_random_seed(3)
    inp = keras.Input((8, 8, 3), name="img")
    x = keras.layers.Conv2D(6, 1, strides=2, name="conv_s2")(inp)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Activation("relu", name="act")(x)
    inner = keras.Sequential([keras.Input((4, 4, 6)), keras.layers.Conv2D(4, 3, padding="same",
                              activation="tanh", name="inner_conv"),
                              keras.layers.GlobalAveragePooling2D(name="inner_gap")], name="block")
    x = inner(x)
    shared = keras.layers.Dense(4, activation="tanh", name="shared")
    x = shared(shared(x))
    out = keras.layers.Dense(3, activation="softmax", name="head")(x)
    model = keras.Model(inp, out, name="nested")
    # Non-trivial BN statistics so the layer is not the identity.
    bn = model.get_layer("bn")
    bn.moving_mean.assign(np.linspace(-0.2, 0.3, 6).astype("float32"))
    bn.moving_variance.assign(np.linspace(0.5, 1.5, 6).astype("float32"))
    return model


@pytest.fixture(scope="module")
def nested_file(tmp_path_factory):
    model = _nested_model()
    path = tmp_path_factory.mktemp("k") / "nested.keras"
    model.save(path)
    return path, model


def test_weight_gradients_equal_tape_on_plain_model(nested_file):
    path, model = nested_file
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    res = compute_gradients(load_model(path), {"img": x}, target=1)
    assert res.output_name == "head" and res.target == 1
    with tf.GradientTape() as tape:
        p = model(x)
        loss = -tf.reduce_mean(tf.math.log(p[:, 1]))
    expect = tape.gradient(loss, model.trainable_weights)
    assert res.loss == pytest.approx(float(loss), rel=1e-5)
    paths = {v.path: g.numpy() for v, g in zip(model.trainable_weights, expect, strict=True)}
    pairs = {"conv_s2/kernel": "conv_s2/kernel", "bn/gamma": "bn/gamma", "bn/beta": "bn/beta",
             "inner_conv/kernel": "block/inner_conv/kernel", "shared/kernel": "shared/kernel",
             "head/bias": "head/bias"}
    for ours, theirs in pairs.items():
        np.testing.assert_allclose(res.values[ours], paths[theirs], rtol=1e-5, atol=1e-7,
                                   err_msg=ours)
    # Layer outputs, keyed like run -o: both calls of the shared layer, nested layers too.
    for key in ["conv_s2", "bn", "act", "block", "inner_conv", "inner_gap", "shared",
                "shared:1", "head", "img"]:
        assert key in res.values, key
    # Dense consistency: dW_head = a^T dz with a the shared:1 output, dz = dL/d(pre-softmax).
    a = model.get_layer("shared")(model.get_layer("shared")(
        keras.Model(model.input, model.get_layer("block").output)(x))).numpy()
    pp = res.values["head"]
    probs = model(x).numpy()
    dz = probs * (pp - (pp * probs).sum(-1, keepdims=True))
    np.testing.assert_allclose(res.values["head/kernel"], a.T @ dz, rtol=1e-4, atol=1e-7)
    assert res.values["img"].shape == x.shape and np.abs(res.values["img"]).max() > 0
    assert res.norms["head"] > 0 and res.uncovered == {}


def test_mse_and_input_gradient_saliency(nested_file):
    path, model = nested_file
    x = np.random.default_rng(1).normal(size=(1, 8, 8, 3)).astype("float32")
    res = compute_gradients(load_model(path), {"img": x}, target=0.25, loss="mse")
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = model(xt)
        loss = keras.losses.MeanSquaredError()(tf.fill(tf.shape(y), 0.25), y)
    assert res.loss == pytest.approx(float(loss), rel=1e-5)  # Keras's own MSE: mean, no 1/2
    np.testing.assert_allclose(res.values["img"], tape.gradient(loss, xt).numpy(), rtol=1e-4,
                               atol=1e-8)
    assert res.target is None and res.loss_kind == "mse" and res.engine == "lowering"
    assert res.reduction["batch"] == "mean" and res.reduction["count"] == 3


def _convertible_model():
    keras.utils.set_random_seed(5)
    # Non-zero biases: tf2onnx drops an all-zero bias add, leaving nothing to compare.
    b = {"bias_initializer": "random_normal"}
    inp = keras.Input((6, 6, 2), name="x")
    h = keras.layers.Conv2D(3, 3, activation="relu", name="conv", **b)(inp)
    h = keras.layers.Flatten(name="flat")(h)
    h = keras.layers.Dense(5, activation="tanh", name="d1", **b)(h)
    out = keras.layers.Dense(3, activation="softmax", name="d2", **b)(h)
    return keras.Model(inp, out, name="conv_mlp")


def test_onnx_engine_matches_tensorflow_through_tf2onnx(tmp_path):
    tf2onnx = pytest.importorskip("tf2onnx")
    model = _convertible_model()
    kpath = tmp_path / "m.keras"
    model.save(kpath)
    opath = tmp_path / "m.onnx"
    spec = (tf.TensorSpec((None, 6, 6, 2), tf.float32, name="x"),)
    tf2onnx.convert.from_keras(model, input_signature=spec, opset=15, output_path=str(opath))
    x = np.random.default_rng(2).uniform(-1, 1, size=(2, 6, 6, 2)).astype("float32")
    kres = compute_gradients(load_model(kpath), {"x": x}, target=2)
    omodel = load_model(opath)
    ores = compute_gradients(omodel, {omodel.graph.inputs[0]: x}, target=2)
    assert ores.uncovered == {}
    assert ores.loss == pytest.approx(kres.loss, rel=1e-5)
    # Each Keras weight gradient appears among the ONNX weight gradients (tf2onnx keeps Dense
    # kernels as MatMul B, biases as Add B, and conv kernels transposed HWIO -> OIHW).
    onnx_w = [v for k, v in ores.values.items() if "/" in k and k.split("/")[-1] in ("B", "W", "C")]
    for key in ["conv/kernel", "conv/bias", "d1/kernel", "d1/bias", "d2/kernel", "d2/bias"]:
        kg = kres.values[key]
        cands = [kg, kg.transpose(3, 2, 0, 1)] if kg.ndim == 4 else [kg]
        best = min((np.abs(o - c).max() / (np.abs(c).max() + 1e-12)
                    for o in onnx_w for c in cands if o.shape == c.shape), default=np.inf)
        assert best < 1e-4, (key, best)
    # The input gradient (saliency) agrees too.
    np.testing.assert_allclose(ores.values[omodel.graph.inputs[0]], kres.values["x"],
                               rtol=1e-4, atol=1e-4 * np.abs(kres.values["x"]).max())


def test_lowering_engine_equals_gradienttape_and_splits_shared_calls(nested_file):
    path, _ = nested_file
    x = np.random.default_rng(4).normal(size=(2, 8, 8, 3)).astype("float32")
    m = load_model(path)
    low = compute_gradients(m, {"img": x}, target=2)
    tape = compute_gradients(m, {"img": x}, target=2, engine="gradienttape")
    assert low.engine == "lowering" and tape.engine == "gradienttape"
    common = [k for k in tape.values if k in low.values]
    assert len(common) >= 15, common
    for k in common:
        scale = np.abs(tape.values[k]).max() + 1e-12
        assert np.abs(low.values[k] - tape.values[k]).max() <= 1e-3 * scale, k
    # The shared Dense: its total once, and each call's part, which sum to the total.
    parts = low.shared["shared/kernel"]
    assert sorted(parts) == ["shared/kernel@shared", "shared/kernel@shared:1"]
    np.testing.assert_allclose(sum(low.values[p] for p in parts), low.values["shared/kernel"],
                               rtol=1e-5, atol=1e-7)
