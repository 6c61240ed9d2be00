"""Layered (Sugiyama-style) graph layout, vectorised with numpy for 100,000-node graphs.

Steps: reverse DFS back edges (cycles), longest-path layering pulled towards consumers,
dummy nodes on long edges, barycenter crossing reduction keeping the order with the
fewest exactly counted crossings, Brandes-Koepf-style coordinates (straight chains), and
routes through the dummies. "LR" is the "TB" layout with both axes swapped.

Optional nested groups (see `layered_layout`) are kept contiguous in every layer, in one
left-to-right order across layers, with their frames' x-range free of other nodes and
extra room between layers for frame title bars, so frames never overlap other nodes or
each other except by nesting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inspector.layout.coords import assign_x, assign_y
from inspector.layout.nesting import (
    Nesting,
    ancestors,
    build_nesting,
    check_groups,
    frame_boxes,
    merge_components,
    stacks,
)
from inspector.layout.ordering import Proper, SortContext, make_proper, order_layers
from inspector.layout.ranking import Ranking, rank_graph
from inspector.layout.routes import edge_routes, loop_routes
from inspector.progress import NO_TASK, Task


@dataclass(frozen=True)
class LayoutResult:
    """Node centres (y grows downward), the sizes given, layers, one route per input edge,
    the bounding box (top-left at 0, 0, frames included), the number of edge crossings
    left, and with groups one frame per group: (g, 4) x0, y0, x1, y1, NaN when empty."""

    positions: np.ndarray
    sizes: np.ndarray
    layers: np.ndarray
    routes: list[np.ndarray]
    width: float
    height: float
    crossings: int = field(default=0)
    frames: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))


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


def _frame_room(nest: Nesting, n_layers: int, before: float, after: float) -> tuple[np.ndarray, np.ndarray]:
    """Extra room above and below each layer for the frames that start or end there."""
    st, sb = stacks(nest)
    pre = np.zeros(n_layers)
    post = np.zeros(n_layers)
    used = nest.bottom >= 0
    np.maximum.at(pre, nest.top[used], st[used] * before)
    np.maximum.at(post, nest.bottom[used], sb[used] * after)
    return pre, post


def layered_layout(
    n: int,
    edges: np.ndarray,
    sizes: np.ndarray,
    direction: str = "TB",
    node_gap: float = 24.0,
    layer_gap: float = 48.0,
    task: Task = NO_TASK,
    groups: tuple[np.ndarray, np.ndarray] | None = None,
    group_pad: float = 8.0,
    group_title: float = 20.0,
) -> LayoutResult:
    """Lay out a directed graph in layers; edges may hold cycles, self-loops and duplicates.

    `groups=(group_of, parent)` nests nodes in frames: `group_of` (n,) is each node's
    innermost group id or -1, `parent` (g,) each group's enclosing group id or -1. A
    group's frame is its members' and child frames' bounding box grown by `group_pad` on
    the sides and bottom and `group_pad + group_title` on top (the title bar); no other
    node touches it and two frames are nested or disjoint. The frames come back in
    `LayoutResult.frames`.
    """
    e, given = _check(n, edges, sizes, direction)
    group_of = parent = np.zeros(0, dtype=np.int64)
    if groups is not None:
        group_of, parent = check_groups(n, groups)
    lr = direction == "LR"
    size = given[:, ::-1].copy() if lr else given  # work in TB: the flow axis is y
    w, h = size[:, 0], size[:, 1]
    loops = e[:, 0] == e[:, 1]
    plain = np.flatnonzero(~loops)
    task.report(0.0, "Ranking layers")
    r = rank_graph(n, e[plain, 0], e[plain, 1])
    task.report(0.25, "Ordering layers")
    p, nest = _proper_and_nesting(n, r, group_of, parent)
    ctx = SortContext(p, nest)
    pos, crossings = order_layers(p, task=task, ctx=ctx)
    task.report(0.6, "Placing nodes")
    # frame margins in TB working coordinates: an LR title bar lies on the working left
    title = group_pad + group_title
    side = (title, group_pad) if lr else (group_pad, group_pad)
    flow = (group_pad, group_pad) if lr else (title, group_pad)
    dummy_zero = np.zeros(p.count - n)
    x_all = assign_x(p, pos, np.concatenate([w, dummy_zero]), node_gap, ctx, side)
    x = x_all[: p.count]
    pre = post = None
    if nest is not None and len(p.layer):
        pre, post = _frame_room(nest, int(p.layer.max()) + 1, *flow)
    top, bottom = assign_y(p.layer, np.concatenate([h, dummy_zero]), layer_gap, pre, post)
    centre = np.column_stack([x[:n], (top + bottom)[r.layer] / 2.0]) if n else np.zeros((0, 2))
    frames = np.zeros((0, 4))
    if nest is not None:
        frames = _framed(nest, p, n, centre, size, x, (top + bottom) / 2.0, group_of,
                         (side[0], flow[0], side[1], flow[1]))
    lo, hi = _bounds(centre, size, x[n:], frames)
    if len(frames) and not np.all(np.isnan(frames)):
        frames = frames - np.concatenate([lo, lo])
    centre = centre - lo
    x, top, bottom = x - lo[0], top - lo[1], bottom - lo[1]
    extent = hi - lo
    task.report(0.8, "Routing edges")
    routes: list[np.ndarray] = [np.zeros((0, 2))] * len(e)
    plain_routes = edge_routes(p, x, top, bottom, w, h, r.reversed, node_gap / 2.0, swap=lr)
    for i, route in zip(plain.tolist(), plain_routes, strict=True):
        routes[i] = route
    extent[0] = max(extent[0], _route_self_loops(e, loops, centre, size, node_gap * 0.4, lr, routes))
    if lr:
        centre = centre[:, ::-1].copy()
        extent = extent[::-1]
        frames = frames[:, [1, 0, 3, 2]]
    task.report(1.0, "Layout done")
    return LayoutResult(
        positions=centre,
        sizes=given,
        layers=r.layer.copy(),
        routes=routes,
        width=float(extent[0]),
        height=float(extent[1]),
        crossings=int(crossings),
        frames=frames,
    )


def _framed(nest, p, n: int, centre: np.ndarray, size: np.ndarray, x: np.ndarray,
            layer_mid: np.ndarray, group_of: np.ndarray,
            margins: tuple[float, float, float, float]) -> np.ndarray:
    """The group frames around the nodes' boxes and the long edges' dummies: a long edge
    that enters a frame runs inside it (its dummies are members), so the frame encloses
    them too, or the edge ran along or past the frame's border."""
    rect = np.hstack([centre - size / 2.0, centre + size / 2.0])
    dx = x[n: p.count]
    dy = layer_mid[p.layer[n: p.count]]
    rect = np.vstack([rect, np.column_stack([dx, dy, dx, dy])])
    return frame_boxes(nest, rect, np.concatenate([group_of, nest.member[n: p.count]]), margins)


def _proper_and_nesting(n: int, r: Ranking, group_of: np.ndarray,
                        parent: np.ndarray) -> tuple[Proper, Nesting | None]:
    """The proper layered graph (long edges split by dummies) and, with groups, the nesting
    the orderer and the frames respect (None without groups)."""
    nested = len(parent) > 0
    component = merge_components(r.component, group_of, ancestors(parent)[1]) if nested \
        else r.component
    p = make_proper(
        n, r.src, r.dst, r.layer, r.node_time, r.edge_time, component, r.depth_above, r.depth_below
    )
    if not nested:
        return p, None
    return p, build_nesting(n, group_of, parent, p.layer, p.dummy_owner, p.pair_src, p.pair_dst,
                            p.pair_span)


def _bounds(centre: np.ndarray, size: np.ndarray, dummy_x: np.ndarray,
            frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) corners of what is drawn: the nodes, long edges' dummies (which may run
    outside the nodes' box) and the frames; self-loops only stick out rightward, added later."""
    lo = (centre - size / 2.0).min(axis=0) if len(centre) else np.zeros(2)
    hi = (centre + size / 2.0).max(axis=0) if len(centre) else np.zeros(2)
    if len(dummy_x):
        lo[0] = min(lo[0], float(dummy_x.min()))
        hi[0] = max(hi[0], float(dummy_x.max()))
    if len(frames) and not np.all(np.isnan(frames)):
        lo = np.minimum(lo, np.nanmin(frames[:, :2], axis=0))
        hi = np.maximum(hi, np.nanmax(frames[:, 2:], axis=0))
    return lo, hi


def _route_self_loops(e: np.ndarray, loops: np.ndarray, centre: np.ndarray, size: np.ndarray,
                      loop_gap: float, lr: bool, routes: list[np.ndarray]) -> float:
    """Fill in the self-loops' routes; the rightmost x they reach (0 without loops)."""
    looped = np.flatnonzero(loops)
    for i, route in zip(looped.tolist(), loop_routes(e[looped, 0], centre, size, loop_gap, lr), strict=True):
        routes[i] = route
    if not len(looped):
        return 0.0
    ln = e[looped, 0]
    return float((centre[ln, 0] + size[ln, 0] / 2.0).max() + loop_gap)
