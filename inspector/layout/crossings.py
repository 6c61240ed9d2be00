"""Exact counts of edge crossings between adjacent layers.

A crossing is a pair of segments between the same two layers whose upper ends and lower
ends lie in opposite orders. `count_crossings` sorts the segments and counts inversions;
`CrossingCounter` serves the ordering sweeps, which count the same segments again and
again: which segments share a layer pair never changes, and a network's layer pairs hold
a few segments each, so for pairs of up to eight segments it compares every pair of
segments directly (no sort at all) and sorts only the segments of wider layer pairs.
"""

from __future__ import annotations

import numpy as np

SMALL = (2, 4, 8)  # layer pairs of up to 8 segments: every pair compared


def _merge_inversions(mat: np.ndarray) -> int:
    """Inversions inside each row of `mat` (rows of a power-of-two width), by merge sort."""
    rows, width = mat.shape
    big = int(mat.max()) + 1
    x = mat
    total = 0
    w = 1
    while w < width:
        blocks = x.reshape(-1, 2 * w)
        nb = blocks.shape[0]
        off = (np.arange(nb, dtype=np.int64) * big)[:, None]
        left = (blocks[:, :w] + off).ravel()
        right = (blocks[:, w:] + off).ravel()
        # left halves are sorted, so one searchsorted counts "left <= v" for every right v
        le = np.searchsorted(left, right, side="right") - np.repeat(np.arange(nb) * w, w)
        total += int((w - le).sum())
        x = np.sort(blocks, axis=1, kind="stable")
        w *= 2
    return total


def _pair_inversions(mat: np.ndarray) -> int:
    """Inversions inside each row of `mat`, comparing every pair of columns."""
    i, j = np.triu_indices(mat.shape[1], 1)
    return int(np.count_nonzero(mat[:, i] > mat[:, j]))


def grouped_inversions(group: np.ndarray, value: np.ndarray) -> int:
    """Pairs i < j with group[i] == group[j] and value[i] > value[j] (input sorted by group).

    Groups are padded to the next power of two in size classes, so the cost follows the
    largest group, not the whole array: most layer pairs of a network hold a few edges.
    """
    if len(group) < 2:
        return 0
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    sizes = np.diff(np.r_[starts, len(group)])
    within = np.arange(len(group)) - np.repeat(starts, sizes)
    gid = np.repeat(np.arange(len(starts)), sizes)
    cls = np.ceil(np.log2(np.maximum(sizes, 1))).astype(np.int64)
    total = 0
    for c in np.unique(cls).tolist():
        if c == 0:
            continue
        sel_groups = np.flatnonzero(cls == c)
        row_of_group = np.full(len(starts), -1, dtype=np.int64)
        row_of_group[sel_groups] = np.arange(len(sel_groups))
        mask = row_of_group[gid] >= 0
        vals = value[mask]
        pad = int(vals.max()) + 1
        mat = np.full((len(sel_groups), 1 << c), pad, dtype=np.int64)
        mat[row_of_group[gid[mask]], within[mask]] = vals
        # narrow rows (a network's layer pairs hold a few segments): all pairs compared at
        # once beats log2(width) merge rounds
        total += _pair_inversions(mat) if c <= 3 else _merge_inversions(mat)
    return total


def count_crossings(layer: np.ndarray, pos: np.ndarray, seg_u: np.ndarray, seg_v: np.ndarray) -> int:
    """Exact number of segment crossings between adjacent layers for the order `pos`."""
    if len(seg_u) < 2:
        return 0
    lu = layer[seg_u]
    pu = pos[seg_u]
    pv = pos[seg_v]
    order = np.lexsort((pv, pu, lu))
    # sorted by (layer, upper position, lower position): crossings are the inversions of
    # the lower positions within each layer pair; equal upper ends never count
    return grouped_inversions(lu[order], pv[order])


class CrossingCounter:
    """`count_crossings` for fixed segments and changing positions."""

    def __init__(self, layer: np.ndarray, seg_u: np.ndarray, seg_v: np.ndarray) -> None:
        self.seg_u, self.seg_v = seg_u, seg_v
        lu = layer[seg_u]
        by_pair = np.argsort(lu, kind="stable")
        size = np.bincount(lu)[lu] if len(lu) else np.zeros(0, np.int64)
        self.mats: list[np.ndarray] = []
        lo = 1
        for w in SMALL:
            items = by_pair[(size[by_pair] > lo) & (size[by_pair] <= w)]
            lo = w
            if len(items) == 0:
                continue
            grp = lu[items]
            head = np.r_[True, grp[1:] != grp[:-1]]
            row = np.cumsum(head) - 1
            col = np.arange(len(items)) - np.flatnonzero(head)[row]
            mat = np.full((w, int(row[-1]) + 1), -1, dtype=np.int64)  # one column per pair
            mat[col, row] = items
            self.mats.append(mat)
        self.wide = by_pair[size[by_pair] > SMALL[-1]]  # stays sorted by layer pair
        self.wide_layer = lu[self.wide]

    def count(self, pos: np.ndarray) -> int:
        """Crossings for the order `pos`."""
        total = 0
        pu_all = pos[self.seg_u]
        pv_all = pos[self.seg_v]
        for mat in self.mats:
            pad = mat < 0
            pu = np.where(pad, -1, pu_all[mat])
            pv = np.where(pad, -1, pv_all[mat])
            for a in range(len(mat)):
                for b in range(a + 1, len(mat)):
                    # opposite strict orders at the two ends; a pad (-1, -1) is never
                    # strictly on both sides of anything
                    d1 = pu[a] - pu[b]
                    d2 = pv[a] - pv[b]
                    total += int(np.count_nonzero(((d1 < 0) & (d2 > 0)) | ((d1 > 0) & (d2 < 0))))
        if len(self.wide):
            pu, pv = pu_all[self.wide], pv_all[self.wide]
            order = np.lexsort((pv, pu, self.wide_layer))
            total += grouped_inversions(self.wide_layer[order], pv[order])
        return total
