"""Small real ONNX files built with onnx.helper for the panel tests: a language-model head,
a logits sequence, a sigmoid probability map, hidden states, a 1000-class softmax and a model with an If."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _save(graph, path: Path, metadata: dict | None = None) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for k, v in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def lm_logits(path: Path, t: int = 6, v: int = 40, vocab: bool = True) -> Path:
    """int64 token ids [1, T] -> Gather embedding -> MatMul -> logits [1, T, V], plus the
    argmax token ids [1, T] (int64)."""
    rng = np.random.default_rng(0)
    emb = numpy_helper.from_array(rng.normal(size=(v, 8)).astype(np.float32), "emb")
    head = numpy_helper.from_array(rng.normal(size=(8, v)).astype(np.float32) * 3, "head")
    nodes = [helper.make_node("Gather", ["emb", "input_ids"], ["h"], name="embed"),
             helper.make_node("MatMul", ["h", "head"], ["logits"], name="lm_head"),
             helper.make_node("ArgMax", ["logits"], ["next_ids"], name="argmax", axis=2,
                              keepdims=0)]
    graph = helper.make_graph(
        nodes, "lm", [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, t])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, t, v]),
         helper.make_tensor_value_info("next_ids", TensorProto.INT64, [1, t])],
        [emb, head])
    meta = {"vocab": json.dumps([f"tok{i}" for i in range(v)])} if vocab else None
    return _save(graph, path, meta)


def seq_logits(path: Path, t: int = 16, d: int = 8, v: int = 50257) -> Path:
    """[1, T, D] float -> MatMul [D, V] -> logits [1, T, V]: a language-model head over a
    sequence of hidden states (a GPT-2-sized vocabulary by default)."""
    head = numpy_helper.from_array(
        np.random.default_rng(0).normal(size=(d, v)).astype(np.float32), "head")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "head"], ["logits"], name="lm_head")], "seq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, t, d])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, t, v])], [head])
    return _save(graph, path)


def sigmoid_map(path: Path, h: int = 24, w: int = 32) -> Path:
    """[1, 3, H, W] image -> 1x1 Conv -> Sigmoid: a [1, 1, H, W] probability map."""
    wt = numpy_helper.from_array(np.full((1, 3, 1, 1), 0.7, np.float32), "W")
    nodes = [helper.make_node("Conv", ["image", "W"], ["z"], name="conv"),
             helper.make_node("Sigmoid", ["z"], ["prob_map"], name="sigmoid")]
    graph = helper.make_graph(
        nodes, "seg", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, h, w])],
        [helper.make_tensor_value_info("prob_map", TensorProto.FLOAT, [1, 1, h, w])], [wt])
    return _save(graph, path)


def hidden_states(path: Path, t: int = 5, d: int = 768) -> Path:
    """[1, T, 16] -> MatMul -> Tanh: a [1, T, D] last_hidden_state."""
    rng = np.random.default_rng(1)
    wt = numpy_helper.from_array(rng.normal(size=(16, d)).astype(np.float32) * 0.3, "W")
    nodes = [helper.make_node("MatMul", ["x", "W"], ["pre"], name="proj"),
             helper.make_node("Tanh", ["pre"], ["last_hidden_state"], name="tanh")]
    graph = helper.make_graph(
        nodes, "enc", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, t, 16])],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [1, t, d])],
        [wt])
    return _save(graph, path)


def uniform_softmax(path: Path, classes: int = 1000) -> Path:
    """[1, 4] -> Gemm with tiny weights -> Softmax: 1000 near-uniform probabilities."""
    rng = np.random.default_rng(2)
    wt = numpy_helper.from_array(rng.normal(size=(4, classes)).astype(np.float32) * 0.05, "W")
    nodes = [helper.make_node("Gemm", ["x", "W"], ["scores"], name="fc"),
             helper.make_node("Softmax", ["scores"], ["probs"], name="softmax", axis=-1)]
    graph = helper.make_graph(
        nodes, "cls", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, classes])], [wt])
    return _save(graph, path)


def with_if(path: Path) -> Path:
    """x [1, 4] -> Relu -> If (sum > 0): then Relu-doubles, else negates."""
    then_g = helper.make_graph(
        [helper.make_node("Add", ["r", "r"], ["t_out"], name="then_add")], "then_branch", [],
        [helper.make_tensor_value_info("t_out", TensorProto.FLOAT, [1, 4])])
    else_g = helper.make_graph(
        [helper.make_node("Neg", ["r"], ["e_out"], name="else_neg")], "else_branch", [],
        [helper.make_tensor_value_info("e_out", TensorProto.FLOAT, [1, 4])])
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("ReduceSum", ["r"], ["s"], name="sum", keepdims=0),
             helper.make_node("Greater", ["s", "zero"], ["cond"], name="gt"),
             helper.make_node("If", ["cond"], ["y"], name="branch", then_branch=then_g,
                              else_branch=else_g)]
    zero = numpy_helper.from_array(np.array(0.0, np.float32), "zero")
    graph = helper.make_graph(
        nodes, "iff", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], [zero])
    return _save(graph, path)
