"""Finding nodes in a graph: by name, op type or regular expression; ancestors, descendants."""

from __future__ import annotations

import re
from collections import deque

from inspector.ir.model import Graph, Node


class BadPattern(ValueError):
    """The search text is not a valid regular expression."""


def find_nodes(graph: Graph, query: str, regex: bool = False, limit: int = 5000) -> list[Node]:
    """Nodes whose name, op type, output or weight name matches `query`.

    Plain text matches case-insensitively as a substring; with `regex` it is a Python regular
    expression searched in each field. Exact op-type matches come first.
    """
    query = query.strip()
    if not query:
        return []
    if regex:
        try:
            pattern = re.compile(query, re.IGNORECASE)
        except re.error as e:
            raise BadPattern(f"not a valid regular expression: {e}") from None

        def hit(text: str) -> bool:
            return pattern.search(text) is not None
    else:
        needle = query.lower()

        def hit(text: str) -> bool:
            return needle in text.lower()

    exact: list[Node] = []
    other: list[Node] = []
    for node in graph.nodes:
        fields = (node.name, node.op_type, *node.outputs, *(w.tensor.name for w in node.weights))
        if any(hit(f) for f in fields):
            (exact if node.op_type.lower() == query.lower() else other).append(node)
            if len(exact) + len(other) >= limit:
                break
    return exact + other


def ancestors(graph: Graph, name: str) -> set[str]:
    """Names of every node the node `name` depends on (not including itself)."""
    return _walk(graph, name, up=True)


def descendants(graph: Graph, name: str) -> set[str]:
    """Names of every node that depends on the node `name` (not including itself)."""
    return _walk(graph, name, up=False)


def _walk(graph: Graph, name: str, up: bool) -> set[str]:
    seen: set[str] = set()
    queue = deque([graph.node(name)])
    while queue:
        node = queue.popleft()
        if up:
            nxt = [graph.producer(v) for v in node.inputs]
        else:
            nxt = [c for v in node.outputs for c in graph.consumers(v)]
        for n in nxt:
            if n is not None and n.name not in seen and n.name != name:
                seen.add(n.name)
                queue.append(n)
    return seen
