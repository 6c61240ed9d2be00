"""Coordinate assignment in the manner of Brandes and Koepf: vertical alignment into
blocks that share one x (so chains and long edges are straight), then compaction of the
blocks left and right under the separation constraints, averaged.

The alignment is vectorised over all layer pairs; the compaction is a longest path over the
block graph, one Python pass over blocks in topological order.
"""

from __future__ import annotations

import numpy as np

from inspector.layout.ordering import Proper


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


def align(p: Proper, pos: np.ndarray) -> np.ndarray:
    """Root node of each node's block: chains of aligned nodes in consecutive layers.

    Each node aligns with at most one upper and one lower neighbour. Dummy-dummy segments
    (inner parts of long edges) win, then the neighbour on the longest path (the main chain
    of a network stays straight and skip connections bend away from it); ties go to the
    median neighbour. Aligned segments never cross, so the block graph stays acyclic.
    """
    u, v = p.seg_u, p.seg_v
    n = p.count
    root = np.arange(n, dtype=np.int64)
    if len(u) == 0:
        return root
    inner_seg = p.is_dummy[u] & p.is_dummy[v]
    prio = inner_seg.astype(np.int64)
    dist_v = _median_distance(v, pos[u])
    dist_u = _median_distance(u, pos[v])
    # a join aligns with the upper neighbour on the longest path into it and a branch with
    # the lower one on the longest path out: both pick the same branch, so a network's
    # spine stays one straight block and repeated modules do not drift sideways
    pick = _first_per_group(v, (pos[u], dist_v, -p.above[u], -prio))
    pick = pick[_first_per_group(u[pick], (pos[v[pick]], dist_u[pick], -p.below[v[pick]], -prio[pick]))]
    inner = prio[pick] == 1
    layer_u = p.layer[u]
    a = pick[inner]
    a = a[_monotone(layer_u[a], pos[u[a]], pos[v[a]], n)]
    b = pick[~inner]
    if len(a) and len(b):
        # drop non-inner pairs that cross a kept inner pair: compare ranks among inner pairs
        kv = np.sort(layer_u[a] * n + pos[v[a]])
        ku = np.sort(layer_u[a] * n + pos[u[a]])
        base = np.searchsorted(kv, layer_u[b] * n)
        k1 = np.searchsorted(kv, layer_u[b] * n + pos[v[b]]) - base
        k2 = np.searchsorted(ku, layer_u[b] * n + pos[u[b]]) - base
        b = b[k1 == k2]
    b = b[_monotone(layer_u[b], pos[u[b]], pos[v[b]], n)]
    chosen = np.concatenate([a, b])
    up = np.arange(n, dtype=np.int64)
    up[v[chosen]] = u[chosen]
    root = up
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            return root
        root = nxt


def _compact(nb: int, src: list[int], dst: list[int], sep: list[float]) -> tuple[list[float], list[float]]:
    """Leftmost and rightmost block positions under x[dst] - x[src] >= sep."""
    out: list[list[int]] = [[] for _ in range(nb)]
    indeg = [0] * nb
    for k, (a, b) in enumerate(zip(src, dst, strict=True)):
        out[a].append(k)
        indeg[b] += 1
    topo = [b for b in range(nb) if indeg[b] == 0]
    left = [0.0] * nb
    i = 0
    while i < len(topo):
        a = topo[i]
        i += 1
        xa = left[a]
        for k in out[a]:
            b = dst[k]
            if xa + sep[k] > left[b]:
                left[b] = xa + sep[k]
            indeg[b] -= 1
            if indeg[b] == 0:
                topo.append(b)
    if len(topo) < nb:  # only if the alignment were cyclic; keep every block placed
        seen = set(topo)
        topo.extend(b for b in range(nb) if b not in seen)
    right = [0.0] * nb
    for a in reversed(topo):
        for k in out[a]:
            b = dst[k]
            if right[b] - sep[k] < right[a]:
                right[a] = right[b] - sep[k]
    return left, right


def assign_x(p: Proper, pos: np.ndarray, width: np.ndarray, node_gap: float) -> np.ndarray:
    """x centre of every node (real and dummy); components side by side from x = 0."""
    n = p.count
    if n == 0:
        return np.zeros(0)
    root = align(p, pos)
    roots, bid = np.unique(root, return_inverse=True)
    order = np.lexsort((pos, p.layer))
    a, b = order[:-1], order[1:]
    same = (p.layer[a] == p.layer[b]) & (p.component[a] == p.component[b])
    a, b = a[same], b[same]
    gap = np.where(p.is_dummy[a] | p.is_dummy[b], node_gap / 2.0, node_gap)
    sep = (width[a] + width[b]) / 2.0 + gap
    left, right = _compact(len(roots), bid[a].tolist(), bid[b].tolist(), sep.tolist())
    xl = np.asarray(left)[bid]
    xr = np.asarray(right)[bid]
    ncomp = int(p.component.max()) + 1
    half = width / 2.0
    # left-align the right-compacted variant per component, then average the two
    lo_l = np.full(ncomp, np.inf)
    lo_r = np.full(ncomp, np.inf)
    np.minimum.at(lo_l, p.component, xl - half)
    np.minimum.at(lo_r, p.component, xr - half)
    x = (xl - lo_l[p.component] + xr - lo_r[p.component]) / 2.0
    lo = np.full(ncomp, np.inf)
    hi = np.full(ncomp, -np.inf)
    np.minimum.at(lo, p.component, x - half)
    np.maximum.at(hi, p.component, x + half)
    widths = hi - lo
    offset = np.concatenate([[0.0], np.cumsum(widths + 2 * node_gap)[:-1]])
    return x - lo[p.component] + offset[p.component]


def assign_y(layer: np.ndarray, height: np.ndarray, layer_gap: float) -> tuple[np.ndarray, np.ndarray]:
    """Top and bottom of every layer's band: as tall as its tallest node, layer_gap apart."""
    nl = int(layer.max()) + 1 if len(layer) else 0
    band = np.zeros(nl)
    np.maximum.at(band, layer, height)
    top = np.concatenate([[0.0], np.cumsum(band + layer_gap)[:-1]])
    return top, top + band
