"""Find and trace on a real loaded ONNX graph."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from inspector.ir.search import BadPattern, ancestors, descendants, find_nodes
from inspector.loaders import load_model

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "digits_cnn.onnx"


@pytest.fixture(scope="module")
def graph():
    return load_model(SAMPLE).graph


def test_find_by_op_type_matches_onnx_count(graph) -> None:
    proto = onnx.load(str(SAMPLE))
    expected = sum(1 for n in proto.graph.node if n.op_type == "Conv")
    found = find_nodes(graph, "conv")
    assert len([n for n in found if n.op_type == "Conv"]) == expected
    assert found[0].op_type == "Conv"


def test_find_by_regex_and_bad_regex(graph) -> None:
    found = find_nodes(graph, r"^(Relu|Softmax)$", regex=True)
    assert {n.op_type for n in found} == {"Relu", "Softmax"}
    with pytest.raises(BadPattern):
        find_nodes(graph, "([", regex=True)
    assert find_nodes(graph, "   ") == []


def test_lineage_follows_edges(graph) -> None:
    last = graph.producer(graph.outputs[0])
    first = graph.consumers(graph.inputs[0])[0]
    up = ancestors(graph, last.name)
    down = descendants(graph, first.name)
    assert first.name in up and last.name in down
    assert last.name not in up and first.name not in down
    # a node is an ancestor of the last one exactly when the last one descends from it
    for node in graph.nodes:
        if node.name in up:
            assert last.name in descendants(graph, node.name)
