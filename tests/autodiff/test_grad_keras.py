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


# Issue 12 "Exactness": each case against GradientTape and against central finite differences
# of the loss, the lowered ONNX model run by onnxruntime with one weight or input perturbed.


def _close_to_tape(low, tape, keys):
    """Each key within 1e-3 of max|g| of GradientTape's (the test above's criterion); the
    largest relative error seen."""
    worst = 0.0
    for k in keys:
        assert k in low.values and k in tape.values, k
        scale = np.abs(tape.values[k]).max() + 1e-12
        err = np.abs(low.values[k] - tape.values[k]).max() / scale
        assert err <= 1e-3, (k, err)
        worst = max(worst, err)
    return worst


def _fd_loss(path, kind, target, probs):
    """f(feeds, {weight key: array}) = the loss on the lowered model's final output, by
    onnxruntime (float32 forward), with weights overridden by their Keras key."""
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    from inspector.autodiff.keras_onnx import lowered
    from inspector.autodiff.losses import loss_and_grad

    low = lowered(load_model(path))
    proto = onnx.load(str(low.onnx_path))
    init_of = {f"{n}/{w}": i for i, (n, w) in low.weights.items()}
    out = {k: o for o, k in low.outputs.items()}[low.final[0]]
    weights = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in proto.graph.initializer}

    def f(feeds, over=None):
        m = onnx.ModelProto()
        m.CopyFrom(proto)
        for init in m.graph.initializer:
            for key, a in (over or {}).items():
                if init_of[key] == init.name:
                    init.CopyFrom(numpy_helper.from_array(a.astype(np.float32), init.name))
        sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        y = sess.run([out], {low.inputs[k]: v for k, v in feeds.items()})[0]
        return loss_and_grad(y.astype(np.float64), kind, target, probs).loss

    f.weight = lambda key: weights[init_of[key]]
    return f


def _fd_check(f, feeds, grad, key=None, inp=None, h=2e-3, seed=0):
    """<grad, v> against the central difference along a random direction v of weight `key`
    (or of float input `inp`); returns the relative error."""
    base = f.weight(key) if key else feeds[inp].astype(np.float64)
    v = np.random.default_rng(seed).normal(size=base.shape)
    if key:
        fp, fm = f(feeds, {key: base + h * v}), f(feeds, {key: base - h * v})
    else:
        fp = f({**feeds, inp: (base + h * v).astype(np.float32)})
        fm = f({**feeds, inp: (base - h * v).astype(np.float32)})
    fd, ours = (fp - fm) / (2 * h), float(np.sum(grad * v))
    assert ours == pytest.approx(fd, rel=2e-3, abs=5e-5), (key or inp, ours, fd)
    return abs(ours - fd) / (abs(fd) + 1e-12)


def _embedding_model(pool):
    keras.utils.set_random_seed(7)
    inp = keras.Input((5,), dtype="int32", name="ids")
    x = keras.layers.Embedding(10, 4, name="emb")(inp)
    x = (keras.layers.Flatten if pool == "flatten" else keras.layers.GlobalAveragePooling1D)(
        name="gap")(x)
    out = keras.layers.Dense(3, activation="softmax", name="head")(x)
    return keras.Model(inp, out, name="emb_model")


@pytest.mark.parametrize("pool", ["average", "flatten"])
def test_embedding_table_gets_gradients(tmp_path, pool):
    path = tmp_path / "emb.keras"
    _embedding_model(pool).save(path)
    ids = np.array([[1, 2, 2, 5, 7], [0, 1, 3, 3, 3]], dtype="int32")
    m = load_model(path)
    low = compute_gradients(m, {"ids": ids}, target=1)
    tape = compute_gradients(m, {"ids": ids}, target=1, engine="gradienttape")
    g = low.values["emb/embeddings"]
    assert g.shape == (10, 4) and low.uncovered == {}
    used = sorted(set(ids.ravel().tolist()))
    assert sorted(np.nonzero(np.abs(g).sum(1))[0].tolist()) == used  # only the ids' rows
    # GradientTape's IndexedSlices, densified: repeated ids summed.
    _close_to_tape(low, tape, ["emb/embeddings", "emb", "gap", "head", "head/kernel"])
    f = _fd_loss(path, "ce", 1, True)
    assert low.loss == pytest.approx(f({"ids": ids}), rel=1e-5)
    _fd_check(f, {"ids": ids}, g, key="emb/embeddings")
    _fd_check(f, {"ids": ids}, low.values["head/kernel"], key="head/kernel", seed=1)


def _rescaled_nested_model():
    """Rescaling, then a nested Functional model holding a nested Sequential."""
    keras.utils.set_random_seed(8)
    inp = keras.Input((4, 4, 2), name="img")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="rescale")(inp)
    seq = keras.Sequential([keras.Input((4, 4, 3)),
                            keras.layers.Conv2D(3, 3, padding="same", activation="tanh",
                                                name="seq_conv")], name="seq")
    i2 = keras.Input((4, 4, 2))
    h = keras.layers.Conv2D(3, 1, activation="relu", name="sub_conv",
                            bias_initializer="random_normal")(i2)
    h = seq(h)
    h = keras.layers.GlobalAveragePooling2D(name="sub_gap")(h)
    sub = keras.Model(i2, h, name="sub")
    out = keras.layers.Dense(3, activation="softmax", name="head")(sub(x))
    return keras.Model(inp, out, name="rescaled")


def test_rescaling_before_nested_models_equals_tape(tmp_path):
    path = tmp_path / "resc.keras"
    _rescaled_nested_model().save(path)
    x = np.random.default_rng(5).uniform(0, 255, size=(2, 4, 4, 2)).astype("float32")
    m = load_model(path)
    low = compute_gradients(m, {"img": x}, target=0)
    tape = compute_gradients(m, {"img": x}, target=0, engine="gradienttape")
    _close_to_tape(low, tape, ["rescale", "sub", "seq", "sub_conv", "seq_conv", "sub_gap",
                               "img", "sub_conv/kernel"])
    # d/dx = d/d(rescale) * scale.
    np.testing.assert_allclose(low.values["img"], low.values["rescale"] / 127.5, rtol=1e-5,
                               atol=1e-9)
    f = _fd_loss(path, "ce", 0, True)
    _fd_check(f, {"img": x}, low.values["img"], inp="img", h=0.5)
    _fd_check(f, {"img": x}, low.values["sub_conv/kernel"], key="sub_conv/kernel")


def test_shared_layer_calls_equal_tape_per_call(nested_file):
    path, model = nested_file
    x = np.random.default_rng(6).normal(size=(2, 8, 8, 3)).astype("float32")
    low = compute_gradients(load_model(path), {"img": x}, target=0)
    # GradientTape per call: the same model with the shared Dense split into two copies
    # holding its weights, each copy's gradient being that call's contribution.
    shared = model.get_layer("shared")
    first, second = (keras.layers.Dense(4, activation="tanh") for _ in range(2))
    body = keras.Model(model.input, model.get_layer("block").output)
    first.build((None, 4))
    second.build((None, 4))
    for c in (first, second):
        c.set_weights(shared.get_weights())
    with tf.GradientTape() as tape:
        p = model.get_layer("head")(second(first(body(x))))
        loss = -tf.reduce_mean(tf.math.log(p[:, 0]))
    g1, g2 = tape.gradient(loss, [first.kernel, second.kernel])
    assert low.loss == pytest.approx(float(loss), rel=1e-5)
    for key, g in [("shared/kernel@shared", g1), ("shared/kernel@shared:1", g2),
                   ("shared/kernel", g1 + g2)]:
        scale = np.abs(g.numpy()).max()
        assert np.abs(low.values[key] - g.numpy()).max() <= 1e-3 * scale, key
    np.testing.assert_allclose(low.values["shared/kernel@shared"]
                               + low.values["shared/kernel@shared:1"],
                               low.values["shared/kernel"], rtol=1e-5, atol=1e-7)
    f = _fd_loss(path, "ce", 0, True)
    _fd_check(f, {"img": x}, low.values["shared/kernel"], key="shared/kernel")


def _logits_model():
    keras.utils.set_random_seed(9)
    inp = keras.Input((5,), name="x")
    h = keras.layers.Dense(6, activation="tanh", name="d1")(inp)
    out = keras.layers.Dense(3, name="logits")(h)
    return keras.Model(inp, out, name="logit_mlp")


def _softmax_model():
    model = _logits_model()
    out = keras.layers.Softmax(name="probs")(model.output)
    return keras.Model(model.input, out, name="prob_mlp")


@pytest.mark.parametrize("kind,probs", [("mse", False), ("ce", False), ("ce", True)])
def test_losses_equal_keras_and_finite_differences(tmp_path, kind, probs):
    model = _softmax_model() if probs else _logits_model()
    path = tmp_path / "m.keras"
    model.save(path)
    x = np.random.default_rng(7).normal(size=(3, 5)).astype("float32")
    target = 0.2 if kind == "mse" else 2
    m = load_model(path)
    low = compute_gradients(m, {"x": x}, target=target, loss=kind)
    tape = compute_gradients(m, {"x": x}, target=target, loss=kind, engine="gradienttape")
    y = model(x)
    if kind == "mse":
        expect = keras.losses.MeanSquaredError()(np.full(y.shape, 0.2, "float32"), y)
    else:
        expect = keras.losses.SparseCategoricalCrossentropy(from_logits=not probs)(
            np.full(len(x), 2), y)
    assert low.loss == pytest.approx(float(expect), rel=1e-5)
    assert tape.loss == pytest.approx(float(expect), rel=1e-5)
    _close_to_tape(low, tape, ["x", "d1", "d1/kernel", "d1/bias", "logits/kernel"])
    f = _fd_loss(path, kind, target, probs)
    assert low.loss == pytest.approx(f({"x": x}), rel=1e-5)
    _fd_check(f, {"x": x}, low.values["x"], inp="x")
    _fd_check(f, {"x": x}, low.values["d1/kernel"], key="d1/kernel", seed=2)
    _fd_check(f, {"x": x}, low.values["logits/kernel"], key="logits/kernel", seed=3)
