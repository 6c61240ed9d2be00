"""Cycle removal, layering and connected components for the layered layout.

These are the steps that follow edges one at a time (a depth-first search, longest paths in
topological order), so they are tight Python loops over plain lists: linear in nodes plus
edges and run once per layout, never per sweep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Ranking:
    """Result of `rank_graph`: edges oriented acyclically and a layer for every node."""

    src: np.ndarray  # (m,) oriented sources (back edges reversed)
    dst: np.ndarray  # (m,) oriented targets
    reversed: np.ndarray  # (m,) bool, True where the input edge was reversed
    layer: np.ndarray  # (n,) int64, starting at 0 in every component
    node_time: np.ndarray  # (n,) DFS discovery time: the initial order within a layer
    edge_time: np.ndarray  # (m,) DFS time the edge was followed: orders its dummy nodes
    component: np.ndarray  # (n,) component label, numbered by smallest member node
    depth_above: np.ndarray  # (n,) most edges on a path from a source to the node
    depth_below: np.ndarray  # (n,) most edges on a path from the node to a sink


def _csr(n: int, src: np.ndarray, dst: np.ndarray) -> tuple[list[int], list[int], list[int]]:
    """Adjacency lists (pointer, neighbour, edge id) sorted stably by source."""
    order = np.argsort(src, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=ptr[1:])
    return ptr.tolist(), dst[order].tolist(), order.tolist()


def _dfs(n: int, src: np.ndarray, dst: np.ndarray):
    """Iterative DFS from sources first: back edges, discovery/edge times, finish order."""
    m = len(src)
    ptr, adj, eid = _csr(n, src, dst)
    indeg = np.bincount(dst, minlength=n)
    roots = np.concatenate([np.flatnonzero(indeg == 0), np.arange(n)]).tolist()
    state = [0] * n  # 0 unseen, 1 on the stack, 2 finished
    node_time = [0] * n
    edge_time = [0] * m
    back: list[int] = []
    finish: list[int] = []
    t = 0
    for root in roots:
        if state[root]:
            continue
        state[root] = 1
        node_time[root] = t
        t += 1
        stack = [root]
        nxt = [ptr[root]]
        while stack:
            v = stack[-1]
            i = nxt[-1]
            if i < ptr[v + 1]:
                nxt[-1] = i + 1
                w = adj[i]
                edge_time[eid[i]] = t
                t += 1
                s = state[w]
                if s == 0:
                    state[w] = 1
                    node_time[w] = t
                    t += 1
                    stack.append(w)
                    nxt.append(ptr[w])
                elif s == 1:
                    back.append(eid[i])
            else:
                state[v] = 2
                finish.append(v)
                stack.pop()
                nxt.pop()
    return back, node_time, edge_time, finish


def _components(n: int, src: np.ndarray, dst: np.ndarray, max_rounds: int = 40) -> np.ndarray:
    """Weakly connected components, labelled 0.. in order of smallest node.

    Vectorised hooking: every tree root with an edge to a tree of smaller root hangs under
    the smallest such root, then pointer jumping flattens the trees; each component ends
    as one tree rooted at its smallest node, whatever the number of rounds. Networks take
    a handful; past `max_rounds` the union-find loop does the job instead.
    """
    root = np.arange(n, dtype=np.int64)
    for _ in range(max_rounds):
        a, b = root[src], root[dst]
        cross = a != b
        if not cross.any():
            break
        np.minimum.at(root, np.maximum(a, b)[cross], np.minimum(a, b)[cross])
        while True:
            nxt = root[root]
            if np.array_equal(nxt, root):
                break
            root = nxt
    else:
        return _components_sequential(n, src, dst)
    _, label = np.unique(root, return_inverse=True)
    return label.reshape(-1).astype(np.int64)


def _components_sequential(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Weakly connected components by union-find, labelled 0.. in order of smallest node."""
    parent = list(range(n))
    for a, b in zip(src.tolist(), dst.tolist(), strict=True):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        if a != b:
            # the smaller index becomes the root, so labels follow node order
            if a < b:
                parent[b] = a
            else:
                parent[a] = b
    root = np.array(parent, dtype=np.int64)
    # pointer jumping finishes the compression vectorised
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    _, label = np.unique(root, return_inverse=True)
    return label.astype(np.int64)


def _longest_path_layers(
    n: int, src: np.ndarray, dst: np.ndarray, topo: list[int]
) -> tuple[list[int], list[int], list[int]]:
    """Longest path from the sources, then pull nodes down towards their consumers.
    Returns (layer, depth above, depth below); the depths guide alignment.

    A node moves down to just above its nearest consumer (as late as possible) when that
    is two or more layers down, or when it has more outgoing than incoming edges (side
    inputs and constants). Longest-path layering alone lifts a side chain that depends
    only on an early value (an exported encoder's Shape -> Gather -> Concat feeding a
    block's Reshape) to the top, so the block's frame spans nearly the whole graph and has
    to sit beside the previous block; pulled down, the chain stays inside its block. A
    one-layer gap is left alone: it is a sibling branch one step shorter (q beside k's
    extra transpose), and moving it only trades one long edge for another and shifts the
    branch off its siblings' rows, which cost crossings on transformer shapes.
    Reverse topological order settles every consumer before its producers.
    """
    ptr, adj, _ = _csr(n, src, dst)
    layer = [0] * n
    for u in topo:
        lu = layer[u] + 1
        for w in adj[ptr[u] : ptr[u + 1]]:
            if layer[w] < lu:
                layer[w] = lu
    above = list(layer)
    below = [0] * n
    indeg = np.bincount(dst, minlength=n).tolist()
    for u in reversed(topo):
        a, b = ptr[u], ptr[u + 1]
        if b == a + 1:  # the common case, without building lists
            w = adj[a]
            below[u] = below[w] + 1
            lowest = layer[w] - 1
            if lowest > layer[u] + 1 or (indeg[u] == 0 and lowest > layer[u]):
                layer[u] = lowest
        elif b > a:
            succ = adj[a:b]
            below[u] = max([below[w] for w in succ]) + 1
            lowest = min([layer[w] for w in succ]) - 1
            if lowest > layer[u] + 1 or (b - a > indeg[u] and lowest > layer[u]):
                layer[u] = lowest
    return layer, above, below


def rank_graph(n: int, src: np.ndarray, dst: np.ndarray) -> Ranking:
    """Orient edges acyclically (reverse DFS back edges) and assign layers.

    `src`/`dst` must be free of self-loops. Every oriented edge goes from a lower to a
    strictly higher layer.
    """
    m = len(src)
    back, node_time, edge_time, finish = _dfs(n, src, dst)
    rev = np.zeros(m, dtype=bool)
    if back:
        rev[np.asarray(back, dtype=np.int64)] = True
    osrc = np.where(rev, dst, src)
    odst = np.where(rev, src, dst)
    # reversed DFS finish order is a topological order once back edges are reversed
    topo = finish[::-1]
    lay, above, below = _longest_path_layers(n, osrc, odst, topo)
    layer = np.asarray(lay, dtype=np.int64)
    comp = _components(n, src, dst)
    # each component starts at layer 0, so side-by-side components line up at the top
    base = np.full(int(comp.max()) + 1 if n else 0, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(base, comp, layer)
    layer = layer - base[comp]
    return Ranking(
        src=osrc,
        dst=odst,
        reversed=rev,
        layer=layer,
        node_time=np.asarray(node_time, dtype=np.float64),
        edge_time=np.asarray(edge_time, dtype=np.float64),
        component=comp,
        depth_above=np.asarray(above, dtype=np.int64),
        depth_below=np.asarray(below, dtype=np.int64),
    )
