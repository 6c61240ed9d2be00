"""Ordering siblings without sorting everything: the slot of each item among its parent's
children when they are sorted by (key, second).

The ordering sweeps sort tens of thousands of tiny sibling lists (a parent in a network's
layer tree has two children on average, rarely more than eight): comparing every pair of
siblings at once, one padded matrix per size class, is a few vectorised comparisons where
a lexsort makes three full passes over every item. Larger lists (wide layers) still go
through a lexsort of their own items. Siblings are compared by (key, second, index), a
strict total order, so counting the siblings before an item gives exactly its place in the
stably sorted list; a NaN key sends everything to the lexsort.
"""

from __future__ import annotations

import numpy as np

WIDTHS = (2, 4, 8)  # sibling lists up to 8 long are compared pairwise


def dense_ids(code: np.ndarray) -> tuple[np.ndarray, int]:
    """Ids 0.. of the distinct values of `code` in increasing order, for every element (as
    np.unique's inverse), by a table when the values are dense enough, else by sorting."""
    if len(code) == 0:
        return np.zeros(0, dtype=np.int64), 0
    top = int(code.max()) + 1
    if code.min() < 0 or top > 4 * len(code) + 1024:
        values, inv = np.unique(code, return_inverse=True)
        return inv.reshape(-1).astype(np.int64), len(values)
    present = np.zeros(top, dtype=bool)
    present[code] = True
    return (np.cumsum(present) - 1)[code], int(present.sum())


def root_slots(root: np.ndarray, n_roots: int, layer: np.ndarray) -> np.ndarray:
    """First slot within its layer of each root (roots numbered in (layer, component)
    order; `root` and `layer` per item): the sizes of the earlier roots of that layer."""
    size = np.bincount(root, minlength=n_roots)
    root_layer = np.zeros(n_roots, dtype=np.int64)
    root_layer[root] = layer
    ends = np.cumsum(size)
    first = np.r_[True, root_layer[1:] != root_layer[:-1]] if n_roots else np.zeros(0, bool)
    return ends - size - np.maximum.accumulate(np.where(first, ends - size, 0))


class SiblingRanks:
    """For fixed `parent` ids and item `size`s: per call, the total size of the siblings
    that sort before each item by (key, second)."""

    def __init__(self, parent: np.ndarray, size: np.ndarray) -> None:
        self.parent = parent
        self.size = size
        count = np.bincount(parent)[parent] if len(parent) else np.zeros(0, np.int64)
        by_parent = np.argsort(parent, kind="stable")
        self.mats: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        lo = 1
        for w in WIDTHS:
            items = by_parent[(count[by_parent] > lo) & (count[by_parent] <= w)]
            lo = w
            if len(items) == 0:
                continue
            par = parent[items]
            head = np.r_[True, par[1:] != par[:-1]]
            row = np.cumsum(head) - 1
            col = np.arange(len(items)) - np.flatnonzero(head)[row]
            # column-major: one sibling slot per row, contiguous for the pairwise passes
            mat = np.full((w, int(row[-1]) + 1), -1, dtype=np.int64)
            mat[col, row] = items
            valid = mat >= 0
            weight = np.where(valid, size[np.maximum(mat, 0)], 0)
            self.mats.append((mat, valid, weight))
        self.wide = np.flatnonzero(count > WIDTHS[-1])

    def before(self, key: np.ndarray, second: np.ndarray) -> np.ndarray:
        """(items,) int64: summed size of the siblings ahead of each item."""
        out = np.zeros(len(self.parent), dtype=np.int64)
        if np.isnan(key).any():
            _sorted_before(out, np.flatnonzero(np.bincount(self.parent)[self.parent] > 1),
                           self.parent, self.size, key, second)
            return out
        for mat, valid, weight in self.mats:
            k = key[mat]
            s = second[mat]
            total = np.zeros(mat.shape, dtype=np.int64)
            for a in range(len(mat)):
                for b in range(a + 1, len(mat)):
                    # a goes before b (columns are in index order, so a full tie keeps
                    # it first, as a stable sort does); a pad (weight 0) moves nobody
                    ahead = (k[a] < k[b]) | ((k[a] == k[b]) & (s[a] <= s[b]))
                    total[b] += np.where(ahead, weight[a], 0)
                    total[a] += np.where(ahead, 0, weight[b])
            out[mat[valid]] = total[valid]
        if len(self.wide):
            _sorted_before(out, self.wide, self.parent, self.size, key, second)
        return out


def _sorted_before(out: np.ndarray, items: np.ndarray, parent: np.ndarray, size: np.ndarray,
                   key: np.ndarray, second: np.ndarray) -> None:
    """`SiblingRanks.before` for `items` (whole sibling lists) by one lexsort."""
    perm = items[np.lexsort((second[items], key[items], parent[items]))]
    sz = size[perm]
    excl = np.cumsum(sz) - sz
    par = parent[perm]
    head = np.r_[True, par[1:] != par[:-1]] if len(par) else np.zeros(0, bool)
    out[perm] = excl - np.maximum.accumulate(np.where(head, excl, 0))
