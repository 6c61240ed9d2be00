"""External data: read lazily, confined to the model's folder, clear errors otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from inspector.loaders import ModelLoadError, load_model
from tests.loaders.test_onnx_loader import assert_matches_proto


def _mlp() -> onnx.ModelProto:
    rng = np.random.default_rng(1)
    inits = [
        numpy_helper.from_array(rng.standard_normal((16, 32)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.standard_normal(32).astype(np.float32), "b1"),
        numpy_helper.from_array(rng.integers(-5, 5, (32, 4)).astype(np.int64), "w2"),
        numpy_helper.from_array(rng.standard_normal(4).astype(np.float16), "b2"),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"]),
        helper.make_node("Add", ["h", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["y"]),
        helper.make_node("Identity", ["w2"], ["w2_out"]),
        helper.make_node("Identity", ["b2"], ["b2_out"]),
    ]
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 32]),
         helper.make_tensor_value_info("w2_out", TensorProto.INT64, [32, 4]),
         helper.make_tensor_value_info("b2_out", TensorProto.FLOAT16, [4])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _save_external(folder: Path, name: str = "mlp.onnx", location: str = "mlp.weights") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    onnx.save_model(
        _mlp(), path, save_as_external_data=True, all_tensors_to_one_file=True,
        location=location, size_threshold=0,
    )
    return path


def _relocate(path: Path, location: str) -> None:
    """Point every external tensor of the saved model at `location`."""
    proto = onnx.load(path, load_external_data=False)
    for t in proto.graph.initializer:
        for e in t.external_data:
            if e.key == "location":
                e.value = location
    onnx.save(proto, path)


def test_external_weights_load_lazily_and_match_onnx(tmp_path: Path) -> None:
    path = _save_external(tmp_path / "m")
    model = load_model(path)
    full = onnx.load(path)  # onnx reads the external data itself: the oracle
    assert_matches_proto(model, full)
    oracle = {t.name: numpy_helper.to_array(t) for t in full.graph.initializer}
    for name, tensor in model.graph.initializers.items():
        assert tensor.kind == "external" and tensor.location == "mlp.weights"
        got = tensor.numpy()
        assert got.dtype == oracle[name].dtype and got.shape == oracle[name].shape
        np.testing.assert_array_equal(got, oracle[name])


def test_external_bytes_read_on_demand_not_at_open(tmp_path: Path) -> None:
    path = _save_external(tmp_path / "m")
    model = load_model(path)
    data = path.parent / "mlp.weights"
    # Zero the data after opening: a lazy loader sees zeros, an eager one kept the old values.
    size = data.stat().st_size
    data.write_bytes(bytes(size))
    assert not model.graph.initializers["w1"].numpy().any()


@pytest.mark.parametrize("location", ["../secret.bin", "sub/../../secret.bin", "..\\secret.bin"])
def test_location_outside_folder_rejected(tmp_path: Path, location: str) -> None:
    path = _save_external(tmp_path / "m")
    (tmp_path / "secret.bin").write_bytes((path.parent / "mlp.weights").read_bytes())
    _relocate(path, location)
    with pytest.raises(ModelLoadError) as err:
        load_model(path)
    msg = str(err.value)
    assert msg.startswith("mlp.onnx: ") and location in msg and "\n" not in msg


def test_absolute_location_rejected(tmp_path: Path) -> None:
    path = _save_external(tmp_path / "m")
    absolute = str(path.parent / "mlp.weights")  # exists, and even inside the folder
    _relocate(path, absolute)
    with pytest.raises(ModelLoadError, match="absolute path") as err:
        load_model(path)
    assert absolute in str(err.value)


def test_symlink_escaping_folder_rejected(tmp_path: Path) -> None:
    path = _save_external(tmp_path / "m")
    outside = tmp_path / "elsewhere.bin"
    (path.parent / "mlp.weights").rename(outside)
    os.symlink(outside, path.parent / "mlp.weights")
    with pytest.raises(ModelLoadError, match="outside the model's folder"):
        load_model(path)


def test_symlink_inside_folder_allowed(tmp_path: Path) -> None:
    path = _save_external(tmp_path / "m")
    sub = path.parent / "data"
    sub.mkdir()
    (path.parent / "mlp.weights").rename(sub / "real.bin")
    os.symlink(sub / "real.bin", path.parent / "mlp.weights")
    model = load_model(path)
    assert model.graph.initializers["b1"].numpy().shape == (32,)


def test_missing_external_file(tmp_path: Path) -> None:
    path = _save_external(tmp_path / "m")
    (path.parent / "mlp.weights").unlink()
    with pytest.raises(ModelLoadError, match=r"^mlp\.onnx: .*mlp\.weights.* is missing"):
        load_model(path)


def test_truncated_external_file(tmp_path: Path) -> None:
    path = _save_external(tmp_path / "m")
    data = path.parent / "mlp.weights"
    data.write_bytes(data.read_bytes()[:100])
    with pytest.raises(ModelLoadError, match=r"^mlp\.onnx: .*too short"):
        load_model(path)
