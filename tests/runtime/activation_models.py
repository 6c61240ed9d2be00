"""Small real ONNX models built with onnx.helper, shared by the runtime tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 17)]


def _init(name: str, arr: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(arr, name)


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=OPSET, producer_name="tests")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))
    return path


def conv_net(path: Path, nchw: tuple[int, int, int, int] = (1, 3, 16, 16)) -> Path:
    """Conv -> BatchNorm -> Relu -> MaxPool -> Conv -> GlobalAveragePool -> Flatten -> Gemm -> Softmax."""
    rng = np.random.default_rng(1)
    n, c, h, w = nchw
    f = np.float32
    inits = [
        _init("w1", rng.normal(size=(8, c, 3, 3)).astype(f)),
        _init("b1", rng.normal(size=8).astype(f)),
        _init("bn_s", rng.uniform(0.5, 1.5, 8).astype(f)),
        _init("bn_b", rng.normal(size=8).astype(f)),
        _init("bn_m", rng.normal(size=8).astype(f)),
        _init("bn_v", rng.uniform(0.5, 1.5, 8).astype(f)),
        _init("w2", rng.normal(size=(4, 8, 3, 3)).astype(f)),
        _init("fc_w", (0.05 * rng.normal(size=(4, 5))).astype(f)),
        _init("fc_b", rng.normal(size=5).astype(f)),
    ]
    nodes = [
        helper.make_node("Conv", ["image", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn_s", "bn_b", "bn_m", "bn_v"], ["bn1"], name="bn1"),
        helper.make_node("Relu", ["bn1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2"], ["c2"], name="conv2"),
        helper.make_node("GlobalAveragePool", ["c2"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], name="fc"),
        helper.make_node("Softmax", ["logits"], ["probs"], name="softmax"),
    ]
    graph = helper.make_graph(
        nodes,
        "convnet",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", c, h, w])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 5])],
        inits,
    )
    return _save(graph, path)


def residual_mlp(path: Path, features: int = 6) -> Path:
    """x -> MatMul+Add -> Relu -> MatMul+Add -> Add(x) -> Tanh, two outputs (hidden and final)."""
    rng = np.random.default_rng(2)
    f = np.float32
    inits = [
        _init("w1", rng.normal(size=(features, 16)).astype(f)),
        _init("b1", rng.normal(size=16).astype(f)),
        _init("w2", rng.normal(size=(16, features)).astype(f)),
        _init("b2", rng.normal(size=features).astype(f)),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["mm1"], name="mm1"),
        helper.make_node("Add", ["mm1", "b1"], ["h1"], name="add1"),
        helper.make_node("Relu", ["h1"], ["a1"], name="relu"),
        helper.make_node("MatMul", ["a1", "w2"], ["mm2"], name="mm2"),
        helper.make_node("Add", ["mm2", "b2"], ["h2"], name="add2"),
        helper.make_node("Add", ["h2", "x"], ["res"], name="residual"),
        helper.make_node("Tanh", ["res"], ["y"], name="tanh"),
    ]
    graph = helper.make_graph(
        nodes,
        "resmlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", features])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", features]),
            helper.make_tensor_value_info("a1", TensorProto.FLOAT, ["N", 16]),
        ],
        inits,
    )
    return _save(graph, path)


def bfloat16_model(path: Path) -> Path:
    """A float input cast to bfloat16 and back: the bfloat16 value cannot reach numpy."""
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Cast", ["r"], ["r_bf16"], name="to_bf16", to=TensorProto.BFLOAT16),
        helper.make_node("Cast", ["r_bf16"], ["r_back"], name="to_f32", to=TensorProto.FLOAT),
        helper.make_node("Neg", ["r_back"], ["y"], name="neg"),
    ]
    graph = helper.make_graph(
        nodes,
        "bf16",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
    )
    return _save(graph, path)


def if_model(path: Path) -> Path:
    """y = If(sum(x) > 0, then x*2, else x-1): values inside the branches are not exposable."""
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    one = helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])
    then_g = helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["then_out"], name="then_mul")],
        "then", [], [helper.make_tensor_value_info("then_out", TensorProto.FLOAT, [3])], [two],
    )
    else_g = helper.make_graph(
        [helper.make_node("Sub", ["x", "one"], ["else_out"], name="else_sub")],
        "else", [], [helper.make_tensor_value_info("else_out", TensorProto.FLOAT, [3])], [one],
    )
    zero = _init("zero", np.zeros((), np.float32))
    nodes = [
        helper.make_node("ReduceSum", ["x"], ["s"], name="sum", keepdims=0),
        helper.make_node("Greater", ["s", "zero"], ["cond"], name="gt"),
        helper.make_node("If", ["cond"], ["branch"], name="if", then_branch=then_g, else_branch=else_g),
        helper.make_node("Sigmoid", ["branch"], ["y"], name="sigmoid"),
    ]
    graph = helper.make_graph(
        nodes,
        "ifgraph",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])],
        [zero],
    )
    return _save(graph, path)


def multi_input(path: Path) -> Path:
    """Token ids (int64) and a float mask: Gather from an embedding table, then Mul."""
    rng = np.random.default_rng(3)
    table = _init("table", rng.normal(size=(20, 4)).astype(np.float32))
    nodes = [
        helper.make_node("Gather", ["table", "ids"], ["emb"], name="embed"),
        helper.make_node("Unsqueeze", ["mask", "axes"], ["mask3"], name="unsq"),
        helper.make_node("Mul", ["emb", "mask3"], ["y"], name="mul"),
    ]
    graph = helper.make_graph(
        nodes,
        "multi",
        [
            helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", 4])],
        [table, _init("axes", np.array([-1], np.int64))],
    )
    return _save(graph, path)
