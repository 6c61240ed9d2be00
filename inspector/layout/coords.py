"""Coordinate assignment in the manner of Brandes and Koepf: vertical alignment into
blocks that share one x (so chains and long edges are straight), then compaction of the
blocks left and right under the separation constraints, averaged.

The alignment is vectorised over all layer pairs; the compaction (a longest path over the
block graph) is in `compaction`.
"""

from __future__ import annotations

import numpy as np

from inspector.layout.compaction import compact
from inspector.layout.ordering import Proper, SortContext


def _first_per_group(group: np.ndarray, sort_keys: tuple[np.ndarray, ...]) -> np.ndarray:
    """Index of the best row per group, rows ranked by `sort_keys` (last key is primary)."""
    order = np.lexsort((*sort_keys, group))
    g = group[order]
    head = np.r_[True, g[1:] != g[:-1]]
    return order[head]


def _median_distance(owner: np.ndarray, other_pos: np.ndarray) -> np.ndarray:
    """For each row, how far `other_pos` ranks from the median among rows of the same owner."""
    order = np.lexsort((other_pos, owner))
    o = owner[order]
    starts = np.flatnonzero(np.r_[True, o[1:] != o[:-1]])
    sizes = np.diff(np.r_[starts, len(o)])
    idx = np.arange(len(o)) - np.repeat(starts, sizes)
    dist = np.empty(len(o), dtype=np.float64)
    dist[order] = np.abs(idx - (np.repeat(sizes, sizes) - 1) / 2.0)
    return dist


def _monotone(layer: np.ndarray, pos_u: np.ndarray, pos_v: np.ndarray, n: int) -> np.ndarray:
    """Mask keeping pairs that cross no earlier pair of their layer pair (greedy by pos_v)."""
    if len(layer) == 0:
        return np.zeros(0, dtype=bool)
    order = np.lexsort((pos_v, layer))
    ku = layer[order] * n + pos_u[order]
    prev_max = np.maximum.accumulate(np.r_[-1, ku[:-1]])
    keep = np.empty(len(layer), dtype=bool)
    keep[order] = ku > prev_max
    return keep


def _clear_of(kv: np.ndarray, ku: np.ndarray, cand: np.ndarray, layer_u: np.ndarray,
              pu: np.ndarray, pv: np.ndarray, n: int) -> np.ndarray:
    """Mask of `cand` pairs crossing no kept pair (kept pairs never cross each other), the
    kept pairs given as sorted keys layer * n + position at the lower (`kv`) and upper
    (`ku`) end: a pair is clear when as many kept pairs lie left of it at both ends."""
    if len(kv) == 0 or len(cand) == 0:
        return np.ones(len(cand), dtype=bool)
    base = np.searchsorted(kv, layer_u[cand] * n)
    k1 = np.searchsorted(kv, layer_u[cand] * n + pv[cand]) - base
    k2 = np.searchsorted(ku, layer_u[cand] * n + pu[cand]) - base
    return k1 == k2


def _merged(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sorted union of sorted `a` and `b` (timsort merges the two runs in linear time)."""
    return np.sort(np.concatenate([a, b]), kind="stable")


def _layer_order(layer: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Nodes sorted by (layer, pos) where `pos` ranks nodes within each layer: a scatter."""
    counts = np.bincount(layer)
    order = np.empty(len(layer), dtype=np.int64)
    order[(np.cumsum(counts) - counts)[layer] + pos] = np.arange(len(layer))
    return order


def _fixed_keys(layer: np.ndarray, pos: np.ndarray, fu: np.ndarray, fv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted keys layer(u) * n + pos(v) and layer(u) * n + pos(u) of the fixed segments,
    read off the (layer, pos) order instead of sorted (400,000 border segments at 100k)."""
    n = len(pos)
    if len(fu) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = _layer_order(layer, pos)
    up = np.full(n, -1, dtype=np.int64)
    up[fv] = fu
    has_up = np.zeros(n, dtype=bool)
    has_up[fu] = True
    sv = order[up[order] >= 0]
    su = order[has_up[order]]
    kv = layer[up[sv]] * n + pos[sv]
    ku = layer[su] * n + pos[su]
    if np.any(kv[1:] < kv[:-1]):  # a fixed segment spanning more than one layer
        kv = np.sort(kv)
    return kv, ku


def align(p: Proper, pos: np.ndarray, layer: np.ndarray | None = None,
          fixed: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Root node of each node's block: chains of aligned nodes in consecutive layers.

    Each node aligns with at most one upper and one lower neighbour. `fixed` segments
    (group borders, between extra nodes past the proper ones) always align; then
    dummy-dummy segments (inner parts of long edges), then the neighbour on the longest
    path (the main chain of a network stays straight and skip connections bend away from
    it); ties go to the median neighbour. Aligned segments never cross, so the block graph
    stays acyclic.
    """
    n = len(pos)
    extra = n - p.count
    layer = p.layer if layer is None else layer
    root = np.arange(n, dtype=np.int64)
    if len(p.seg_u) == 0 and fixed is None:
        return root
    u = p.seg_u.astype(np.int64)
    v = p.seg_v.astype(np.int64)
    # fixed segments join border nodes only, which have no other segments: they need no
    # choosing, only to block crossing candidates
    fu, fv = fixed if fixed is not None else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    is_dummy = np.concatenate([p.is_dummy, np.zeros(extra, bool)])
    prio = (is_dummy[u] & is_dummy[v]).astype(np.int64)
    pick = np.zeros(0, dtype=np.int64)
    if len(u):  # (a graph without edges may still have frames, hence fixed segments)
        dist_v = _median_distance(v, pos[u])
        dist_u = _median_distance(u, pos[v])
        # a join aligns with the upper neighbour on the longest path into it and a branch
        # with the lower one on the longest path out: both pick the same branch, so a
        # network's spine stays one straight block and repeated modules do not drift
        pick = _first_per_group(v, (pos[u], dist_v, -p.above[u], -prio))
        pick = pick[_first_per_group(u[pick], (pos[v[pick]], dist_u[pick], -p.below[v[pick]],
                                                -prio[pick]))]
    layer_u = layer[u]
    pu, pv = pos[u], pos[v]
    kv, ku = _fixed_keys(layer, pos, fu, fv)
    kept = [fu.astype(np.int64), fv.astype(np.int64)]
    for level in (1, 0):
        c = pick[prio[pick] == level]
        c = c[_clear_of(kv, ku, c, layer_u, pu, pv, n)]
        c = c[_monotone(layer_u[c], pu[c], pv[c], n)]
        kept[0] = np.concatenate([kept[0], u[c]])
        kept[1] = np.concatenate([kept[1], v[c]])
        if level:
            kv = _merged(kv, np.sort(layer_u[c] * n + pv[c]))
            ku = _merged(ku, np.sort(layer_u[c] * n + pu[c]))
    up = root.copy()
    up[kept[1]] = kept[0]
    root = up
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            return root
        root = nxt


def _gaps(p: Proper, a: np.ndarray, b: np.ndarray, node_gap: float, ctx: SortContext | None,
          margin: tuple[float, float]) -> np.ndarray:
    """Free space between neighbours a (left) and b (right) of one layer: node_gap, half of it
    next to a dummy, and a frame margin between a group's border and what it encloses."""
    count = p.count
    dummy = np.concatenate([p.is_dummy, np.zeros(len(ctx.layer) - count if ctx else 0, bool)])
    gap = np.where(dummy[a] | dummy[b], node_gap / 2.0, node_gap)
    if ctx is None or ctx.nest is None:
        return gap
    right = np.concatenate([np.zeros(count, bool), ctx.nest.border_right])
    border = np.arange(len(ctx.layer)) >= count
    a_left = border[a] & ~right[a]
    b_right = border[b] & right[b]
    return np.where(a_left, margin[0], np.where(b_right, margin[1], gap))


def assign_x(p: Proper, pos: np.ndarray, width: np.ndarray, node_gap: float,
             ctx: SortContext | None = None, margin: tuple[float, float] = (8.0, 8.0)) -> np.ndarray:
    """x centre of every node (real, dummy, then the border nodes of `ctx`'s groups);
    components side by side from x = 0; `margin` is the frames' (left, right) padding."""
    n = len(pos)
    if n == 0:
        return np.zeros(0)
    layer, comp = (ctx.layer, ctx.comp) if ctx is not None else (p.layer, p.component)
    fixed = None
    if ctx is not None and ctx.nest is not None:
        nest = ctx.nest
        i = np.flatnonzero((nest.border_group[1:] == nest.border_group[:-1])
                           & (nest.border_right[1:] == nest.border_right[:-1]))
        # borders of one group and side are stored top to bottom: one vertical line
        fixed = (p.count + i, p.count + i + 1)
        width = np.concatenate([width, np.zeros(n - p.count)])
    root = align(p, pos, layer, fixed)
    # blocks numbered by root in index order (what np.unique would give, without a sort)
    is_root = root == np.arange(n)
    bid = (np.cumsum(is_root) - 1)[root]
    n_blocks = int(is_root.sum())
    # positions are ranks within each layer, so (layer, pos) order is a scatter, not a sort
    order = _layer_order(layer, pos)
    a, b = order[:-1], order[1:]
    same = (layer[a] == layer[b]) & (comp[a] == comp[b])
    a, b = a[same], b[same]
    sep = (width[a] + width[b]) / 2.0 + _gaps(p, a, b, node_gap, ctx, margin)
    left, right = compact(n_blocks, bid[a], bid[b], sep)
    xl = left[bid]
    xr = right[bid]
    ncomp = int(comp.max()) + 1
    half = width / 2.0
    # left-align the right-compacted variant per component, then average the two
    lo_l = np.full(ncomp, np.inf)
    lo_r = np.full(ncomp, np.inf)
    np.minimum.at(lo_l, comp, xl - half)
    np.minimum.at(lo_r, comp, xr - half)
    x = (xl - lo_l[comp] + xr - lo_r[comp]) / 2.0
    x = _pull_long_edges(p, x, bid, n_blocks, bid[a], bid[b], sep, ctx)
    lo = np.full(ncomp, np.inf)
    hi = np.full(ncomp, -np.inf)
    np.minimum.at(lo, comp, x - half)
    np.maximum.at(hi, comp, x + half)
    widths = hi - lo
    offset = np.concatenate([[0.0], np.cumsum(widths + 2 * node_gap)[:-1]])
    return x - lo[comp] + offset[comp]


#: Rounds of `_pull_long_edges`: each lets a dummy move into room its neighbour just left.
PULL_ROUNDS = 32


def _pull_long_edges(p: Proper, x: np.ndarray, bid: np.ndarray, n_blocks: int,
                     left_b: np.ndarray, right_b: np.ndarray, sep: np.ndarray,
                     ctx: SortContext | None = None) -> np.ndarray:
    """Blocks made only of dummies (long edges) moved towards their endpoints, and frame
    borders pulled in towards their members, within the room their layer neighbours leave,
    so the order and hence the crossings stay as they are.

    Averaging the left and right compactions puts a lone dummy (and a frame's right border)
    halfway to the far edge of the widest layer: in YOLOv8n each SiLU's Conv->Mul edge,
    beside its short Sigmoid branch, ran about 400 px sideways and back.
    """
    count = p.count
    n = len(x)
    dummy = np.concatenate([p.is_dummy, np.zeros(n - count, bool)])
    movable = np.ones(n_blocks, dtype=bool)
    np.logical_and.at(movable, bid, dummy)
    # -1: a right border, which wants to go left; +1: a left border, which wants to go right
    pull = np.zeros(n_blocks)
    if ctx is not None and ctx.nest is not None and n > count:
        side = np.where(ctx.nest.border_right, -1.0, 1.0)
        pull[bid[count:]] = side
        movable[bid[count:]] = True
    if not movable.any():
        return x
    X = np.zeros(n_blocks)
    X[bid] = x  # one x per block
    u = p.seg_u.astype(np.int64)
    v = p.seg_v.astype(np.int64)
    bu, bv = bid[u], bid[v]
    cross = bu != bv
    bu, bv = bu[cross], bv[cross]
    pair_move = movable[left_b] & movable[right_b]
    for _ in range(PULL_ROUNDS):
        total = np.zeros(n_blocks)
        k = np.zeros(n_blocks)
        np.add.at(total, bu, X[bv])
        np.add.at(k, bu, 1.0)
        np.add.at(total, bv, X[bu])
        np.add.at(k, bv, 1.0)
        hi = np.full(n_blocks, np.inf)
        lo = np.full(n_blocks, -np.inf)
        # two movable neighbours share the room between them (each may take half of it)
        half = (X[left_b] + X[right_b] - sep) / 2.0
        np.minimum.at(hi, left_b, np.where(pair_move, half, X[right_b] - sep))
        np.maximum.at(lo, right_b, np.where(pair_move, half + sep, X[left_b] + sep))
        target = np.where(k > 0, total / np.maximum(k, 1.0), X)
        target = np.where(pull < 0, -np.inf, np.where(pull > 0, np.inf, target))
        want = movable & ((k > 0) | (pull != 0))
        new = np.clip(target, np.minimum(lo, X), np.maximum(hi, X))
        new = np.where(np.isfinite(new), new, X)
        if np.allclose(new[want], X[want]):
            break
        X = np.where(want, new, X)
    return X[bid]


def assign_y(layer: np.ndarray, height: np.ndarray, layer_gap: float,
             before: np.ndarray | None = None, after: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top and bottom of every layer's band: as tall as its tallest node, layer_gap apart,
    plus `before`/`after` extra room per layer (frame title bars and bottoms)."""
    nl = int(layer.max()) + 1 if len(layer) else 0
    band = np.zeros(nl)
    np.maximum.at(band, layer, height)
    pre = np.zeros(nl) if before is None else before
    post = np.zeros(nl) if after is None else after
    top = np.concatenate([[0.0], np.cumsum(band + layer_gap + post)[:-1]]) + np.cumsum(pre)
    return top, top + band
