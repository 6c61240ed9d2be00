"""Small real ONNX files for the issue-10 window tests, built with onnx.helper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 17)]


def _save(graph, path: Path, strict: bool = False, **meta: str) -> Path:
    model = helper.make_model(graph, opset_imports=OPSET)
    model.ir_version = 8
    for k, v in meta.items():
        model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(model) if strict else None
    onnx.save(model, str(path))
    return path


def sr_model(path: Path, **meta: str) -> Path:
    """Like silero-vad: an int64 scalar `sr` that the model checks; only sr == 16000 runs
    (the else branch reshapes 4 values into 3, which onnxruntime refuses)."""
    then_g = helper.make_graph([helper.make_node("Identity", ["x"], ["y_then"])], "then", [],
                               [helper.make_tensor_value_info("y_then", TensorProto.FLOAT, None)])
    bad = numpy_helper.from_array(np.array([3], np.int64), "bad_shape")
    else_g = helper.make_graph(
        [helper.make_node("Constant", [], ["bad"], value=bad),
         helper.make_node("Reshape", ["x", "bad"], ["y_else"])], "else", [],
        [helper.make_tensor_value_info("y_else", TensorProto.FLOAT, None)])
    nodes = [
        helper.make_node("Constant", [], ["rate"], value=numpy_helper.from_array(np.array(16000, np.int64), "rate")),
        helper.make_node("Equal", ["sr", "rate"], ["is16k"], name="check_sr"),
        helper.make_node("If", ["is16k"], ["y"], name="branch", then_branch=then_g, else_branch=else_g),
    ]
    g = helper.make_graph(nodes, "vad", [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4]),
        helper.make_tensor_value_info("sr", TensorProto.INT64, []),
    ], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return _save(g, path, **meta)


def token_model(path: Path, rows: int = 50) -> Path:
    """Token ids into a Gather on a `rows` x 8 embedding initializer."""
    emb = numpy_helper.from_array(np.random.default_rng(0).standard_normal((rows, 8)).astype(np.float32), "emb")
    nodes = [helper.make_node("Gather", ["emb", "ids"], ["vec"], name="embed"),
             helper.make_node("ReduceMean", ["vec"], ["out"], name="pool", keepdims=0)]
    g = helper.make_graph(nodes, "tok", [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 6])],
                          [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)], [emb])
    return _save(g, path)


def constant_conv_model(path: Path) -> Path:
    """A Conv whose weight W <16x3x3x3> is a Constant node (as PP-OCR det keeps them), with
    an 8-element bias initializer... of the second conv only."""
    rng = np.random.default_rng(1)
    w = numpy_helper.from_array(rng.standard_normal((16, 3, 3, 3)).astype(np.float32), "W")
    shape = numpy_helper.from_array(np.array([1, -1], np.int64), "shape")
    nodes = [helper.make_node("Constant", [], ["W"], value=w, name="W_const"),
             helper.make_node("Constant", [], ["shape"], value=shape, name="shape_const"),
             helper.make_node("Conv", ["x", "W", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Reshape", ["c", "shape"], ["y"], name="flat")]
    b = numpy_helper.from_array(np.zeros(16, np.float32), "b")
    g = helper.make_graph(nodes, "det", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [b])
    return _save(g, path)


def scoped_model(path: Path, blocks: int = 6) -> Path:
    """A PyTorch-style name-scoped chain: /blockN/conv/Conv, /blockN/act/Relu, so every op
    sits alone in its own innermost scope."""
    rng = np.random.default_rng(2)
    nodes, inits, prev = [], [], "x"
    for i in range(blocks):
        inits.append(numpy_helper.from_array(rng.standard_normal((4, 4, 1, 1)).astype(np.float32), f"w{i}"))
        nodes.append(helper.make_node("Conv", [prev, f"w{i}"], [f"c{i}"], name=f"/block{i}/conv/Conv"))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"], name=f"/block{i}/act/Relu"))
        prev = f"r{i}"
    g = helper.make_graph(nodes, "scoped", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
                          [helper.make_tensor_value_info(prev, TensorProto.FLOAT, None)], inits)
    return _save(g, path)


def silu_model(path: Path, blocks: int = 3) -> Path:
    """YOLOv8-style SiLU blocks: Conv -> Sigmoid -> Mul, with the Conv also feeding the Mul."""
    rng = np.random.default_rng(3)
    nodes, inits, prev = [], [], "x"
    for i in range(blocks):
        inits.append(numpy_helper.from_array(rng.standard_normal((4, 4, 3, 3)).astype(np.float32), f"w{i}"))
        nodes += [helper.make_node("Conv", [prev, f"w{i}"], [f"c{i}"], name=f"conv{i}", pads=[1, 1, 1, 1]),
                  helper.make_node("Sigmoid", [f"c{i}"], [f"s{i}"], name=f"sig{i}"),
                  helper.make_node("Mul", [f"c{i}", f"s{i}"], [f"m{i}"], name=f"mul{i}")]
        prev = f"m{i}"
    g = helper.make_graph(nodes, "silu", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
                          [helper.make_tensor_value_info(prev, TensorProto.FLOAT, None)], inits)
    return _save(g, path)


def dynamic_dims_model(path: Path) -> Path:
    """Inputs with long symbolic dims, as paddle2onnx writes them."""
    dims = ["p2o.DynamicDimension.0", 3, "p2o.DynamicDimension.1", "p2o.DynamicDimension.2"]
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "dyn",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, dims)])
    return _save(g, path)
