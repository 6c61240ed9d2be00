"""The graph as the view shows it: nodes, collapsed group boxes and graph input/output
pseudo nodes, with deduplicated edges between them. IR-aware, still pure (no Qt)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inspector.ir import Graph, Node

Group = tuple[str, ...]
_UNSET: Any = object()


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
    item_of, index_of_node = _place_nodes(graph, expanded, _hidden(graph, hide_constants),
                                          items, source_of)
    src_l, dst_l, val_l = _data_edges(graph, item_of, source_of)
    for name in graph.outputs:
        i = len(items)
        items.append(ViewItem("output", f"output:{name}", None, (), name))
        src = source_of.get(name)
        if src is not None:
            src_l.append(src)
            dst_l.append(i)
            val_l.append(name)
    edges, names = _dedupe_edges(src_l, dst_l, val_l, len(items))
    return ViewGraph(items, edges, [v[0] for v in names], index_of_node, names)


def _place_nodes(graph: Graph, expanded: frozenset[Group], hidden: set[int],
                 items: list[ViewItem], source_of: dict[str, int]) -> tuple[list[int], dict[str, int]]:
    """Append an item per shown node or closed group to `items` and record in `source_of`
    which item produces each value: (item of each node position, -1 when hidden; the item of
    each node name)."""
    nodes = graph.nodes
    item_of = [-1] * len(nodes)  # node position -> its item; a list, not a dict of ids
    group_item: dict[Group, int] = {}
    group_count: dict[int, int] = {}
    index_of_node: dict[str, int] = {}
    keys: set[str] = set()
    owners: dict[Group, Group | None] = {}  # nodes of one scope share it: look it up once
    for pos, node in enumerate(nodes):
        if hidden and id(node) in hidden:
            continue
        group = node.group
        if group:
            owner = owners.get(group, _UNSET)
            if owner is _UNSET:
                owner = owners[group] = _owner(group, expanded)
        else:
            owner = None
        if owner is None:
            key = "node:" + node.name
            while key in keys:  # ONNX allows empty and repeated node names
                key += "#"
            keys.add(key)
            i = len(items)
            items.append(ViewItem("node", key, node, group, node.op_type))
        else:
            i = group_item.get(owner, -1)
            if i < 0:
                i = group_item[owner] = len(items)
                group_count[i] = 0
                items.append(ViewItem("group", "group:" + "/".join(owner), None, owner, owner[-1]))
            group_count[i] += 1
        item_of[pos] = i
        index_of_node.setdefault(node.name, i)
        for out in node.outputs:
            if out:
                source_of[out] = i
    for i, count in group_count.items():  # counted above, built once (not once per member)
        if count != 1:
            it = items[i]
            items[i] = ViewItem(it.kind, it.key, None, it.group, it.label, count)
    return item_of, index_of_node


def _data_edges(graph: Graph, item_of: list[int],
                source_of: dict[str, int]) -> tuple[list[int], list[int], list[str]]:
    """(source items, destination items, values) of every edge into a shown item."""
    src_l: list[int] = []
    dst_l: list[int] = []
    val_l: list[str] = []
    get = source_of.get
    for pos, node in enumerate(graph.nodes):
        dst = item_of[pos]
        if dst < 0:
            continue
        # input_names also lists weights: a shown Constant feeding a weight gets its edge
        for v in node.input_names or node.inputs:
            src = get(v) if v else None
            if src is not None and src != dst:
                src_l.append(src)
                dst_l.append(dst)
                val_l.append(v)
    return src_l, dst_l, val_l


def _dedupe_edges(src_l: list[int], dst_l: list[int], val_l: list[str],
                  n: int) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """One edge per distinct (src, dst) in first-seen order, with every value it carries."""
    src = np.array(src_l, dtype=np.int64)
    dst = np.array(dst_l, dtype=np.int64)
    if len(src) == 0:
        return np.zeros((0, 2), dtype=np.int64), []
    _, first, inverse = np.unique(src * max(n, 1) + dst, return_index=True, return_inverse=True)
    if len(first) == len(src):  # the common case: no two values join the same two items
        return np.column_stack([src, dst]), [(v,) for v in val_l]
    rank = np.empty(len(first), dtype=np.int64)
    order = np.argsort(first, kind="stable")
    rank[order] = np.arange(len(first))
    names: list[list[str]] = [[] for _ in range(len(first))]
    for k, v in zip(rank[inverse.reshape(-1)].tolist(), val_l, strict=True):
        if v not in names[k]:
            names[k].append(v)
    keep = first[order]
    return np.column_stack([src[keep], dst[keep]]), [tuple(v) for v in names]


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
