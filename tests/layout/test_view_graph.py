"""View graph from real ONNX files read by the ONNX loader; expectations from the protobuf."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from inspector.layout import build_view_graph, default_expanded, layered_layout
from inspector.loaders.registry import load_model
from tests.layout.geometry import check_layout


def _encoder(path: Path, layers: int = 3, with_constant: bool = True) -> onnx.ModelProto:
    """A residual MLP encoder with ONNX-exporter scope names (/enc/layerK/...)."""
    w = helper.make_tensor("W", TensorProto.FLOAT, [4, 4], np.eye(4).ravel().tolist())
    nodes, prev = [], "x"
    for k in range(layers):
        s = f"/enc/layer{k}"
        nodes += [
            helper.make_node("MatMul", [prev, "W"], [f"{s}/mm"], name=f"{s}/fc/MatMul"),
            helper.make_node("Relu", [f"{s}/mm"], [f"{s}/r"], name=f"{s}/act/Relu"),
            helper.make_node("Add", [f"{s}/r", prev], [f"{s}/o"], name=f"{s}/Add"),
        ]
        prev = f"{s}/o"
    if with_constant:
        c = helper.make_tensor("c", TensorProto.FLOAT, [4], [1.0, 2.0, 3.0, 4.0])
        nodes += [
            helper.make_node("Constant", [], ["scale"], value=c, name="/head/Constant"),
            helper.make_node("Mul", [prev, "scale"], ["y"], name="/head/Mul"),
        ]
        prev = "y"
    nodes.append(helper.make_node("Softmax", [prev], ["probs"], name="Softmax"))
    graph = helper.make_graph(
        nodes,
        "encoder",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [
            helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 4]),
            helper.make_tensor_value_info(f"/enc/layer{layers - 1}/o", TensorProto.FLOAT, [1, 4]),
        ],
        [w],
    )
    model = helper.make_model(graph)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return model


def _proto_edges(model: onnx.ModelProto, owner) -> set[tuple[str, str]]:
    """Distinct producer -> consumer pairs between view keys, from the protobuf itself."""
    made = {o: owner(n) for n in model.graph.node for o in n.output}
    made.update({i.name: f"input:{i.name}" for i in model.graph.input})
    pairs = {(made[i], owner(n)) for n in model.graph.node for i in n.input if i in made}
    pairs |= {(made[o.name], f"output:{o.name}") for o in model.graph.output}
    return {(a, b) for a, b in pairs if a != b and a is not None and b is not None}


def _keys(vg) -> set[tuple[str, str]]:
    return {(vg.items[a].key, vg.items[b].key) for a, b in vg.edges.tolist()}


@pytest.fixture()
def encoder(tmp_path: Path):
    path = tmp_path / "enc.onnx"
    proto = _encoder(path)
    return proto, load_model(path)


def test_fully_expanded_matches_the_protobuf(encoder) -> None:
    proto, model = encoder
    everything = frozenset(n.group[:i] for n in model.graph.nodes for i in range(1, len(n.group) + 1))
    vg = build_view_graph(model.graph, everything, hide_constants=False)
    kinds = [it.kind for it in vg.items]
    assert kinds.count("node") == len(proto.graph.node)
    assert kinds.count("input") == len(proto.graph.input)
    assert kinds.count("output") == len(proto.graph.output)
    assert _keys(vg) == _proto_edges(proto, lambda n: f"node:{n.name}")
    assert len(vg.edge_values) == len(vg.edges) == len(vg.edge_value_names)
    for (a, b), v in zip(vg.edges.tolist(), vg.edge_values, strict=True):
        assert a != b and v  # every edge carries a value name
    assert {n.name for n in proto.graph.node} == set(vg.index_of_node)


def test_collapsed_groups_stand_for_their_nodes(encoder) -> None:
    proto, model = encoder
    vg = build_view_graph(model.graph, frozenset(), hide_constants=False)

    def top(n) -> str:
        parts = [p for p in n.name.split("/") if p]
        return f"group:{parts[0]}" if len(parts) > 1 else f"node:{n.name}"

    groups = [it for it in vg.items if it.kind == "group"]
    assert {g.key for g in groups} == {"group:enc", "group:head"}
    count = {g.key: g.count for g in groups}
    assert count["group:enc"] == sum(n.name.startswith("/enc/") for n in proto.graph.node)
    assert _keys(vg) == _proto_edges(proto, top)
    enc = next(i for i, it in enumerate(vg.items) if it.key == "group:enc")
    assert all(vg.index_of_node[n.name] == enc for n in proto.graph.node if n.name.startswith("/enc/"))
    # one level down: the three layer groups appear, the encoder box goes
    vg2 = build_view_graph(model.graph, frozenset({("enc",)}), hide_constants=False)
    assert sorted(it.key for it in vg2.items if it.kind == "group") == [
        "group:enc/layer0", "group:enc/layer1", "group:enc/layer2", "group:head"]


def test_constant_feeding_only_a_weight_is_hidden(encoder) -> None:
    proto, model = encoder
    everything = frozenset(n.group[:i] for n in model.graph.nodes for i in range(1, len(n.group) + 1))
    const = model.graph.node("/head/Constant")
    shown = build_view_graph(model.graph, everything, hide_constants=False)
    hidden = build_view_graph(model.graph, everything, hide_constants=True)
    if model.graph.consumers("scale"):
        pytest.skip("this loader keeps Constant outputs as data edges")
    assert const.name in shown.index_of_node
    assert const.name not in hidden.index_of_node
    assert len(hidden.items) == len(shown.items) - 1


def test_default_expanded_opens_what_fits(tmp_path: Path) -> None:
    path = tmp_path / "big.onnx"
    _encoder(path, layers=30, with_constant=False)
    graph = load_model(path).graph
    for limit in (5, 40, 120, 1000):
        opened = default_expanded(graph, max_items=limit)
        n_items = len(build_view_graph(graph, opened).items)
        assert n_items <= limit or not opened
        # every closed group whose parent is open would push the count over the limit
        paths = {n.group[:i] for n in graph.nodes for i in range(1, len(n.group) + 1)}
        for g in paths - opened:
            if len(g) == 1 or g[:-1] in opened:
                assert len(build_view_graph(graph, opened | {g}).items) > limit
    assert default_expanded(graph, max_items=1000) == frozenset(
        n.group[:i] for n in graph.nodes for i in range(1, len(n.group) + 1))


def test_view_graph_lays_out_cleanly(encoder) -> None:
    _, model = encoder
    vg = build_view_graph(model.graph, default_expanded(model.graph))
    n = len(vg.items)
    sizes = np.column_stack([np.full(n, 90.0), np.full(n, 36.0)])
    res = layered_layout(n, vg.edges, sizes)
    check_layout(res, n, vg.edges, 24.0)
