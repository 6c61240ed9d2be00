"""ONNX loader against onnx's own view of the same protobuf (the oracle)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from inspector.ir import Model, category_of
from inspector.loaders import load_model
from inspector.loaders.onnx_loader import sniff


def _np_name(elem_type: int) -> str:
    return np.dtype(helper.tensor_dtype_to_np_dtype(elem_type)).name


def _proto_dims(vi: onnx.ValueInfoProto) -> list | None:
    tt = vi.type.tensor_type
    if not tt.HasField("shape"):
        return None
    out = []
    for d in tt.shape.dim:
        if d.HasField("dim_value"):
            out.append(d.dim_value)
        elif d.HasField("dim_param"):
            out.append(d.dim_param)
        else:
            out.append(None)
    return out


def assert_matches_proto(model: Model, proto: onnx.ModelProto) -> None:
    """Node count, op types, initializers and declared inputs/outputs equal the proto's."""
    g = proto.graph
    assert len(model.graph.nodes) == len(g.node)
    assert [n.op_type for n in model.graph.nodes] == [n.op_type for n in g.node]
    assert len({n.name for n in model.graph.nodes}) == len(g.node)
    init_names = {t.name for t in g.initializer} | {s.values.name for s in g.sparse_initializer}
    assert set(model.graph.initializers) == init_names
    expected = sum(numpy_helper.to_array(t).size for t in g.initializer) + sum(
        math.prod(s.dims) for s in g.sparse_initializer
    )
    assert model.parameter_count == expected
    inputs = [i for i in g.input if i.name not in init_names]
    assert list(model.graph.inputs) == [i.name for i in inputs]
    assert list(model.graph.outputs) == [o.name for o in g.output]
    for vi in list(inputs) + list(g.output):
        if not vi.type.HasField("tensor_type"):
            continue
        v = model.graph.value(vi.name)
        assert v.dtype == _np_name(vi.type.tensor_type.elem_type), vi.name
        dims = _proto_dims(vi)
        if dims is not None:
            assert list(v.shape) == dims, vi.name


def _conv_net() -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), "conv1.weight"),
        numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "conv1.bias"),
        numpy_helper.from_array(rng.standard_normal((10, 8)).astype(np.float32), "fc.weight"),
        numpy_helper.from_array(np.zeros(10, np.float32), "fc.bias"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "conv1.weight", "conv1.bias"], ["c1"], name="/features/conv1/Conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="/features/relu/Relu"),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["p1"], ["gap"], name=""),
        helper.make_node("Flatten", ["gap"], ["flat"], name=""),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="/classifier/fc/Gemm", transB=1),
        helper.make_node("Softmax", ["logits"], ["probs"], name="/classifier/fc/Gemm", axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "convnet",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 16, 16])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, None)],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tests", producer_version="0.1"
    )
    model.doc_string = "a tiny conv net"
    helper.set_model_props(model, {"author": "me", "license": "MIT"})
    return model


@pytest.fixture
def conv_path(tmp_path: Path) -> Path:
    p = tmp_path / "conv.onnx"
    onnx.save(_conv_net(), p)
    return p


def test_conv_net_matches_proto_and_metadata(conv_path: Path) -> None:
    model = load_model(conv_path)
    proto = onnx.load(conv_path)
    assert_matches_proto(model, proto)
    assert model.format == "onnx"
    assert model.producer == "tests 0.1"
    assert model.format_version == f"ONNX IR v{proto.ir_version}"
    assert model.opsets == {"ai.onnx": 17}
    assert dict(model.metadata) == {"author": "me", "license": "MIT"}
    assert model.doc == "a tiny conv net"
    assert model.warnings == ()


def test_shape_inference_fills_shapes_like_onnx(conv_path: Path) -> None:
    model = load_model(conv_path)
    inferred = onnx.shape_inference.infer_shapes(onnx.load(conv_path))
    by_name = {vi.name: vi for vi in list(inferred.graph.value_info) + list(inferred.graph.output)}
    for name in ("c1", "r1", "p1", "gap", "flat", "logits", "probs"):
        v = model.graph.value(name)
        assert list(v.shape) == _proto_dims(by_name[name]), name
        assert v.dtype == "float32"
    assert model.graph.value("p1").shape == ("batch", 8, 8, 8)  # symbolic dim kept


def test_weights_roles_and_data(conv_path: Path) -> None:
    model = load_model(conv_path)
    proto = onnx.load(conv_path)
    arrays = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    conv = model.graph.node("/features/conv1/Conv")
    assert conv.inputs == ("x",)
    assert conv.input_names == ("x", "conv1.weight", "conv1.bias")
    schema = onnx.defs.get_schema("Conv", 17)
    assert [w.name for w in conv.weights] == [schema.inputs[1].name, schema.inputs[2].name]
    np.testing.assert_array_equal(conv.weight("W").tensor.numpy(), arrays["conv1.weight"])
    assert conv.weight("W").tensor.shape == arrays["conv1.weight"].shape
    assert conv.category == category_of("Conv", "onnx") == "layer"
    assert conv.attr("pads") == [1, 1, 1, 1]


def test_names_unique_and_groups(conv_path: Path) -> None:
    model = load_model(conv_path)
    names = [n.name for n in model.graph.nodes]
    assert len(set(names)) == len(names)
    assert names[2] == "MaxPool_2" and names[3] == "GlobalAveragePool_3"
    # the duplicated "/classifier/fc/Gemm" keeps its first owner and renames the second
    assert names[5] == "/classifier/fc/Gemm" and names[6] == "Softmax_6"
    assert model.graph.nodes[0].group == ("features", "conv1")
    assert model.graph.nodes[5].group == ("classifier", "fc")
    assert model.graph.nodes[2].group == ()


def test_constant_nodes_kept_and_feed_as_weights(tmp_path: Path) -> None:
    shape_const = numpy_helper.from_array(np.array([0, -1], np.int64), "shape_c")
    nodes = [
        helper.make_node("Constant", [], ["scale"], value=numpy_helper.from_array(np.array([2.0], np.float32))),
        helper.make_node("Constant", [], ["shp"], value=shape_const),
        helper.make_node("Constant", [], ["k"], value_ints=[1, 2, 3]),
        helper.make_node("Mul", ["x", "scale"], ["m"]),
        helper.make_node("Reshape", ["m", "shp"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "c.onnx"
    onnx.save(proto, path)
    model = load_model(path)
    assert_matches_proto(model, proto)
    consts = [n for n in model.graph.nodes if n.op_type == "Constant"]
    assert len(consts) == 3 and all(n.category == "constant" for n in consts)
    np.testing.assert_array_equal(consts[0].weight("value").tensor.numpy(), [2.0])
    np.testing.assert_array_equal(consts[2].weight("value").tensor.numpy(), [1, 2, 3])
    mul = model.graph.nodes[3]
    assert mul.inputs == ("x",)
    assert mul.weights[0].tensor.kind == "constant"
    assert mul.weights[0].name == onnx.defs.get_schema("Mul", 17).inputs[1].name
    reshape = model.graph.nodes[4]
    assert reshape.inputs == ("m",) and reshape.weight("shape") is not None
    # data propagation through the Constant shape gives the real output shape
    assert model.graph.value("y").shape == (2, 12)


def test_old_ir_initializers_listed_as_inputs(tmp_path: Path) -> None:
    w = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4]),
         helper.make_tensor_value_info("w", TensorProto.FLOAT, [4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [w],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)], ir_version=3)
    path = tmp_path / "old.onnx"
    onnx.save(proto, path)
    model = load_model(path)
    assert_matches_proto(model, proto)
    assert model.graph.inputs == ("x",)
    assert model.graph.nodes[0].inputs == ("x",)


def test_types_quantized_sparse_sequence_map_optional(tmp_path: Path) -> None:
    q = numpy_helper.from_array(np.arange(-8, 8, dtype=np.int8).reshape(4, 4), "q")
    sparse_vals = numpy_helper.from_array(np.array([1.5, -2.0], np.float32), "sp")
    sparse_idx = numpy_helper.from_array(np.array([1, 6], np.int64), "sp_idx")
    sp = helper.make_sparse_tensor(sparse_vals, sparse_idx, [2, 4])
    bf = helper.make_tensor("bf", TensorProto.BFLOAT16, [3], [1.0, 2.0, 3.0])
    nodes = [
        helper.make_node("DequantizeLinear", ["q", "s"], ["dq"]),
        helper.make_node("Add", ["dq", "x"], ["y"]),
        helper.make_node("SequenceConstruct", ["y", "y"], ["seq"]),
        helper.make_node("Identity", ["sp"], ["sp_out"]),
        helper.make_node("Identity", ["bf"], ["bf_out"]),
    ]
    seq_t = helper.make_tensor_sequence_value_info("seq", TensorProto.FLOAT, None)
    map_t = helper.make_value_info("m", helper.make_map_type_proto(TensorProto.INT64, helper.make_tensor_type_proto(TensorProto.FLOAT, None)))
    opt_t = helper.make_value_info("o", helper.make_optional_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT, [2])))
    graph = helper.make_graph(
        nodes, "types",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4]), map_t, opt_t],
        [seq_t, helper.make_tensor_value_info("sp_out", TensorProto.FLOAT, [2, 4]),
         helper.make_tensor_value_info("bf_out", TensorProto.BFLOAT16, [3])],
        [q, numpy_helper.from_array(np.array(0.5, np.float32), "s"), bf],
        sparse_initializer=[sp],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "types.onnx"
    onnx.save(proto, path)
    model = load_model(path)
    assert_matches_proto(model, proto)
    assert model.graph.value("seq").dtype == "sequence<float32>"
    assert model.graph.value("m").dtype == "map<int64,float32>"
    assert model.graph.value("o").dtype == "optional<float32>"
    assert model.graph.value("bf_out").dtype == "bfloat16"
    assert model.graph.initializers["q"].dtype == "int8"
    assert model.graph.initializers["bf"].dtype == "bfloat16"
    np.testing.assert_array_equal(
        model.graph.initializers["bf"].numpy().astype(np.float32), numpy_helper.to_array(bf).astype(np.float32)
    )
    sparse = model.graph.initializers["sp"]
    assert sparse.kind == "sparse" and sparse.shape == (2, 4)
    dense = np.zeros(8, np.float32)
    dense[[1, 6]] = [1.5, -2.0]
    np.testing.assert_array_equal(sparse.numpy(), dense.reshape(2, 4))
    assert model.graph.nodes[3].weights[0].tensor is sparse


def test_float8_and_int4_initializers(tmp_path: Path) -> None:
    f8 = helper.make_tensor("f8", TensorProto.FLOAT8E4M3FN, [4], [0.5, 1.0, -2.0, 4.0])
    i4 = helper.make_tensor("i4", TensorProto.INT4, [5], [-8, -1, 0, 3, 7])
    graph = helper.make_graph(
        [helper.make_node("Identity", ["f8"], ["a"]), helper.make_node("Identity", ["i4"], ["b"])],
        "q", [], [helper.make_tensor_value_info("a", TensorProto.FLOAT8E4M3FN, [4]),
                  helper.make_tensor_value_info("b", TensorProto.INT4, [5])], [f8, i4],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    path = tmp_path / "q.onnx"
    onnx.save(proto, path)
    model = load_model(path)
    assert model.graph.initializers["f8"].dtype == "float8e4m3fn"
    assert model.graph.initializers["i4"].dtype == "int4"
    np.testing.assert_array_equal(
        model.graph.initializers["i4"].numpy().astype(np.int8), numpy_helper.to_array(i4).astype(np.int8)
    )
    assert model.parameter_count == 9


def test_sniff_accepts_onnx_rejects_others(conv_path: Path) -> None:
    head = conv_path.read_bytes()[:4096]
    assert sniff(head, conv_path)
    assert not sniff(b"PK\x03\x04" + bytes(100), Path("m.keras"))
    assert not sniff(b"\x89HDF\r\n\x1a\n" + bytes(100), Path("m.h5"))
    assert not sniff(b"\x08\x07", Path("x"))  # a varint alone is not a model
    assert not sniff(b"hello world, this is text", Path("x.txt"))


def test_sniff_opens_onnx_with_other_extension(conv_path: Path, tmp_path: Path) -> None:
    other = tmp_path / "model.pb"
    other.write_bytes(conv_path.read_bytes())
    model = load_model(other)
    assert model.format == "onnx" and len(model.graph.nodes) == 7


def test_custom_domain_and_skipped_inference_warn_but_open(tmp_path: Path, monkeypatch) -> None:
    import inspector.loaders.onnx_loader as onnx_loader

    graph = helper.make_graph(
        [helper.make_node("Foo", ["x"], ["y"], domain="acme.ops"), helper.make_node("Relu", ["y"], ["z"])],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)],
    )
    proto = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("acme.ops", 1)]
    )
    path = tmp_path / "custom.onnx"
    onnx.save(proto, path)
    model = load_model(path)
    assert_matches_proto(model, proto)
    assert [n.category for n in model.graph.nodes] == ["custom", "activation"]
    assert model.opsets == {"ai.onnx": 17, "acme.ops": 1}
    monkeypatch.setattr(onnx_loader, "INFERENCE_LIMIT", 10)
    skipped = load_model(path)
    assert any("not inferred" in w for w in skipped.warnings)
    assert skipped.graph.value("x").shape == (3,)  # declared shapes still there
    assert skipped.graph.value("y").shape is None


def test_progress_reported_in_order(conv_path: Path) -> None:
    from inspector.loaders.onnx_loader import load
    from inspector.progress import Task

    seen: list[float] = []
    load(conv_path, Task(progress=lambda f, _msg: seen.append(f)))
    assert seen == sorted(seen) and seen[0] == 0.0 and seen[-1] == 1.0
