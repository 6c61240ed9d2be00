"""The graph as the view shows it: nodes, collapsed group boxes and graph input/output
pseudo nodes, with deduplicated edges between them. IR-aware, still pure (no Qt)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inspector.ir import Graph, Node

Group = tuple[str, ...]


@dataclass(frozen=True)
class ViewItem:
    """One box in the view: kind "node", "group" (collapsed), "input" or "output"."""

    kind: str
    key: str
    node: Node | None
    group: Group
    label: str
    count: int = 1


@dataclass(frozen=True)
class ViewGraph:
    """Items, (m, 2) edges between item indices, the value name each edge carries (the
    first, when several values join the same two items; all of them in `edge_value_names`),
    and every visible node's item (its own, or its collapsed group's)."""

    items: list[ViewItem]
    edges: np.ndarray
    edge_values: list[str]
    index_of_node: dict[str, int]
    edge_value_names: list[tuple[str, ...]] = field(default_factory=list)


def _hidden(graph: Graph, hide_constants: bool) -> set[int]:
    """Ids of constant nodes that only feed weights: nothing consumes their outputs."""
    if not hide_constants:
        return set()
    outs = set(graph.outputs)
    hidden = set()
    for node in graph.nodes:
        if node.category == "constant" or node.op_type == "Constant":
            if not any(graph.consumers(o) or o in outs for o in node.outputs if o):
                hidden.add(id(node))
    return hidden


def _owner(group: Group, expanded: frozenset[Group]) -> Group | None:
    """The collapsed group a node with this path falls in, or None when fully expanded."""
    for i in range(1, len(group) + 1):
        if group[:i] not in expanded:
            return group[:i]
    return None


def _graph_inputs(graph: Graph) -> list[str]:
    # old ONNX files list initializers among the inputs: those are weights, not inputs
    return [v for v in graph.inputs if v and v not in graph.initializers]


def build_view_graph(graph: Graph, expanded: frozenset[Group], hide_constants: bool = True) -> ViewGraph:
    """Items and edges for `graph` with the groups in `expanded` opened."""
    items: list[ViewItem] = []
    source_of: dict[str, int] = {}  # value name -> item producing it
    for name in _graph_inputs(graph):
        source_of.setdefault(name, len(items))
        items.append(ViewItem("input", f"input:{name}", None, (), name))
    hidden = _hidden(graph, hide_constants)
    item_of: dict[int, int] = {}
    group_item: dict[Group, int] = {}
    index_of_node: dict[str, int] = {}
    keys: set[str] = set()
    for node in graph.nodes:
        if id(node) in hidden:
            continue
        owner = _owner(node.group, expanded)
        if owner is None:
            key = f"node:{node.name}"
            while key in keys:  # ONNX allows empty and repeated node names
                key += "#"
            keys.add(key)
            i = len(items)
            items.append(ViewItem("node", key, node, node.group, node.op_type))
        elif owner in group_item:
            i = group_item[owner]
            it = items[i]
            items[i] = ViewItem(it.kind, it.key, None, it.group, it.label, it.count + 1)
        else:
            i = group_item[owner] = len(items)
            items.append(ViewItem("group", "group:" + "/".join(owner), None, owner, owner[-1], 1))
        item_of[id(node)] = i
        index_of_node.setdefault(node.name, i)
        for out in node.outputs:
            if out:
                source_of[out] = i
    pairs: dict[tuple[int, int], list[str]] = {}
    for node in graph.nodes:
        dst = item_of.get(id(node))
        if dst is None:
            continue
        # input_names also lists weights: a shown Constant feeding a weight gets its edge
        for v in node.input_names or node.inputs:
            src = source_of.get(v) if v else None
            if src is not None and src != dst:
                names = pairs.setdefault((src, dst), [])
                if v not in names:
                    names.append(v)
    for name in graph.outputs:
        i = len(items)
        items.append(ViewItem("output", f"output:{name}", None, (), name))
        src = source_of.get(name)
        if src is not None:
            pairs.setdefault((src, i), []).append(name)
    edges = np.array(list(pairs.keys()), dtype=np.int64).reshape(-1, 2)
    names = [tuple(v) for v in pairs.values()]
    return ViewGraph(items, edges, [v[0] for v in names], index_of_node, names)


def default_expanded(graph: Graph, max_items: int = 300, hide_constants: bool = True) -> frozenset[Group]:
    """Groups to open so a big graph starts readable: breadth first, each group opened
    only while the item count stays within `max_items`."""
    hidden = _hidden(graph, hide_constants)
    direct: dict[Group, int] = {}
    subgroups: dict[Group, dict[Group, None]] = {}  # ordered sets, first appearance first
    for node in graph.nodes:
        if id(node) in hidden:
            continue
        g = node.group
        for i in range(len(g)):
            subgroups.setdefault(g[:i], {})[g[: i + 1]] = None
        direct[g] = direct.get(g, 0) + 1

    def children(p: Group) -> int:
        return direct.get(p, 0) + len(subgroups.get(p, {}))

    count = len(_graph_inputs(graph)) + len(graph.outputs) + children(())
    expanded: set[Group] = set()
    queue = list(subgroups.get((), {}))
    head = 0
    while head < len(queue):
        g = queue[head]
        head += 1
        grow = children(g) - 1
        if count + grow <= max_items:
            count += grow
            expanded.add(g)
            queue.extend(subgroups.get(g, {}))
    return frozenset(expanded)
