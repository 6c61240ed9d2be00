"""The within-layer sort of the group-aware layout as one sort of a tree's siblings.

`SortContext.sort` orders every layer hierarchically: at each nesting level a node compares
with its siblings by the mean value of the group holding it there, or by its own value;
group borders sit at their group's ends. As one lexsort that takes two keys per level over
nodes and borders alike (ten passes over 660,000 items for a 100k-node transformer).

Here the same order comes from a tree per layer: a root per (layer, component), an inner
vertex per (layer, group) the group spans (its two borders are that vertex's first and last
slot) and the proper nodes as leaves. Only siblings need comparing (`SiblingRanks`: two
children per parent on average), and positions follow from the subtree sizes, which never
change between sweeps. Siblings compare exactly as in the lexsort: by key, then a group's
id against an own node's -1 (own nodes first), then by group id or by tie; deeper keys
only ever separate items inside one group.
"""

from __future__ import annotations

import numpy as np

from inspector.layout.nesting import Nesting
from inspector.layout.siblings import SiblingRanks, dense_ids, root_slots


class GroupTree:
    """Static part of the hierarchical sort: tree parents, subtree sizes and where each
    layer's roots start. `usable` is False when the groups break the tree's premises
    (a node outside its groups' layer spans, or a group across components); the caller
    then keeps the plain lexsort."""

    def __init__(self, nest: Nesting, layer: np.ndarray, comp: np.ndarray, member: np.ndarray,
                 layer_comp: np.ndarray, n: int) -> None:
        half = len(nest.border_layer) // 2
        el = nest.border_layer[:half]
        eg = nest.border_group[:half]
        spans = np.where(nest.bottom >= 0, nest.bottom - nest.top + 1, 0)
        start = np.cumsum(spans) - spans  # first inner vertex of each group
        top = nest.top
        self.n, self.half, self.eg = n, half, eg
        # roots: one per (layer, component), numbered in (layer, component) order
        inv, n_roots = dense_ids(layer_comp)
        gcomp = comp[n + np.arange(half)] if half else np.zeros(0, np.int64)
        self.usable = self._premises_hold(nest, layer[:n], member[:n], comp[:n], gcomp, eg)
        if not self.usable:
            return
        # parent ids: roots 0..R-1, inner vertices R + e
        node_m = member[:n]
        in_group = node_m >= 0
        mg = np.maximum(node_m, 0)
        node_parent = np.where(in_group, n_roots + start[mg] + layer[:n] - top[mg], inv[:n])
        pg = nest.parent[eg]
        ppg = np.maximum(pg, 0)
        ent_parent = np.where(pg >= 0, n_roots + start[ppg] + el - top[ppg], inv[n: n + half])
        self.parent = np.concatenate([node_parent, ent_parent]).astype(np.int64)
        # subtree sizes: two borders plus everything below, built from the deepest groups up
        size = np.concatenate([np.ones(n, np.int64), np.full(half, 2, np.int64)])
        np.add.at(size, n + node_parent[in_group] - n_roots, 1)
        edepth = nest.depth[eg]
        self.by_depth = [np.flatnonzero(edepth == d) for d in range(1, int(edepth.max(initial=0)) + 1)]
        for ents in self.by_depth[:0:-1]:  # depth >= 2 entities add into their parents
            np.add.at(size, n + ent_parent[ents] - n_roots, size[n + ents])
        self.size = size
        self.siblings = SiblingRanks(self.parent, size)
        self.root_base = root_slots(inv, n_roots, layer)
        self.n_roots = n_roots

    @staticmethod
    def _premises_hold(nest: Nesting, layer: np.ndarray, member: np.ndarray, comp: np.ndarray,
                       gcomp: np.ndarray, eg: np.ndarray) -> bool:
        """Every node's groups span its layer and share its component (merged components
        and dummy membership make this so; checked rather than assumed)."""
        inside = np.flatnonzero(member >= 0)
        rows = nest.anc[member[inside]]
        lay = layer[inside]
        group_comp = np.full(nest.count, -1, dtype=np.int64)
        if len(eg):
            group_comp[eg] = gcomp
        for d in range(rows.shape[1]):
            ok = rows[:, d] >= 0
            g = rows[ok, d]
            if np.any(nest.top[g] > lay[ok]) or np.any(nest.bottom[g] < lay[ok]):
                return False
            if np.any(group_comp[g] != comp[inside[ok]]):
                return False
        return True

    def ranks(self, value: np.ndarray, tie: np.ndarray, gkey: np.ndarray) -> np.ndarray:
        """Position within its layer of every node then border, for node values `value`,
        ties `tie` (all items) and group keys `gkey`."""
        n, half = self.n, self.half
        t = tie[:n].astype(np.int64)
        # own nodes before a group of equal key (-1 < id), then by tie among themselves
        second = np.concatenate([t - (int(t.max(initial=0)) + 1), self.eg])
        rel = self.siblings.before(np.concatenate([value, gkey[self.eg]]), second)
        # slot of each item's first child: a root's base, or just past a group's left border
        base = np.concatenate([self.root_base, np.zeros(half, np.int64)])
        start = np.zeros(half, dtype=np.int64)
        for ents in self.by_depth:
            start[ents] = base[self.parent[n + ents]] + rel[n + ents]
            base[self.n_roots + ents] = start[ents] + 1
        pos = base[self.parent[:n]] + rel[:n]
        return np.concatenate([pos, start, start + self.size[n:] - 1])
