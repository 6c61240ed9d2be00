"""Real Keras 2 files (written by tf_keras, the Keras 2 API) and nested legacy `.h5` weights.

tf_keras is the oracle for its own files: layer names, classes, connections, weight arrays
and count_params. Needs the `tf-keras` package (a test extra) beside TensorFlow.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from inspector.loaders import load_model
from tests.loaders.test_keras_models import check_against_keras

pytestmark = pytest.mark.convert


@pytest.fixture(scope="session")
def tfk() -> Any:
    """tf_keras, the Keras 2 API (pip install tf-keras)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    pytest.importorskip("tensorflow")
    return pytest.importorskip("tf_keras", reason="needs the tf-keras package (Keras 2 API)")


def _tfk_sequential(K: Any) -> Any:
    L = K.layers
    # Keras 2 style: the input shape on the first layer, no explicit Input.
    return K.Sequential(
        [
            L.Conv2D(4, 3, activation="relu", input_shape=(12, 12, 2), name="conv"),
            L.DepthwiseConv2D(3, depth_multiplier=2, name="dw"),
            L.BatchNormalization(name="bn"),
            L.MaxPooling2D(name="pool"),
            L.Flatten(name="flat"),
            L.Dense(5, activation="softmax", name="out"),
        ],
        name="seq2",
    )


def _tfk_nested_shared(K: Any) -> Any:
    L = K.layers
    fi = K.Input((6,), name="inner_in")
    fx = L.Dense(6, activation="relu", name="inner_dense")(fi)
    fx = L.BatchNormalization(name="inner_bn")(fx)
    inner = K.Model(fi, fx, name="inner_func")
    seq = K.Sequential(
        [K.Input((6,)), L.Dense(4, activation="tanh", name="seq_d1"), L.Dense(3, name="seq_d2")],
        name="inner_seq",
    )
    a = K.Input((6,), name="a")
    b = K.Input((6,), name="b")
    shared = L.Dense(6, activation="sigmoid", name="shared")
    sa, sb = shared(a), shared(b)
    h = inner(L.Add(name="add")([sa, sb]))
    o1 = seq(h)
    o2 = L.Concatenate(name="cat")([shared(h), sb])
    return K.Model([a, b], [o1, o2], name="outer2")


def _tfk_rnn(K: Any) -> Any:
    L = K.layers
    t = K.Input((7,), dtype="int32", name="tokens")
    e = L.Embedding(30, 6, name="emb")(t)
    s = L.LSTM(5, return_sequences=True, name="lstm")(e)
    g, state = L.GRU(4, return_sequences=True, return_state=True, name="gru")(s)
    bi = L.Bidirectional(L.LSTM(3, return_sequences=True), name="bidir")(g)
    td = L.TimeDistributed(L.Dense(2), name="td")(bi)
    r = L.SimpleRNN(3, name="srnn")(td)
    return K.Model(t, [r, state], name="rnn2")


def _tfk_mobilenet(K: Any) -> Any:
    return K.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), alpha=0.35, classes=4)


BUILDERS = {
    "sequential": _tfk_sequential,
    "nested_shared": _tfk_nested_shared,
    "rnn": _tfk_rnn,
    "mobilenetv2": _tfk_mobilenet,
}


@pytest.fixture(scope="session")
def tfk_models(tfk: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("tf_keras")
    out = {}
    for name, build in BUILDERS.items():
        model = build(tfk)
        paths = {"h5": folder / f"{name}.h5", "keras": folder / f"{name}.keras"}
        model.save(paths["h5"])
        model.save(paths["keras"])
        out[name] = (model, paths)
    return out


@pytest.mark.parametrize("fmt", ["h5", "keras"])
@pytest.mark.parametrize("name", list(BUILDERS))
def test_tf_keras_files_match_tf_keras(tfk: Any, tfk_models: dict, name: str, fmt: str) -> None:
    kmodel, paths = tfk_models[name]
    model = load_model(paths[fmt])
    assert model.producer == f"keras {tfk.__version__}"
    assert model.format_version == ("Keras 2 .h5" if fmt == "h5" else "Keras 2 .keras")
    assert model.warnings == ()
    check_against_keras(tfk, kmodel, model)


def test_tf_keras_files_open_the_same_in_keras(tfk: Any, tfk_models: dict) -> None:
    """tf_keras's file read back by tf_keras holds the weights we read (not just the model)."""
    kmodel, paths = tfk_models["rnn"]
    for fmt in ("h5", "keras"):
        reread = tfk.models.load_model(paths[fmt], compile=False)
        ours = load_model(paths[fmt])
        got = [w.tensor.numpy() for n in ours.graph.nodes for w in n.weights]
        want = reread.get_weights()
        assert len(got) == len(want) == len(kmodel.get_weights())
        assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))


def test_old_colon_zero_names_are_stripped(tfk: Any, tfk_models: dict) -> None:
    """Keras 2 weight names end in ":0" in weight_names and as dataset names."""
    _, paths = tfk_models["sequential"]
    with h5py.File(paths["h5"], "r") as f:
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["model_weights/dw"].attrs["weight_names"]]
    assert names == ["dw/depthwise_kernel:0", "dw/bias:0"]
    node = load_model(paths["h5"]).graph.node("dw")
    assert [w.name for w in node.weights] == ["depthwise_kernel", "bias"]
    assert node.weights[0].tensor.location == "model_weights/dw/dw/depthwise_kernel:0"


# --- nested legacy .h5: weights found by the group structure, never by a loose name match ---


def _twin_nested(K: Any, lazy_name_clash: bool) -> Any:
    """Two nested models whose inner layers have the same names, a doubly nested model, and
    an outer layer with an inner layer's name. With `lazy_name_clash`, a Sequential built
    only when called holds a layer named like itself (Keras 3 then writes weight names
    "twin/twin/kernel" beside "twin/dense/kernel")."""
    L = K.layers

    def block(name: str, prefix: str = "") -> Any:
        i = K.Input((4,), name=f"{name}_in")
        x = L.Dense(4, name=f"{prefix}dense")(i)
        x = L.BatchNormalization(name=f"{prefix}bn")(x)
        x = L.Dense(4, name=f"{prefix}dense_b")(x)
        x = L.BatchNormalization(name=f"{prefix}bn2")(x)
        return K.Model(i, x, name=name)

    ma, mb, mc = block("ma"), block("mb"), block("mc", "c_")
    mi = K.Input((4,), name="mid_in")
    mid = K.Model(mi, mc(mi), name="mid")
    x = K.Input((4,), name="x")
    h = mid(mb(ma(x)))
    if lazy_name_clash:
        h = K.Sequential([L.Dense(4, name="twin"), L.Dense(4, name="dense")], name="twin")(h)
    out = L.Dense(2, name="dense")(h)
    return K.Model(x, out, name="twins")


@pytest.fixture(scope="session")
def keras3() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras")


@pytest.mark.parametrize("writer", ["keras", "tf_keras"])
def test_nested_same_named_inner_layers(writer: str, tmp_path: Path, request: Any) -> None:
    K = request.getfixturevalue("keras3" if writer == "keras" else "tfk")
    kmodel = _twin_nested(K, lazy_name_clash=writer == "keras")
    # Distinct values everywhere, so a weight read from the wrong layer cannot pass.
    rng = np.random.default_rng(0)
    kmodel.set_weights([rng.normal(size=w.shape).astype("float32") for w in kmodel.get_weights()])
    path = tmp_path / "twins.h5"
    kmodel.save(path)
    model = load_model(path)
    check_against_keras(K, kmodel, model)
    ma = model.graph.node("ma/dense").weights[0].tensor
    mb = model.graph.node("mb/dense").weights[0].tensor
    assert ma.location == "model_weights/ma/dense/kernel" or ma.location.startswith("model_weights/ma/")
    assert mb.location.startswith("model_weights/mb/")
    assert not np.array_equal(ma.numpy(), mb.numpy())


def test_nested_weights_follow_weight_names_not_loose_segments(
    keras3: Any, tmp_path: Path
) -> None:
    """A legacy file whose nested group lists a sub-layer segment equal to another inner
    layer's name: the weight belongs to the layer its name starts with."""
    K = keras3
    L = K.layers
    i = K.Input((5, 3), name="inner_in")
    y = L.Bidirectional(L.LSTM(2, return_sequences=True, name="lstm"), name="bidir")(i)
    y = L.Dense(3, name="forward_lstm")(y)  # named like Bidirectional's inner sub-layer
    inner = K.Model(i, y, name="inner")
    x = K.Input((5, 3), name="x")
    kmodel = K.Model(x, inner(x), name="outer")
    path = tmp_path / "segments.h5"
    kmodel.save(path)
    with h5py.File(path, "r") as f:
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["model_weights/inner"].attrs["weight_names"]]
    assert any(n.startswith("bidir/forward_lstm/") for n in names)
    check_against_keras(K, kmodel, load_model(path))


def test_keras2_h5_without_input_layer_in_nested_config(tfk: Any, tfk_models: dict) -> None:
    """tf_keras configs keep Keras 2 inbound nodes ([[name, node, tensor, {}]])."""
    _, paths = tfk_models["nested_shared"]
    with h5py.File(paths["h5"], "r") as f:
        config = json.loads(f.attrs["model_config"])
    shared = next(ly for ly in config["config"]["layers"] if ly["name"] == "shared")
    assert shared["inbound_nodes"][0][0][:3] == ["a", 0, 0]
    model = load_model(paths["h5"])
    assert {n.name for n in model.graph.nodes if n.attr("layer") == "shared"} == {
        "shared", "shared:1", "shared:2"
    }


@pytest.mark.parametrize("name", ["nested_shared", "rnn"])
def test_tf_keras_npz_weights(tfk: Any, tfk_models: dict, name: str, tmp_path: Path) -> None:
    """tf_keras's saving_lib with the .npz store: plain arrays, groups named by config order."""
    from tf_keras.src.saving import saving_lib

    kmodel, _ = tfk_models[name]
    path = tmp_path / f"{name}.keras"
    saving_lib.save_model(kmodel, str(path), weights_format="npz")
    check_against_keras(tfk, kmodel, load_model(path))
