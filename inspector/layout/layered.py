"""Layered (Sugiyama-style) graph layout, vectorised with numpy for 100,000-node graphs.

Steps: reverse DFS back edges (cycles), longest-path layering pulled towards consumers,
dummy nodes on long edges, barycenter crossing reduction keeping the order with the
fewest exactly counted crossings, Brandes-Koepf-style coordinates (straight chains), and
routes through the dummies. "LR" is the "TB" layout with both axes swapped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inspector.layout.coords import assign_x, assign_y
from inspector.layout.ordering import make_proper, order_layers
from inspector.layout.ranking import rank_graph
from inspector.layout.routes import edge_routes, loop_routes
from inspector.progress import NO_TASK, Task


@dataclass(frozen=True)
class LayoutResult:
    """Node centres (y grows downward), the sizes given, layers, one route per input edge,
    the bounding box (top-left at 0, 0) and the number of edge crossings left."""

    positions: np.ndarray
    sizes: np.ndarray
    layers: np.ndarray
    routes: list[np.ndarray]
    width: float
    height: float
    crossings: int = field(default=0)


def _check(n: int, edges: np.ndarray, sizes: np.ndarray, direction: str) -> tuple[np.ndarray, np.ndarray]:
    """Validated (m, 2) int64 edges and (n, 2) float64 sizes; ValueError on misuse."""
    if direction not in ("TB", "LR"):
        raise ValueError(f"direction must be 'TB' or 'LR', not {direction!r}")
    if n < 0:
        raise ValueError("n must be >= 0")
    e = np.asarray(edges)
    if e.size == 0:
        e = np.zeros((0, 2), dtype=np.int64)
    if e.ndim != 2 or e.shape[1] != 2 or not np.issubdtype(e.dtype, np.integer):
        raise ValueError("edges must be an (m, 2) integer array")
    e = e.astype(np.int64)
    if len(e) and (e.min() < 0 or e.max() >= n):
        raise ValueError("edge endpoint out of range")
    s = np.asarray(sizes, dtype=np.float64)
    if s.shape != (n, 2):
        raise ValueError(f"sizes must have shape ({n}, 2), got {s.shape}")
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError("sizes must be finite and non-negative")
    return e, s


def layered_layout(
    n: int,
    edges: np.ndarray,
    sizes: np.ndarray,
    direction: str = "TB",
    node_gap: float = 24.0,
    layer_gap: float = 48.0,
    task: Task = NO_TASK,
) -> LayoutResult:
    """Lay out a directed graph in layers; edges may hold cycles, self-loops and duplicates."""
    e, given = _check(n, edges, sizes, direction)
    lr = direction == "LR"
    size = given[:, ::-1].copy() if lr else given  # work in TB: the flow axis is y
    w, h = size[:, 0], size[:, 1]
    loops = e[:, 0] == e[:, 1]
    plain = np.flatnonzero(~loops)
    task.report(0.0, "Ranking layers")
    r = rank_graph(n, e[plain, 0], e[plain, 1])
    task.report(0.25, "Ordering layers")
    p = make_proper(
        n, r.src, r.dst, r.layer, r.node_time, r.edge_time, r.component, r.depth_above, r.depth_below
    )
    pos, crossings = order_layers(p, task=task)
    task.report(0.6, "Placing nodes")
    dummy_zero = np.zeros(p.count - n)
    x = assign_x(p, pos, np.concatenate([w, dummy_zero]), node_gap)
    top, bottom = assign_y(p.layer, np.concatenate([h, dummy_zero]), layer_gap)
    centre = np.column_stack([x[:n], (top + bottom)[r.layer] / 2.0]) if n else np.zeros((0, 2))
    # shift so the nodes' bounding box starts at (0, 0); self-loops only stick out rightward
    lo = (centre - size / 2.0).min(axis=0) if n else np.zeros(2)
    hi = (centre + size / 2.0).max(axis=0) if n else np.zeros(2)
    if p.count > n:  # long edges may run outside the nodes' box
        lo[0] = min(lo[0], float(x[n:].min()))
        hi[0] = max(hi[0], float(x[n:].max()))
    centre = centre - lo
    x, top, bottom = x - lo[0], top - lo[1], bottom - lo[1]
    extent = hi - lo
    task.report(0.8, "Routing edges")
    routes: list[np.ndarray] = [np.zeros((0, 2))] * len(e)
    plain_routes = edge_routes(p, x, top, bottom, w, h, r.reversed, node_gap / 2.0, swap=lr)
    for i, route in zip(plain.tolist(), plain_routes, strict=True):
        routes[i] = route
    looped = np.flatnonzero(loops)
    loop_gap = node_gap * 0.4
    for i, route in zip(looped.tolist(), loop_routes(e[looped, 0], centre, size, loop_gap, lr), strict=True):
        routes[i] = route
    if len(looped):
        ln = e[looped, 0]
        extent[0] = max(extent[0], float((centre[ln, 0] + w[ln] / 2.0).max() + loop_gap))
    if lr:
        centre = centre[:, ::-1].copy()
        extent = extent[::-1]
    task.report(1.0, "Layout done")
    return LayoutResult(
        positions=centre,
        sizes=given,
        layers=r.layer.copy(),
        routes=routes,
        width=float(extent[0]),
        height=float(extent[1]),
        crossings=int(crossings),
    )
