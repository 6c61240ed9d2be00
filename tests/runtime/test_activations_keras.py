"""run_activations on Keras files: every layer's value equals what Keras itself computes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inspector.loaders.registry import load_model
from inspector.runtime.activations import run_activations
from inspector.runtime.inputs import make_inputs

pytestmark = pytest.mark.convert


@pytest.fixture(scope="module")
def keras_env(tmp_path_factory: pytest.TempPathFactory) -> Any:
    pytest.importorskip("tensorflow")
    pytest.importorskip("tf2onnx")
    mp = pytest.MonkeyPatch()
    mp.setenv("MODEL_INSPECTOR_CACHE", str(tmp_path_factory.mktemp("cache")))
    import keras

    keras.utils.set_random_seed(0)
    yield keras
    mp.undo()


def rel_err(got: np.ndarray, want: np.ndarray) -> float:
    want = np.asarray(want, np.float64)
    return float(np.abs(np.asarray(got, np.float64) - want).max() / max(np.abs(want).max(), 1e-6))


def first_call(model: Any, layer: Any) -> Any:
    """The layer's first call inside `model` (a nested model's `.output` is its own graph's)."""
    mine = {id(n) for nodes in model._nodes_by_depth.values() for n in nodes}
    return next(n for n in layer._inbound_nodes if id(n) in mine)


def keras_layer_values(keras: Any, model: Any, x: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Keras's own output of every top-level layer's first call, and of nested models' layers."""
    model = getattr(model, "_functional", None) or model
    layers = [ly for ly in model.layers if not isinstance(ly, keras.layers.InputLayer)]
    calls = [first_call(model, ly) for ly in layers]
    outs = keras.Model(model.inputs, [c.output_tensors[0] for c in calls])(x)
    outs = outs if isinstance(outs, list | tuple) else [outs]
    want = {ly.name: np.asarray(o) for ly, o in zip(layers, outs, strict=True)}
    for ly, call in zip(layers, calls, strict=True):
        if isinstance(ly, keras.Model):
            inner_in = np.asarray(keras.Model(model.inputs, call.input_tensors[0])(x))
            want.update(keras_layer_values(keras, ly, [inner_in]))
    return want


def keras_preact(keras: Any, model: Any, layer: Any, x: list[np.ndarray]) -> np.ndarray:
    """The layer rebuilt without its activation, with the same weights, on Keras's own input."""
    cfg = layer.get_config()
    cfg["activation"] = "linear"
    clone = type(layer).from_config(cfg)
    layer_in = np.asarray(keras.Model(model.inputs, first_call(model, layer).input_tensors[0])(x))
    clone.build(layer_in.shape)
    clone.set_weights(layer.get_weights())
    return np.asarray(clone(layer_in))


def check_model(keras: Any, path: Path, preact: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    model_ir = load_model(path)
    feeds = make_inputs(model_ir, seed=5, dims={"batch": 2})
    result = run_activations(model_ir, feeds)
    km = keras.models.load_model(path, compile=False)
    x = [feeds[n] for n in model_ir.graph.inputs]
    want = keras_layer_values(keras, km, x)
    for name, arr in want.items():
        assert name in result.values, name
        assert result.values[name].shape == arr.shape, name
        assert rel_err(result.values[name], arr) < 1e-4, name
    final = np.asarray(km(x))
    (out,) = result.outputs.values()
    assert rel_err(out, final) < 1e-4
    fn = getattr(km, "_functional", None) or km
    for name in preact:
        layer = km.get_layer(name)
        assert rel_err(result.values[f"{name}/preact"], keras_preact(keras, fn, layer, x)) < 1e-4
        assert f"{name}/preact" in result.by_node[name]
    # Every IR node has its activation.
    for node in model_ir.graph.nodes:
        assert result.by_node[node.name], node.name
    return result.values


def test_sequential_dense_conv(keras_env: Any, tmp_path: Path) -> None:
    keras = keras_env
    m = keras.Sequential(
        [
            keras.Input((12, 12, 1)),
            keras.layers.Conv2D(4, 3, activation="relu", name="conv_a"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.MaxPooling2D(name="pool"),
            keras.layers.Conv2D(6, 3, activation="sigmoid", name="conv_b"),
            keras.layers.Flatten(name="flat"),
            keras.layers.Dense(10, activation="relu", name="fc"),
            keras.layers.Dropout(0.5, name="drop"),
            keras.layers.Dense(3, activation="softmax", name="probs"),
        ]
    )
    # Non-trivial BatchNorm statistics, so folding it into the Conv is really exercised.
    bn = m.get_layer("bn")
    bn.set_weights([np.linspace(0.5, 2, 4), np.linspace(-1, 1, 4), np.linspace(-0.3, 0.3, 4),
                    np.linspace(0.5, 3, 4)])
    path = tmp_path / "seq.keras"
    m.save(path)
    check_model(keras, path, preact=("conv_a", "conv_b", "fc", "probs"))


def test_functional_nested_shared(keras_env: Any, tmp_path: Path) -> None:
    keras = keras_env
    inner_in = keras.Input((8,), name="inner_in")
    inner = keras.Model(
        inner_in, keras.layers.Dense(6, activation="relu", name="inner_dense")(inner_in),
        name="inner",
    )
    x = keras.Input((4,), name="x")
    a = keras.layers.Dense(8, activation="tanh", name="d1")(x)
    b = inner(a)
    shared = keras.layers.Dense(6, name="shared")
    c = shared(b)
    d = shared(c)
    e = keras.layers.Add(name="add")([c, d])
    out = keras.layers.Dense(2, activation="sigmoid", name="head")(e)
    path = tmp_path / "nested.keras"
    keras.Model(x, out).save(path)
    values = check_model(keras, path, preact=("d1", "head"))
    km = keras.models.load_model(path, compile=False)
    # The later call of the shared layer, as Keras computes it from the first call's output.
    want = np.asarray(km.get_layer("shared")(values["shared"]))
    assert rel_err(values["shared:1"], want) < 1e-4
    inner_layer = km.get_layer("inner").get_layer("inner_dense")
    inner_x = np.asarray(keras.Model(km.inputs, km.get_layer("d1").output)(values["x"]))
    pre = inner_x @ inner_layer.kernel.numpy() + inner_layer.bias.numpy()
    assert rel_err(values["inner_dense/preact"], pre) < 1e-4


def test_rnn(keras_env: Any, tmp_path: Path) -> None:
    keras = keras_env
    x = keras.Input((10, 3), name="seq")
    h = keras.layers.LSTM(8, return_sequences=True, name="lstm")(x)
    h = keras.layers.GRU(5, name="gru")(h)
    out = keras.layers.Dense(2, name="head")(h)
    path = tmp_path / "rnn.h5"
    keras.Model(x, out).save(path)  # legacy HDF5, the other file format
    check_model(keras, path)


@pytest.mark.slow
def test_mobilenet_v2(keras_env: Any, tmp_path: Path) -> None:
    keras = keras_env
    m = keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3))
    path = tmp_path / "mnv2.keras"
    m.save(path)
    values = check_model(keras, path, preact=("predictions",))
    assert len(values) > 150
