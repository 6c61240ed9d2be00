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


# --- item 8: layout ---------------------------------------------------------------------------


class _Builder:
    """Nodes and initializers of a PyTorch-style export: every op named `/scope/.../Op`."""

    def __init__(self) -> None:
        self.nodes: list = []
        self.inits: list = []

    def op(self, op: str, inputs: list[str], name: str, n_out: int = 1, **attrs) -> list[str]:
        outs = [f"{name}_output_{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, **attrs))
        return outs

    def weight(self, name: str, shape: tuple[int, ...]) -> str:
        self.inits.append(numpy_helper.from_array(np.zeros(shape, np.float32), name))
        return name

    def conv_silu(self, x: str, pre: str, cin: int = 4, cout: int = 4, stride: int = 1) -> str:
        """Conv -> Sigmoid -> Mul(Conv, Sigmoid): YOLOv8's SiLU, scoped conv/ and act/."""
        w = self.weight(f"{pre}.conv.weight", (cout, cin, 3, 3))
        c = self.op("Conv", [x, w], f"{pre}/conv/Conv", pads=[1, 1, 1, 1], strides=[stride] * 2)[0]
        s = self.op("Sigmoid", [c], f"{pre}/act/Sigmoid")[0]
        return self.op("Mul", [c, s], f"{pre}/act/Mul")[0]

    def c2f(self, x: str, pre: str, blocks: int, shortcut: bool = True) -> str:
        y = self.conv_silu(x, f"{pre}/cv1")
        a, b = self.op("Split", [y], f"{pre}/Split", 2, axis=1, num_outputs=2)
        outs, cur = [a, b], b
        for i in range(blocks):
            t = self.conv_silu(self.conv_silu(cur, f"{pre}/m.{i}/cv1", 2, 2), f"{pre}/m.{i}/cv2", 2, 2)
            if shortcut:
                t = self.op("Add", [cur, t], f"{pre}/m.{i}/Add")[0]
            cur = t
            outs.append(t)
        cat = self.op("Concat", outs, f"{pre}/Concat", axis=1)[0]
        return self.conv_silu(cat, f"{pre}/cv2", 2 * (blocks + 2), 4)

    def save(self, path: Path, inputs: list, output: str) -> Path:
        g = helper.make_graph(self.nodes, "main_graph", inputs,
                              [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
                              self.inits)
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
        model.ir_version = 8
        onnx.save(model, str(path))
        return path


def yolo_like(path: Path) -> Path:
    """YOLOv8n's shape in miniature: strided SiLU convs, C2f blocks (Split, bottlenecks,
    Concat) and the neck's long skip connections from the backbone."""
    b = _Builder()
    x = b.conv_silu("images", "/model.0", 3, 4, 2)
    x = b.conv_silu(x, "/model.1", 4, 4, 2)
    x = b.c2f(x, "/model.2", 1)
    x = b.conv_silu(x, "/model.3", 4, 4, 2)
    p3 = b.c2f(x, "/model.4", 2)
    x = b.conv_silu(p3, "/model.5", 4, 4, 2)
    p4 = b.c2f(x, "/model.6", 2)
    x = b.conv_silu(p4, "/model.7", 4, 4, 2)
    p5 = b.c2f(x, "/model.8", 1)
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "/model.10.scales")
    b.inits.append(scales)
    x = b.op("Resize", [p5, "", scales.name], "/model.10/Resize")[0]
    x = b.op("Concat", [x, p4], "/model.11/Concat", axis=1)[0]
    h4 = b.c2f(x, "/model.12", 1, False)
    x = b.op("Resize", [h4, "", scales.name], "/model.13/Resize")[0]
    x = b.op("Concat", [x, p3], "/model.14/Concat", axis=1)[0]
    o3 = b.c2f(x, "/model.15", 1, False)
    x = b.conv_silu(o3, "/model.16", 4, 4, 2)
    x = b.op("Concat", [x, h4], "/model.17/Concat", axis=1)[0]
    o4 = b.c2f(x, "/model.18", 1, False)
    out = b.op("Concat", [o3, o4], "/model.22/Concat", axis=1)[0]
    return b.save(path, [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])],
                  out)


def scoped_encoder(path: Path, layers: int = 2) -> Path:
    """A PyTorch encoder export: every op in its own scope (`/layers.0/linear1/MatMul`), so
    most scopes hold one op, some hold a few."""
    b = _Builder()
    x = "x"
    for i in range(layers):
        pre = f"/encoder/layers.{i}"
        w1 = b.weight(f"{pre}.linear1.weight", (8, 8))
        w2 = b.weight(f"{pre}.linear2.weight", (8, 8))
        n = b.op("LayerNormalization", [x, b.weight(f"{pre}.norm.weight", (8,))],
                 f"{pre}/norm/LayerNormalization", axis=-1)[0]
        h = b.op("MatMul", [n, w1], f"{pre}/linear1/MatMul")[0]
        h = b.op("Relu", [h], f"{pre}/activation/Relu")[0]
        h = b.op("MatMul", [h, w2], f"{pre}/linear2/MatMul")[0]
        x = b.op("Add", [x, h], f"{pre}/Add")[0]
    return b.save(path, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8])], x)


def parallel_edges(path: Path, k: int = 6) -> Path:
    """GPT-2's attention in miniature: one Split into k heads of one shape, each head and
    the Split's own outputs all meeting in one Concat: many parallel edges, one label text."""
    nodes = [helper.make_node("Split", ["x"], [f"s{i}" for i in range(k)], name="split", axis=2,
                              num_outputs=k)]
    nodes += [helper.make_node("Relu", [f"s{i}"], [f"r{i}"], name=f"relu{i}") for i in range(k)]
    nodes.append(helper.make_node("Concat", [f"s{i}" for i in range(k)] + [f"r{i}" for i in range(k)],
                                  ["y"], name="cat", axis=2))
    g = helper.make_graph(nodes, "heads", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                        [1, 16, 768 * k])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 1536 * k])])
    model = onnx.shape_inference.infer_shapes(helper.make_model(
        g, opset_imports=[helper.make_opsetid("", 18)]))
    model.ir_version = 8
    onnx.save(model, str(path))
    return path
