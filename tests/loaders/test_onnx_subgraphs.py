"""If/Loop/Scan bodies and model-local functions become reachable IR graphs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from inspector.loaders import load_model
from tests.loaders.test_onnx_loader import assert_matches_proto


def _save(proto: onnx.ModelProto, path: Path) -> Path:
    onnx.checker.check_model(proto)
    onnx.save(proto, path)
    return path


def _control_flow_model() -> onnx.ModelProto:
    outer_w = numpy_helper.from_array(np.full((3,), 2.0, np.float32), "outer_w")
    then_g = helper.make_graph(
        [helper.make_node("Mul", ["x", "outer_w"], ["then_out"], name="/if/then/Mul")],
        "then", [], [helper.make_tensor_value_info("then_out", TensorProto.FLOAT, [3])],
    )
    else_g = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["else_out"], name="/if/else/Neg")],
        "else", [], [helper.make_tensor_value_info("else_out", TensorProto.FLOAT, [3])],
    )
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Add", ["acc_in", "x"], ["acc_out"]),
        ],
        "loop_body",
        [
            helper.make_tensor_value_info("iter", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, [3]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, [3]),
        ],
    )
    scan_body = helper.make_graph(
        [
            helper.make_node("Add", ["s_in", "elem"], ["s_out"]),
            helper.make_node("Identity", ["s_out"], ["scan_y"]),
        ],
        "scan_body",
        [helper.make_tensor_value_info("s_in", TensorProto.FLOAT, [3]),
         helper.make_tensor_value_info("elem", TensorProto.FLOAT, [3])],
        [helper.make_tensor_value_info("s_out", TensorProto.FLOAT, [3]),
         helper.make_tensor_value_info("scan_y", TensorProto.FLOAT, [3])],
    )
    nodes = [
        helper.make_node("If", ["cond"], ["if_out"], name="if", then_branch=then_g, else_branch=else_g),
        helper.make_node("Loop", ["trip", "cond", "if_out"], ["loop_out"], name="loop", body=body),
        helper.make_node("Scan", ["loop_out", "seq"], ["scan_state", "scan_ys"], name="scan",
                         body=scan_body, num_scan_inputs=1),
    ]
    graph = helper.make_graph(
        nodes, "control",
        [helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, [3]),
         helper.make_tensor_value_info("trip", TensorProto.INT64, []),
         helper.make_tensor_value_info("seq", TensorProto.FLOAT, ["T", 3])],
        [helper.make_tensor_value_info("scan_state", TensorProto.FLOAT, [3]),
         helper.make_tensor_value_info("scan_ys", TensorProto.FLOAT, ["T", 3])],
        [outer_w],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_if_loop_scan_bodies_reachable(tmp_path: Path) -> None:
    proto = _control_flow_model()
    model = load_model(_save(proto, tmp_path / "cf.onnx"))
    assert_matches_proto(model, proto)
    if_node, loop, scan = model.graph.nodes
    assert [k for k, _ in if_node.subgraphs] == ["then_branch", "else_branch"]
    assert [k for k, _ in loop.subgraphs] == ["body"]
    assert [k for k, _ in scan.subgraphs] == ["body"]
    assert if_node.category == loop.category == "control"
    then_g = dict(if_node.subgraphs)["then_branch"]
    assert then_g is if_node.attr("then_branch")
    # every subgraph node is walked, with the op types onnx lists in the attribute graphs
    sub_ops = sorted(n.op_type for g, n in model.graph.walk() if g is not model.graph)
    expected = sorted(
        n.op_type for node in proto.graph.node for a in node.attribute if a.type == onnx.AttributeProto.GRAPH
        for n in a.g.node
    )
    assert sub_ops == expected
    # an outer-scope initializer used inside a branch is a weight there, not a data edge
    mul = then_g.nodes[0]
    assert mul.inputs == ("x",)
    np.testing.assert_array_equal(mul.weight("B").tensor.numpy(), np.full((3,), 2.0, np.float32))
    assert mul.group == ("if", "then")
    body = dict(loop.subgraphs)["body"]
    assert body.inputs == ("iter", "cond_in", "acc_in")
    assert body.value("acc_in").shape == (3,)
    assert model.graph.value("scan_ys").shape == ("T", 3)


def test_subgraph_input_shadows_outer_initializer(tmp_path: Path) -> None:
    # The Scan body names its state "w", like the outer initializer: inside, "w" is data.
    w = numpy_helper.from_array(np.ones(2, np.float32), "w")
    body = helper.make_graph(
        [helper.make_node("Add", ["w", "e"], ["w_next"]), helper.make_node("Identity", ["w_next"], ["y"])],
        "b",
        [helper.make_tensor_value_info("w", TensorProto.FLOAT, [2]),
         helper.make_tensor_value_info("e", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("w_next", TensorProto.FLOAT, [2]),
         helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    graph = helper.make_graph(
        [helper.make_node("Scan", ["w", "xs"], ["final", "ys"], body=body, num_scan_inputs=1)],
        "g", [helper.make_tensor_value_info("xs", TensorProto.FLOAT, [4, 2])],
        [helper.make_tensor_value_info("final", TensorProto.FLOAT, [2]),
         helper.make_tensor_value_info("ys", TensorProto.FLOAT, [4, 2])],
        [w],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model = load_model(_save(proto, tmp_path / "shadow.onnx"))
    scan = model.graph.nodes[0]
    assert scan.inputs == ("xs",) and scan.weights[0].tensor.name == "w"
    add = dict(scan.subgraphs)["body"].nodes[0]
    assert add.inputs == ("w", "e") and add.weights == ()


def test_local_functions_linked_to_calling_nodes(tmp_path: Path) -> None:
    inner = helper.make_function(
        "custom.fn", "Scale", ["a", "s"], ["b"],
        [helper.make_node("Mul", ["a", "s"], ["b"])],
        [helper.make_opsetid("", 17)],
    )
    outer = helper.make_function(
        "custom.fn", "ScaleRelu", ["x", "s"], ["y"],
        [helper.make_node("Scale", ["x", "s"], ["t"], domain="custom.fn"),
         helper.make_node("Relu", ["t"], ["y"])],
        [helper.make_opsetid("", 17), helper.make_opsetid("custom.fn", 1)],
    )
    scale = numpy_helper.from_array(np.array([3.0], np.float32), "scale")
    graph = helper.make_graph(
        [helper.make_node("ScaleRelu", ["x", "scale"], ["y"], domain="custom.fn", name="/block/sr")],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])], [scale],
    )
    proto = helper.make_model(
        graph, functions=[outer, inner],
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("custom.fn", 1)],
    )
    model = load_model(_save(proto, tmp_path / "fn.onnx"))
    assert_matches_proto(model, proto)
    assert sorted(g.name for g in model.functions) == ["custom.fn.Scale", "custom.fn.ScaleRelu"]
    call = model.graph.nodes[0]
    fn = dict(call.subgraphs)["function"]
    assert fn.name == "custom.fn.ScaleRelu"
    assert [n.op_type for n in fn.nodes] == [n.op_type for n in outer.node]
    assert fn.inputs == ("x", "s") and fn.outputs == ("y",)
    # the nested call inside the function links to the other function graph
    nested = dict(fn.nodes[0].subgraphs)["function"]
    assert nested.name == "custom.fn.Scale"
    # the weight's role is the function's formal input name
    assert call.weights[0].name == "s"
    # shape inference sees through the function
    assert model.graph.value("y").shape == (2, 3)
    assert model.opsets == {"ai.onnx": 17, "custom.fn": 1}
