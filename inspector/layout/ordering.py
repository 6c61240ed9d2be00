"""Dummy nodes on long edges and barycenter crossing reduction.

Everything here is vectorised over all layers at once. The sweeps update every other layer
in one step (odd layers from their fixed even neighbours, then the reverse), which keeps a
sweep at a few whole-graph passes even when a deep network has 50,000 layers. The
within-layer sort ranks sibling lists (`siblings`, `group_sort`) and the exact crossing
counts live in `crossings` (re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inspector.layout.crossings import CrossingCounter, count_crossings, grouped_inversions
from inspector.layout.group_sort import GroupTree
from inspector.layout.nesting import Nesting
from inspector.layout.siblings import SiblingRanks, dense_ids, root_slots
from inspector.progress import NO_TASK, Task

__all__ = ["Proper", "SortContext", "count_crossings", "grouped_inversions", "make_proper",
           "order_layers"]


@dataclass(frozen=True)
class Proper:
    """The graph with long edges split by dummy nodes: every segment spans one layer."""

    count: int  # real plus dummy nodes
    layer: np.ndarray  # (N,) layer of each node
    is_dummy: np.ndarray  # (N,) bool
    key: np.ndarray  # (N,) initial order key within a layer
    seg_u: np.ndarray  # (S,) upper end of each segment
    seg_v: np.ndarray  # (S,) lower end, layer[seg_v] == layer[seg_u] + 1
    pair_src: np.ndarray  # (P,) unique oriented edges (source, target)
    pair_dst: np.ndarray
    pair_first_dummy: np.ndarray  # (P,) first dummy of the source's chain
    pair_span: np.ndarray  # (P,) layer span; the pair uses span - 1 chain dummies
    edge_pair: np.ndarray  # (m,) which unique pair each input edge uses
    component: np.ndarray  # (N,) component of each node (dummies take their source's)
    dummy_owner: np.ndarray  # (N - n,) source node whose chain each dummy belongs to
    above: np.ndarray  # (N,) longest path from a source, in real nodes (alignment hint)
    below: np.ndarray  # (N,) longest path to a sink, in real nodes (alignment hint)


def make_proper(
    n: int,
    src: np.ndarray,
    dst: np.ndarray,
    layer: np.ndarray,
    node_time: np.ndarray,
    edge_time: np.ndarray,
    component: np.ndarray,
    above: np.ndarray | None = None,
    below: np.ndarray | None = None,
) -> Proper:
    """Merge duplicate edges and split long edges by dummy nodes, one per layer crossed.

    Long edges leaving the same node share one dummy chain (edge concentration), as deep
    as the longest of them: an attention mask feeding 48 transformer blocks costs one
    chain instead of 48 overlapping ones, and dummies stay linear in the graph's depth.
    """
    code = src.astype(np.int64) * max(n, 1) + dst
    uniq, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    psrc = src[first]
    pdst = dst[first]
    span = layer[pdst] - layer[psrc]
    long = span > 1
    maxspan = np.zeros(n, dtype=np.int64)
    np.maximum.at(maxspan, psrc[long], span[long])
    per_node = np.maximum(maxspan - 1, 0)
    base = (n + np.cumsum(per_node) - per_node).astype(np.int64)
    total = int(per_node.sum())
    owner = np.repeat(np.arange(n), per_node)
    dummy = np.arange(n, n + total, dtype=np.int64)
    step = dummy - base[owner] + 1  # 1 .. maxspan - 1
    first_time = np.full(n, np.inf)
    np.minimum.at(first_time, psrc[long], edge_time[first][long])
    # chain segments owner -> d1 -> d2 ..., then one last segment per pair into its target
    chain_u = np.where(step == 1, owner, dummy - 1)
    end_u = np.where(long, base[psrc] + span - 2, psrc)
    above = layer if above is None else above
    below = np.zeros(n, dtype=np.int64) if below is None else below
    # a chain dummy leads to every target further down the chain: the deepest one counts
    tail = np.full(total, -1, dtype=np.int64)
    np.maximum.at(tail, base[psrc[long]] + span[long] - 2 - n, below[pdst[long]])
    if total:
        rev = tail[::-1]
        chain_rev = (n - owner)[::-1]  # increasing along the reversed array
        big = int(below.max()) + 2
        tail = (np.maximum.accumulate(chain_rev * big + rev) - chain_rev * big)[::-1]
    return Proper(
        count=n + total,
        layer=np.concatenate([layer, layer[owner] + step]).astype(np.int64),
        is_dummy=np.concatenate([np.zeros(n, bool), np.ones(total, bool)]),
        key=np.concatenate([node_time, first_time[owner]]),
        seg_u=np.concatenate([chain_u, end_u]).astype(np.int64),
        seg_v=np.concatenate([dummy, pdst]).astype(np.int64),
        pair_src=psrc,
        pair_dst=pdst,
        pair_first_dummy=base[psrc],
        pair_span=span,
        edge_pair=inverse.reshape(-1).astype(np.int64),
        component=np.concatenate([component, component[owner]]),
        dummy_owner=owner,
        above=np.concatenate([above, above[owner]]),
        below=np.concatenate([below, tail]),
    )


class SortContext:
    """What the within-layer sort needs besides values: layers and components of the proper
    nodes plus group border nodes (appended after them), and the group tree.

    Without groups the key is (layer, component, value). With groups it is hierarchical:
    at each nesting level a node compares with its siblings by the mean value of the
    group holding it there (one key per group for all layers, so sibling groups keep one
    left-to-right order in every layer) or by its own value; borders take -inf/+inf at
    their group's level, so they end up at its ends.
    """

    def __init__(self, p: Proper, nest: Nesting | None = None, component: np.ndarray | None = None) -> None:
        comp = p.component if component is None else component
        self.nest = nest
        self.n = p.count
        if nest is None or nest.count == 0:
            self.nest = None
            self.layer, self.comp = p.layer, comp
            self.layer_comp = self.layer * (int(comp.max(initial=0)) + 1) + comp
            # each (layer, component) is one sibling list: ranks without a full lexsort
            root, n_roots = dense_ids(self.layer_comp)
            self.flat = SiblingRanks(root, np.ones(len(root), dtype=np.int64))
            self.flat_base = root_slots(root, n_roots, self.layer)[root]
            self.counts = np.bincount(self.layer)
            return
        real = np.flatnonzero(nest.member >= 0)
        # a group's component is its first member's (members share one after merging)
        gcomp = np.zeros(nest.count, dtype=np.int64)
        rows = nest.anc[nest.member[real]]
        for d in range(nest.anc.shape[1]):
            ok = rows[:, d] >= 0
            gcomp[rows[ok, d]] = comp[real[ok]]
        self.layer = np.concatenate([p.layer, nest.border_layer])
        self.comp = np.concatenate([comp, gcomp[nest.border_group]])
        self.member = np.concatenate([nest.member, nest.border_group])
        self.fixed = np.where(nest.border_right, np.inf, -np.inf)
        self.levels = nest.anc[self.member].T  # (D, M) group at each level, -1 beyond
        own = nest.depth[np.maximum(self.member, 0)] * (self.member >= 0)
        self.own_level = own  # the level where a node's own value counts
        # one sort key for (layer, component): fewer keys make lexsort faster
        self.layer_comp = self.layer * (int(self.comp.max(initial=0)) + 1) + self.comp
        # (group, node) pairs level by level in node order: one bincount sums every group's
        # members in the same order as a bincount per level did, so the means are the same
        lv = self.levels[:, : self.n]
        at = [np.flatnonzero(g >= 0) for g in lv]
        self.pair_node = np.concatenate(at).astype(np.int64)
        self.pair_group = np.concatenate([g[i] for g, i in zip(lv, at, strict=True)]).astype(np.int64)
        self.gcnt = np.bincount(self.pair_group, minlength=nest.count).astype(np.float64)
        self.tree = GroupTree(nest, self.layer, self.comp, self.member, self.layer_comp, self.n)
        self.counts = np.bincount(self.layer)  # items (nodes and borders) per layer

    @property
    def size(self) -> int:
        """Proper nodes plus border nodes."""
        return len(self.layer)

    def sort(self, value: np.ndarray, tie: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rank within its layer of every node for `value` (proper nodes only; borders are
        fixed) with ties broken by `tie` (all nodes); and the layer sizes."""
        if self.nest is None:
            return self.flat_base + self.flat.before(value, tie), self.counts
        gsum = np.bincount(self.pair_group, weights=value[self.pair_node], minlength=self.nest.count)
        gkey = gsum / np.maximum(self.gcnt, 1)
        if not self.tree.usable:
            return self.lexsort(value, tie, gkey)
        return self.tree.ranks(value, tie, gkey), self.counts

    def lexsort(self, value: np.ndarray, tie: np.ndarray, gkey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`sort` as one lexsort with two keys per nesting level (the definition of the
        order; `GroupTree.ranks` computes the same faster)."""
        val = np.concatenate([value, self.fixed])
        keys: list[np.ndarray] = [tie]
        depth = len(self.levels)
        for d in range(depth, -1, -1):
            g = self.levels[d] if d < depth else np.full(self.size, -1, dtype=np.int64)
            own = np.where(self.own_level == d, val, 0.0)
            keys.append(g)
            keys.append(np.where(g >= 0, gkey[g], own))
        return _ranks(self.layer, tuple(keys), self.layer_comp)


def _ranks(layer: np.ndarray, keys: tuple[np.ndarray, ...],
           primary: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each node within its layer when sorted by `keys` (last is primary); and the
    layer sizes. `primary` replaces `layer` as the first key when it orders layers the same
    way (layer * k + component: one key fewer makes lexsort faster)."""
    perm = np.lexsort((*keys, layer if primary is None else primary))
    sizes = np.bincount(layer)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pos = np.empty(len(layer), dtype=np.int64)
    pos[perm] = np.arange(len(layer)) - starts[layer[perm]]
    return pos, sizes


def _barycenters(p: Proper, pos: np.ndarray, sizes: np.ndarray, downward: bool, parity: int) -> np.ndarray:
    """Values for one half sweep: the layers of one parity take the barycenter of their
    fixed neighbours, every other node keeps its normalised position."""
    norm = (pos[: p.count] + 0.5) / sizes[p.layer]  # positions in (0, 1) so layers of any width mix
    tgt, nb = (p.seg_v, p.seg_u) if downward else (p.seg_u, p.seg_v)
    sel = (p.layer[tgt] & 1) == parity
    tgt, nb = tgt[sel], nb[sel]
    s = np.bincount(tgt, weights=norm[nb], minlength=p.count)
    c = np.bincount(tgt, minlength=p.count)
    moving = ((p.layer & 1) == parity) & (c > 0)
    return np.where(moving, s / np.maximum(c, 1), norm)


def _trees(p: Proper, limit: int) -> list[np.ndarray]:
    """Node sets of the in-trees (nodes reached through single-input nodes from one root)
    holding the most dummies: long side inputs such as an attention mask feeding every
    block, whose best place is often along one side of the whole graph."""
    if not p.is_dummy.any():
        return []
    indeg = np.bincount(p.seg_v, minlength=p.count)
    up = np.arange(p.count, dtype=np.int64)
    one = indeg[p.seg_v] == 1
    up[p.seg_v[one]] = p.seg_u[one]
    while True:
        nxt = up[up]
        if np.array_equal(nxt, up):
            break
        up = nxt
    dummies = np.bincount(up[p.is_dummy], minlength=p.count)
    best = np.argsort(-dummies, kind="stable")[:limit]
    best = best[dummies[best] >= 2]
    if len(best) == 0:
        return []
    order = np.argsort(up, kind="stable")
    starts = np.searchsorted(up[order], best)
    ends = np.searchsorted(up[order], best, side="right")
    return [order[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]


def order_layers(p: Proper, max_passes: int = 8, task: Task = NO_TASK,
                 ctx: SortContext | None = None, sift: int = 3) -> tuple[np.ndarray, int]:
    """Positions within layers with few crossings: DFS order, barycenter sweeps, then moving
    the `sift` in-trees with the most dummies to either side, keeping the order with the
    fewest crossings (counted exactly). Positions cover the border nodes of `ctx` too."""
    ctx = ctx or SortContext(p)
    tie = np.arange(ctx.size)
    # components side by side: never interleave their nodes within a layer
    pos, sizes = ctx.sort(p.key, tie)
    best = pos
    crossings = CrossingCounter(p.layer, p.seg_u, p.seg_v)
    best_x = crossings.count(pos)
    stale = 0
    for i in range(max_passes):
        if best_x == 0:
            break
        task.check()
        down = i % 2 == 0
        for parity in (1, 0) if down else (0, 1):
            pos, _ = ctx.sort(_barycenters(p, pos, sizes, down, parity), pos)
        x = crossings.count(pos)
        if x < best_x:
            best, best_x, stale = pos, x, 0
        else:
            stale += 1
            if stale >= 3:
                break
    for tree in _trees(p, sift) if best_x else []:
        task.check()
        norm = (best[: p.count] + 0.5) / sizes[p.layer]
        for side in (-2.0, 2.0):
            value = norm.copy()
            value[tree] += side  # the whole tree to the far left (right) of its siblings
            pos, _ = ctx.sort(value, best)
            x = crossings.count(pos)
            if x < best_x:
                best, best_x = pos, x
                norm = (best[: p.count] + 0.5) / sizes[p.layer]
        if best_x == 0:
            break
    return best, best_x
