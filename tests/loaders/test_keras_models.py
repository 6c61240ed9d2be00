"""The Keras loader against Keras itself: real files written by Keras, Keras's model as oracle."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inspector.ir import Model
from inspector.loaders import load_model
from inspector.loaders.keras_config import build_graph
from tests.loaders import keras_builders as kb

pytestmark = pytest.mark.convert


@pytest.fixture(scope="session")
def keras_mod() -> Any:
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras")


def _save(model: Any, folder: Path, name: str) -> dict[str, Path]:
    paths = {"keras": folder / f"{name}.keras", "h5": folder / f"{name}.h5"}
    model.save(paths["keras"])
    model.save(paths["h5"])
    return paths


@pytest.fixture(scope="session")
def small_models(keras_mod: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("keras_small")
    models = {
        "nested": kb.nested(),
        "shared_multi": kb.shared_multi(),
        "rnn": kb.rnn(),
        "convs": kb.convs(),
        "seq_input": kb.sequential(explicit_input=True),
        "seq_noinput": kb.sequential(explicit_input=False),
        "volumes": kb.volumes(),
        "channels_first": kb.channels_first(),
    }
    return {k: (m, _save(m, folder, k)) for k, m in models.items()}


@pytest.fixture(scope="session")
def app_models(keras_mod: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("keras_apps")
    return {k: (m, _save(m, folder, k)) for k, m in kb.applications().items()}


# --- the Keras oracle ---------------------------------------------------------------------


def _leaf_layers(keras: Any, model: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out += _leaf_layers(keras, layer, (*path, layer.name))
        elif not isinstance(layer, keras.layers.InputLayer):
            out.append((path, layer))
    return out


def _as_list(x: Any) -> list[Any]:
    """tf_keras gives a bare tensor where Keras 3 gives a list of one."""
    return list(x) if isinstance(x, list | tuple) else [x]


def _bindings(keras: Any, model: Any, table: dict[int, Any]) -> None:
    """Inner input tensors of nested models -> the outer tensors fed to them."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            for node in layer._inbound_nodes:
                fed = _as_list(node.input_tensors)
                if any(f is i for f, i in zip(fed, layer.inputs, strict=False)):
                    continue  # tf_keras: the model's own construction node, inputs to itself
                for inner, outer in zip(layer.inputs, fed, strict=False):
                    table[id(inner)] = outer
            _bindings(keras, layer, table)


def _source(keras: Any, t: Any, table: dict[int, Any]) -> tuple[str, int]:
    """(layer name, tensor index) of the leaf layer that produced `t`, through nested models."""
    op, _, ti = t._keras_history
    if isinstance(op, keras.layers.InputLayer):
        if id(t) in table:
            return _source(keras, table[id(t)], table)
        return (op.name, 0)
    if isinstance(op, keras.Model):
        return _source(keras, op.outputs[ti], table)
    return (op.name, ti)


def _ir_source(model: Model, value: str) -> tuple[str, int]:
    node = model.graph.producer(value)
    if node is None:
        return (value, 0)
    return (node.attr("layer"), node.outputs.index(value))


def check_against_keras(keras: Any, kmodel: Any, model: Model) -> None:
    """Layers, connections, weights, parameter count and shapes equal what Keras says."""
    table: dict[int, Any] = {}
    _bindings(keras, kmodel, table)
    leaves = _leaf_layers(keras, kmodel)
    by_layer: dict[tuple[tuple[str, ...], str], list[Any]] = {}
    for node in model.graph.nodes:
        by_layer.setdefault((node.group, node.attr("layer")), []).append(node)
    assert len(by_layer) == len(leaves)
    for path, layer in leaves:
        nodes = by_layer[(path, layer.name)]
        assert {n.op_type for n in nodes} == {layer.__class__.__name__}
        calls = [n for n in layer._inbound_nodes if _as_list(n.input_tensors)]
        assert len(nodes) == len(calls), layer.name
        want = sorted([_source(keras, t, table) for t in _as_list(c.input_tensors)] for c in calls)
        got = sorted([_ir_source(model, v) for v in n.inputs] for n in nodes)
        assert got == want, layer.name
        for node, call in zip(nodes, calls, strict=True):
            for value, kt in zip(node.outputs, _as_list(call.output_tensors), strict=False):
                shape = model.graph.value(value).shape
                if shape is not None:
                    assert shape == tuple(kt.shape), (layer.name, value)
        weights = nodes[0].weights
        assert [w.tensor.shape for w in weights] == [tuple(w.shape) for w in layer.weights]
        # tf_keras names a variable "dense/kernel:0", Keras 3 just "kernel".
        assert [w.name.split("/")[-1] for w in weights] == [
            w.name.split("/")[-1].split(":")[0] for w in layer.weights
        ]
        for ours, theirs in zip(weights, layer.get_weights(), strict=True):
            assert np.array_equal(ours.tensor.numpy(), theirs)
        assert all(n.weights[i].tensor is weights[i].tensor for n in nodes for i in range(len(weights)))
    assert model.parameter_count == kmodel.count_params()
    # Graph inputs are named after Keras's InputLayers, in Keras's order.
    assert list(model.graph.inputs) == [t._keras_history[0].name for t in kmodel.inputs]
    assert [_ir_source(model, v) for v in model.graph.outputs] == [
        _source(keras, t, table) for t in kmodel.outputs
    ]


def rule_shapes(path: Path) -> dict[str, Any]:
    """Shapes from our rules alone (the shapes Keras recorded in the file not used)."""
    with zipfile.ZipFile(path) as zf:
        config = json.loads(zf.read("config.json"))
    from inspector.loaders.keras_loader import _NoWeights

    graph, _ = build_graph(config, _NoWeights(), use_recorded_shapes=False)
    return {n.name: [graph.value(o).shape for o in n.outputs] for n in graph.nodes}


# --- tests --------------------------------------------------------------------------------

SMALL = [
    "nested", "shared_multi", "rnn", "convs", "seq_input", "seq_noinput", "volumes",
    "channels_first",
]


@pytest.mark.parametrize("fmt", ["keras", "h5"])
@pytest.mark.parametrize("name", SMALL)
def test_small_models_match_keras(keras_mod: Any, small_models: dict, name: str, fmt: str) -> None:
    kmodel, paths = small_models[name]
    model = load_model(paths[fmt])
    assert model.format == "keras"
    assert model.producer == f"keras {keras_mod.__version__}"
    assert model.format_version == ("Keras 3 .keras" if fmt == "keras" else "Keras 3 .h5")
    check_against_keras(keras_mod, kmodel, model)


@pytest.mark.parametrize("fmt", ["keras", "h5"])
@pytest.mark.parametrize("name", ["mobilenetv2", "resnet50", "densenet121", "nasnetmobile"])
def test_applications_match_keras(keras_mod: Any, app_models: dict, name: str, fmt: str) -> None:
    kmodel, paths = app_models[name]
    check_against_keras(keras_mod, kmodel, load_model(paths[fmt]))


@pytest.mark.parametrize(
    "name", ["convs", "rnn", "nested", "shared_multi", "volumes", "channels_first"]
)
def test_shape_rules_match_keras(keras_mod: Any, small_models: dict, name: str) -> None:
    kmodel, paths = small_models[name]
    shapes = rule_shapes(paths["keras"])
    for _, layer in _leaf_layers(keras_mod, kmodel):
        calls = [n for n in layer._inbound_nodes if n.input_tensors]
        for k, call in enumerate(calls):
            key = layer.name if k == 0 else f"{layer.name}:{k}"
            want = [tuple(t.shape) for t in call.output_tensors]
            got = shapes[key][: len(want)]
            assert got == want, key


@pytest.mark.parametrize("name", ["mobilenetv2", "resnet50", "densenet121", "nasnetmobile"])
def test_shape_rules_cover_applications(keras_mod: Any, app_models: dict, name: str) -> None:
    kmodel, paths = app_models[name]
    shapes = rule_shapes(paths["keras"])
    for _, layer in _leaf_layers(keras_mod, kmodel):
        assert shapes[layer.name] == [tuple(layer.output.shape)], layer.name


def test_sequential_inputs(keras_mod: Any, small_models: dict, tmp_path: Path) -> None:
    import shutil

    import h5py

    with_input = load_model(small_models["seq_input"][1]["keras"])
    assert with_input.graph.inputs == ("features",)
    assert with_input.graph.value("features").shape == (None, 10)
    assert with_input.graph.node("d1").attr("activation") == "relu"
    # Keras 3 always writes an InputLayer once built; Keras 2 put batch_input_shape on the
    # first layer instead. Rewrite a real file's config that way.
    kmodel, paths = small_models["seq_noinput"]
    legacy = tmp_path / "keras2_style.h5"
    shutil.copy(paths["h5"], legacy)
    with h5py.File(legacy, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        layers = config["config"]["layers"]
        assert layers[0]["class_name"] == "InputLayer"
        layers.pop(0)
        layers[0]["config"]["batch_input_shape"] = [None, 10]
        f.attrs["model_config"] = json.dumps(config)
    without = load_model(legacy)
    assert without.graph.inputs == ("input",)
    assert without.graph.value("input").shape == (None, 10)
    assert [n.name for n in without.graph.nodes] == ["d1", "drop", "d2"]
    assert without.graph.node("d1").inputs == ("input",)
    assert without.parameter_count == kmodel.count_params()


def test_nested_groups_and_io_order(keras_mod: Any, small_models: dict) -> None:
    model = load_model(small_models["nested"][1]["keras"])
    assert model.graph.node("inner_dense").group == ("inner_func",)
    assert model.graph.node("seq_d1").group == ("inner_seq",)
    assert model.graph.node("pre").group == ()
    multi = load_model(small_models["shared_multi"][1]["keras"])
    assert multi.graph.inputs == ("a", "b")
    assert [multi.graph.producer(o).attr("layer") for o in multi.graph.outputs] == ["out1", "out2"]
    assert {n.name for n in multi.graph.nodes if n.attr("layer") == "shared"} == {
        "shared", "shared:1", "shared:2"
    }


def _to_keras2_nodes(layers: list[dict[str, Any]]) -> None:
    for layer in layers:
        calls = []
        for node in layer.get("inbound_nodes", []):
            refs: list[Any] = []
            _collect_history(node, refs)
            calls.append([[h[0], h[1], h[2], {}] for h in refs])
        layer["inbound_nodes"] = calls
        if "layers" in layer.get("config", {}):
            _to_keras2_nodes(layer["config"]["layers"])


def _collect_history(obj: Any, out: list[Any]) -> None:
    if isinstance(obj, dict):
        if obj.get("class_name") == "__keras_tensor__":
            out.append(obj["config"]["keras_history"])
            return
        for v in obj.values():
            _collect_history(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _collect_history(v, out)


@pytest.mark.parametrize("name", ["shared_multi", "nested"])
def test_keras2_inbound_format(keras_mod: Any, small_models: dict, name: str, tmp_path: Path) -> None:
    """Keras 2 wrote inbound nodes as [[["layer", node, tensor, {}]]]: same graph from it."""
    import shutil

    import h5py

    kmodel, paths = small_models[name]
    legacy = tmp_path / "keras2.h5"
    shutil.copy(paths["h5"], legacy)
    with h5py.File(legacy, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        _to_keras2_nodes(config["config"]["layers"])
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"] = "2.15.0"
    model = load_model(legacy)
    assert model.format_version == "Keras 2 .h5"
    check_against_keras(keras_mod, kmodel, model)


# --- weights stored as model.weights.npz -----------------------------------------------------


@pytest.fixture(scope="session")
def npz_files(small_models: dict, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The small models saved by Keras's saving_lib with its .npz weights store."""
    from keras.src.saving import saving_lib

    folder = tmp_path_factory.mktemp("keras_npz")
    out = {}
    for name in ("nested", "shared_multi", "rnn", "convs"):
        out[name] = folder / f"{name}.keras"
        saving_lib.save_model(small_models[name][0], out[name], weights_format="npz")
    return out


@pytest.mark.parametrize("name", ["nested", "shared_multi", "rnn", "convs"])
def test_npz_weights_match_keras(keras_mod: Any, small_models: dict, npz_files: dict, name: str) -> None:
    with zipfile.ZipFile(npz_files[name]) as zf:
        assert "model.weights.npz" in zf.namelist() and "model.weights.h5" not in zf.namelist()
    model = load_model(npz_files[name])
    assert model.warnings == ()
    check_against_keras(keras_mod, small_models[name][0], model)


def test_npz_weights_load_lazily(
    keras_mod: Any, npz_files: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening reads shapes only: no array is built until a weight is asked for."""
    from inspector.loaders import keras_npz

    def refuse() -> Any:
        raise AssertionError("an array was built")

    monkeypatch.setattr(keras_npz, "_np_reconstruct", refuse)
    model = load_model(npz_files["convs"])
    conv = model.graph.node("conv").weight("kernel")
    assert conv is not None and conv.tensor.shape == (3, 3, 3, 4)
    with pytest.raises(AssertionError, match="an array was built"):
        conv.tensor.numpy()
