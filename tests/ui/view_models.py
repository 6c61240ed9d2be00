"""Real ONNX models for the graph view tests (helpers, no tests), built with onnx.helper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _init(inits: list, name: str, shape: tuple[int, ...]) -> str:
    inits.append(numpy_helper.from_array(np.ones(shape, dtype=np.float32), name))
    return name


def conv_net(path: Path) -> Path:
    """Conv/BN/Relu/MaxPool x3, global pool, Gemm, Softmax, with inferred shapes."""
    nodes, inits = [], []
    x, c = "input", 3
    for i, co in enumerate([16, 32, 64]):
        nodes.append(helper.make_node(
            "Conv", [x, _init(inits, f"c{i}.W", (co, c, 3, 3)), _init(inits, f"c{i}.B", (co,))],
            [f"conv{i}"], name=f"conv{i}", kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
        bn = [_init(inits, f"bn{i}.{k}", (co,)) for k in ("s", "b", "m", "v")]
        nodes.append(helper.make_node("BatchNormalization", [f"conv{i}", *bn], [f"bn{i}"],
                                      name=f"bn{i}"))
        nodes.append(helper.make_node("Relu", [f"bn{i}"], [f"relu{i}"], name=f"relu{i}"))
        nodes.append(helper.make_node("MaxPool", [f"relu{i}"], [f"pool{i}"], name=f"pool{i}",
                                      kernel_shape=[2, 2], strides=[2, 2]))
        x, c = f"pool{i}", co
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"], name="gap"))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], name="flat"))
    nodes.append(helper.make_node(
        "Gemm", ["flat", _init(inits, "fc.W", (10, 64)), _init(inits, "fc.B", (10,))],
        ["logits"], name="fc", transB=1))
    nodes.append(helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=1))
    graph = helper.make_graph(
        nodes, "convnet", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def transformer(path: Path, layers: int = 3, d: int = 16) -> Path:
    """A name-scoped encoder: /encoder/layer.N/{attention,ffn}/Op, like PyTorch exports."""
    nodes, inits = [], []
    x = "tokens"
    for i in range(layers):
        s = f"/encoder/layer.{i}"
        q = f"{s}/attention/q"
        nodes.append(helper.make_node("MatMul", [x, _init(inits, f"{s}.wq", (d, d))], [q],
                                      name=f"{s}/attention/MatMul_q"))
        k = f"{s}/attention/k"
        nodes.append(helper.make_node("MatMul", [x, _init(inits, f"{s}.wk", (d, d))], [k],
                                      name=f"{s}/attention/MatMul_k"))
        kt = f"{s}/attention/kt"
        nodes.append(helper.make_node("Transpose", [k], [kt], name=f"{s}/attention/Transpose",
                                      perm=[0, 2, 1]))
        sc = f"{s}/attention/scores"
        nodes.append(helper.make_node("MatMul", [q, kt], [sc], name=f"{s}/attention/MatMul_qk"))
        sm = f"{s}/attention/probs"
        nodes.append(helper.make_node("Softmax", [sc], [sm], name=f"{s}/attention/Softmax",
                                      axis=-1))
        ctx = f"{s}/attention/ctx"
        nodes.append(helper.make_node("MatMul", [sm, x], [ctx], name=f"{s}/attention/MatMul_ctx"))
        res = f"{s}/add1"
        nodes.append(helper.make_node("Add", [x, ctx], [res], name=f"{s}/Add"))
        ln = f"{s}/ln"
        nodes.append(helper.make_node(
            "LayerNormalization",
            [res, _init(inits, f"{s}.g", (d,)), _init(inits, f"{s}.b", (d,))], [ln],
            name=f"{s}/LayerNorm", axis=-1))
        h1 = f"{s}/ffn/h1"
        nodes.append(helper.make_node("MatMul", [ln, _init(inits, f"{s}.w1", (d, 4 * d))], [h1],
                                      name=f"{s}/ffn/MatMul_1"))
        act = f"{s}/ffn/act"
        nodes.append(helper.make_node("Relu", [h1], [act], name=f"{s}/ffn/Relu"))
        h2 = f"{s}/ffn/h2"
        nodes.append(helper.make_node("MatMul", [act, _init(inits, f"{s}.w2", (4 * d, d))], [h2],
                                      name=f"{s}/ffn/MatMul_2"))
        out = f"{s}/out"
        nodes.append(helper.make_node("Add", [ln, h2], [out], name=f"{s}/Add_1"))
        x = out
    nodes.append(helper.make_node("Identity", [x], ["hidden"], name="output_identity"))
    graph = helper.make_graph(
        nodes, "encoder",
        [helper.make_tensor_value_info("tokens", TensorProto.FLOAT, [1, 8, d])],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, [1, 8, d])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def if_model(path: Path) -> Path:
    """A model whose If node owns then/else subgraphs."""
    then_g = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["t"], name="then_relu")], "then_branch", [],
        [helper.make_tensor_value_info("t", TensorProto.FLOAT, [2])])
    else_g = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["e"], name="else_neg")], "else_branch", [],
        [helper.make_tensor_value_info("e", TensorProto.FLOAT, [2])])
    nodes = [helper.make_node("If", ["cond"], ["y"], name="branch", then_branch=then_g,
                              else_branch=else_g)]
    graph = helper.make_graph(
        nodes, "iffy",
        [helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path
