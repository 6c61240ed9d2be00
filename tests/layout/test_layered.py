"""Layered layout on graphs shaped like real networks, checked geometrically."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.layout import layered_layout
from inspector.progress import Cancelled, Task
from tests.layout import shapes
from tests.layout.geometry import check_layout, count_route_crossings, overlapping_pairs, rects

GAP = 24.0


def _cyclic(n: int = 60, seed: int = 3) -> tuple[int, np.ndarray]:
    """A random digraph with cycles, self-loops, duplicate and opposite edges."""
    rng = np.random.default_rng(seed)
    e = rng.integers(0, n, size=(3 * n, 2))
    e = np.vstack([e, e[:10], e[:5, ::-1], [[4, 4], [7, 7]]])
    return n, e.astype(np.int64)


GRAPHS = {
    "chain": lambda: shapes.chain(25),
    "resnet": lambda: shapes.resnet(10),
    "inception": lambda: shapes.inception(6),
    "transformer": lambda: shapes.transformer(3),
    "random_dag": lambda: shapes.random_dag(150, 260, seed=1, window=12),
    "cyclic": _cyclic,
}


@pytest.mark.parametrize("direction", ["TB", "LR"])
@pytest.mark.parametrize("kind", sorted(GRAPHS))
def test_layout_invariants(kind: str, direction: str) -> None:
    n, edges = GRAPHS[kind]()
    sizes = shapes.sizes_for(n, seed=7)
    res = layered_layout(n, edges, sizes, direction=direction, node_gap=GAP)
    check_layout(res, n, edges, GAP)
    assert np.array_equal(res.sizes, sizes)


@pytest.mark.parametrize("kind", ["chain", "resnet", "inception", "transformer", "random_dag"])
def test_edges_point_downward_in_tb_and_rightward_in_lr(kind: str) -> None:
    n, edges = GRAPHS[kind]()
    sizes = shapes.sizes_for(n)
    u, v = edges[:, 0], edges[:, 1]
    tb = layered_layout(n, edges, sizes, "TB")
    assert np.all(tb.layers[v] > tb.layers[u])
    assert np.all(tb.positions[v, 1] > tb.positions[u, 1])
    lr = layered_layout(n, edges, sizes, "LR")
    assert np.all(lr.positions[v, 0] > lr.positions[u, 0])


def test_same_layer_nodes_keep_the_gap() -> None:
    n, edges = shapes.inception(3)
    sizes = shapes.sizes_for(n)
    res = layered_layout(n, edges, sizes, node_gap=GAP)
    r = rects(res)
    for layer in np.unique(res.layers):
        idx = np.flatnonzero(res.layers == layer)
        assert not overlapping_pairs(r[idx], gap=GAP)


def test_lr_is_tb_with_axes_swapped() -> None:
    n, edges = shapes.transformer(2)
    sizes = shapes.sizes_for(n)
    lr = layered_layout(n, edges, sizes, "LR")
    tb = layered_layout(n, edges, sizes[:, ::-1], "TB")
    assert np.allclose(lr.positions, tb.positions[:, ::-1])
    assert (lr.width, lr.height) == (tb.height, tb.width)
    for a, b in zip(lr.routes, tb.routes, strict=True):
        assert np.allclose(a, b[:, ::-1])


@pytest.mark.parametrize("kind", ["transformer", "cyclic", "random_dag"])
def test_deterministic(kind: str) -> None:
    n, edges = GRAPHS[kind]()
    sizes = shapes.sizes_for(n)
    a = layered_layout(n, edges, sizes)
    b = layered_layout(n, edges.copy(), sizes.copy())
    assert np.array_equal(a.positions, b.positions)
    assert np.array_equal(a.layers, b.layers)
    assert all(np.array_equal(x, y) for x, y in zip(a.routes, b.routes, strict=True))


def test_chain_is_one_straight_line() -> None:
    n, edges = shapes.chain(40)
    res = layered_layout(n, edges, shapes.sizes_for(n))
    assert len(np.unique(res.positions[:, 0])) == 1
    assert list(res.layers) == list(range(n))


def test_resnet_spine_is_straight_and_nothing_crosses() -> None:
    n, edges, spine = shapes.resnet_with_spine(16)
    res = layered_layout(n, edges, shapes.sizes_for(n))
    assert len(np.unique(res.positions[spine, 0])) == 1
    assert count_route_crossings(res.routes) == 0
    assert res.crossings == 0


def test_crossing_count_matches_the_drawing() -> None:
    # K(3,3)-like bipartite layers cannot be drawn without crossings
    edges = np.array([[a, b] for a in range(3) for b in range(3, 6)])
    res = layered_layout(6, edges, np.full((6, 2), 40.0))
    assert res.crossings == count_route_crossings(res.routes) > 0


def test_repeated_modules_do_not_drift_sideways() -> None:
    size = np.array([80.0, 30.0])
    widths = []
    for modules in (2, 40):
        n, edges = shapes.inception(modules)
        widths.append(layered_layout(n, edges, np.tile(size, (n, 1))).width)
    assert widths[1] <= widths[0] * 1.01


def test_cycles_reverse_only_edges_on_cycles() -> None:
    n, edges = _cyclic()
    res = layered_layout(n, edges, np.full((n, 2), 30.0))
    adj = [[] for _ in range(n)]
    for a, b in edges.tolist():
        adj[a].append(b)

    def reaches(a: int, b: int) -> bool:
        seen, todo = {a}, [a]
        while todo:
            for w in adj[todo.pop()]:
                if w == b:
                    return True
                if w not in seen:
                    seen.add(w)
                    todo.append(w)
        return False

    for a, b in edges.tolist():
        if a != b and res.layers[b] <= res.layers[a]:
            assert reaches(b, a)  # only an edge closing a cycle may point upward


def test_components_sit_side_by_side_from_the_top() -> None:
    _, c1 = shapes.resnet(2)
    n1 = int(c1.max()) + 1
    _, c2 = shapes.chain(5)
    edges = np.vstack([c1, c2 + n1])
    n = n1 + 5 + 1  # plus one isolated node
    res = layered_layout(n, edges, shapes.sizes_for(n))
    r = rects(res)
    parts = [np.arange(n1), np.arange(n1, n1 + 5), np.array([n - 1])]
    spans = sorted((r[p, 0].min(), r[p, 2].max()) for p in parts)
    for (_, right), (left, _) in zip(spans[:-1], spans[1:], strict=True):
        assert right <= left
    for p in parts:
        assert res.layers[p].min() == 0  # every component starts in the top layer


def test_empty_and_single_node() -> None:
    res = layered_layout(0, np.zeros((0, 2), dtype=np.int64), np.zeros((0, 2)))
    assert res.positions.shape == (0, 2) and res.routes == [] and res.width == 0.0
    one = layered_layout(1, np.zeros((0, 2), dtype=np.int64), np.array([[50.0, 20.0]]))
    assert np.allclose(one.positions, [[25.0, 10.0]]) and (one.width, one.height) == (50.0, 20.0)
    loop = layered_layout(1, np.array([[0, 0]]), np.array([[50.0, 20.0]]))
    check_layout(loop, 1, np.array([[0, 0]]), GAP)
    assert loop.width > 50.0


def test_many_edges_at_one_node_attach_at_distinct_points() -> None:
    edges = np.array([[0, i] for i in range(1, 7)] + [[i, 7] for i in range(1, 7)])
    res = layered_layout(8, edges, np.full((8, 2), 60.0))
    starts = {tuple(rt[0]) for rt in res.routes[:6]}
    ends = {tuple(rt[-1]) for rt in res.routes[6:]}
    assert len(starts) == 6 and len(ends) == 6


@pytest.mark.parametrize(
    "args",
    [
        (3, np.array([[0, 3]]), np.ones((3, 2))),
        (3, np.array([[0, 1]]), np.ones((2, 2))),
        (3, np.array([[0.0, 1.0]]), np.ones((3, 2))),
        (3, np.array([[0, 1]]), -np.ones((3, 2))),
    ],
)
def test_misuse_is_a_value_error(args) -> None:
    with pytest.raises(ValueError):
        layered_layout(*args)
    with pytest.raises(ValueError):
        layered_layout(2, np.zeros((0, 2), dtype=np.int64), np.ones((2, 2)), direction="BT")


def test_cancel_stops_the_layout() -> None:
    n, edges = shapes.resnet(5)
    with pytest.raises(Cancelled):
        layered_layout(n, edges, shapes.sizes_for(n), task=Task(cancelled=lambda: True))
