"""Bad ONNX files give one clear ModelLoadError line, never a traceback or a hang."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from inspector.loaders import ModelLoadError, load_model
from inspector.loaders.onnx_loader import load as onnx_load
from inspector.progress import Cancelled, Task


def _model_bytes() -> bytes:
    w = numpy_helper.from_array(np.arange(4096, dtype=np.float32).reshape(64, 64), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"]), helper.make_node("Relu", ["y"], ["z"])],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 64])], [w],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _one_line_error(path: Path) -> str:
    with pytest.raises(ModelLoadError) as err:
        load_model(path)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(path.name)
    assert "Traceback" not in msg
    return msg


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_protobuf(tmp_path: Path, keep: float) -> None:
    data = _model_bytes()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: int(len(data) * keep)])
    assert "not an ONNX model" in _one_line_error(path)


@pytest.mark.parametrize("seed", range(8))
def test_random_bytes(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "noise.onnx"
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    _one_line_error(path)


def test_bytes_that_parse_as_empty_model_proto(tmp_path: Path) -> None:
    path = tmp_path / "tiny.onnx"
    path.write_bytes(b"\x08\x07")  # a valid ModelProto with only ir_version set
    assert onnx.load(path).ir_version == 7  # onnx itself accepts it...
    assert "not an ONNX model" in _one_line_error(path)  # ...but it is not a model


def test_corrupt_graph_length_is_refused(tmp_path: Path) -> None:
    """The graph field's length varint claims more bytes than the file has."""
    data = bytearray(_model_bytes())
    assert data[2] == 0x3A  # field 7 (graph), wire type 2: its length varint follows
    data[3:6] = b"\xff\xff\x7f"  # 2 MB, far past the end of a 16 KB file
    path = tmp_path / "corrupt.onnx"
    path.write_bytes(bytes(data))
    assert "not an ONNX model" in _one_line_error(path)


def test_corrupt_bytes_in_weight_data_load_with_those_weights(tmp_path: Path) -> None:
    """Bytes overwritten inside a weight's raw data leave the graph whole; the weight read
    back holds exactly the overwritten values."""
    data = bytearray(_model_bytes())
    raw = np.arange(4096, dtype=np.float32).tobytes()
    at = bytes(data).find(raw)
    assert at > 0
    patch = np.full(10, -7.5, np.float32).tobytes()
    data[at + 400: at + 440] = patch  # elements 100..109
    path = tmp_path / "corrupt.onnx"
    path.write_bytes(bytes(data))
    model = load_model(path)
    assert [n.op_type for n in model.graph.nodes] == ["MatMul", "Relu"]
    w = model.graph.initializers["w"].numpy().reshape(-1)
    expect = np.arange(4096, dtype=np.float32)
    expect[100:110] = -7.5
    np.testing.assert_array_equal(w, expect)


def test_wrong_extension_keras_file_is_not_onnx(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"PK\x03\x04" + os.urandom(200))  # a zip (a .keras file) named .onnx
    _one_line_error(path)


def test_onnx_loader_refuses_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.onnx"
    path.write_text("ir_version: 8\ngraph { }\n")
    with pytest.raises(ModelLoadError, match=r"^notes\.onnx: "):
        onnx_load(path, Task())


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2), written by hand."""
    return _varint((number << 3) | 2) + _varint(len(payload)) + payload


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def test_deeply_nested_subgraphs(tmp_path: Path) -> None:
    # onnx.helper cannot even build this (protobuf's depth limit), so write the bytes directly:
    # Graph{node: Node{op_type: "If", attribute: Attribute{name, type=GRAPH, g: Graph{...}}}}.
    graph = _field(1, _field(4, b"Identity"))
    for _ in range(150):
        attr = _field(1, b"then_branch") + _field(6, graph) + b"\xa0\x01\x05"  # type = GRAPH
        graph = _field(1, _field(4, b"If") + _field(5, attr))
    data = b"\x08\x08" + _field(7, graph) + _field(8, b"\x10\x11")  # ir_version 8, opset 17
    path = tmp_path / "deep.onnx"
    path.write_bytes(data)
    assert "nested too deeply" in _one_line_error(path)


def test_cancel_stops_loading(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    path.write_bytes(_model_bytes())
    with pytest.raises(Cancelled):
        onnx_load(path, Task(cancelled=lambda: True))


def test_file_over_protobuf_limit_refused_without_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.onnx"
    with open(path, "wb") as f:
        f.write(_model_bytes())
        f.truncate(2**31 + 10)  # sparse: no disk time, but over protobuf's 2 GB limit
    msg = _one_line_error(path)
    assert "2 GB" in msg and "external data" in msg
