"""Nested groups (expanded name scopes, nested models) for the layered layout.

A group's frame is the bounding box of its members plus margins. To keep other nodes out
of it, every group gets a left and a right border node in each layer it spans: the ordering
keeps a group's members contiguous between its borders, and coordinate assignment keeps
each border on one vertical line, so the frame's x-range holds no non-member in any layer.

Groups are given as two integer arrays: `group_of` (n,), the innermost group of each node
or -1, and `parent` (g,), the enclosing group of each group or -1. All arrays are indexed
by group id; an `anc` row for "no group" is appended so that `anc[-1]` is all -1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Nesting:
    """The group tree, each proper node's innermost group and each group's layer span."""

    parent: np.ndarray  # (G,) enclosing group or -1
    depth: np.ndarray  # (G,) 1 for a top-level group
    anc: np.ndarray  # (G + 1, D) ancestor at depth d + 1 (the group itself last), -1 beyond
    member: np.ndarray  # (N,) innermost group of every proper node (dummies included), -1 none
    top: np.ndarray  # (G,) first layer holding a member (nested members included)
    bottom: np.ndarray  # (G,) last such layer; -1 for a group without members
    border_layer: np.ndarray  # (B,) layer of each border node (left and right per layer)
    border_group: np.ndarray  # (B,)
    border_right: np.ndarray  # (B,) bool: right border (else left)

    @property
    def count(self) -> int:
        """Number of groups."""
        return len(self.parent)


def check_groups(n: int, groups: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Validated (group_of, parent) int64 arrays; ValueError on misuse (bad shape, range, cycle)."""
    try:
        group_of, parent = groups
    except (TypeError, ValueError):
        raise ValueError("groups must be a pair (group_of, parent) of integer arrays") from None
    g_of = np.asarray(group_of)
    par = np.asarray(parent)
    if g_of.size == 0:
        g_of = np.zeros(0, dtype=np.int64)
    if par.size == 0:
        par = np.zeros(0, dtype=np.int64)
    for name, a in (("group_of", g_of), ("parent", par)):
        if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"groups: {name} must be a 1-d integer array")
    if len(g_of) != n:
        raise ValueError(f"groups: group_of must have length {n}, got {len(g_of)}")
    count = len(par)
    if (len(g_of) and (g_of.min() < -1 or g_of.max() >= count)) or (
        count and (par.min() < -1 or par.max() >= count)
    ):
        raise ValueError("groups: group id out of range")
    return g_of.astype(np.int64), par.astype(np.int64)


def ancestors(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(depth, anc) of the group tree; ValueError when `parent` has a cycle."""
    count = len(parent)
    ups = [np.arange(count, dtype=np.int64)]
    while True:
        cur = ups[-1]
        nxt = np.where(cur >= 0, parent[np.maximum(cur, 0)], -1) if count else cur
        if not np.any(nxt >= 0):
            break
        if len(ups) > count:
            raise ValueError("groups: parent links form a cycle")
        ups.append(nxt)
    stack = np.array(ups).reshape(len(ups), count)  # stack[k, g]: k-th ancestor of g
    depth = (stack >= 0).sum(axis=0).astype(np.int64)
    width = max(len(ups), 1)
    anc = np.full((count + 1, width), -1, dtype=np.int64)
    for k in range(len(ups)):
        d = depth - 1 - k  # the k-th ancestor sits at depth index depth - 1 - k
        ok = d >= 0
        anc[np.flatnonzero(ok), d[ok]] = stack[k, ok]
    return depth, anc


def lca(anc: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Deepest common group of group ids `a` and `b` (-1 allowed), elementwise."""
    ra, rb = anc[a], anc[b]
    same = (ra == rb) & (ra >= 0)
    k = same.sum(axis=1)  # ancestors agree on a prefix
    return np.where(k > 0, ra[np.arange(len(a)), np.maximum(k - 1, 0)], -1)


def _set_lca(anc: np.ndarray, key: np.ndarray, g: np.ndarray, size: int) -> np.ndarray:
    """Deepest group containing every g[i] with the same key, for keys 0..size-1 (-1 none)."""
    out = np.full(size, -1, dtype=np.int64)
    if len(key) == 0:
        return out
    rows = anc[g]
    for d in range(anc.shape[1]):
        lo = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
        hi = np.full(size, -2, dtype=np.int64)
        np.minimum.at(lo, key, rows[:, d])
        np.maximum.at(hi, key, rows[:, d])
        ok = (lo == hi) & (lo >= 0)
        if d > 0:
            ok &= out >= 0  # common ancestors form a prefix
        out = np.where(ok, lo, out)
    return out


def build_nesting(
    n: int,
    group_of: np.ndarray,
    parent: np.ndarray,
    layer: np.ndarray,
    dummy_owner: np.ndarray,
    pair_src: np.ndarray,
    pair_dst: np.ndarray,
    pair_span: np.ndarray,
) -> Nesting:
    """Spans, border nodes and dummy membership for the proper graph of `make_proper`.

    A long edge's dummies belong to the deepest group holding its source and all the targets
    of its (shared) chain; where every target lies in a deeper group that already spans the
    dummy's layer, the dummy joins that group, so an edge entering a frame runs inside it.
    """
    depth, anc = ancestors(parent)
    count = len(parent)
    real_layer = layer[:n]
    top = np.full(count, np.iinfo(np.int64).max, dtype=np.int64)
    bottom = np.full(count, -1, dtype=np.int64)
    inside = group_of >= 0
    rows = anc[group_of[inside]]
    for d in range(anc.shape[1]):
        ok = rows[:, d] >= 0
        np.minimum.at(top, rows[ok, d], real_layer[inside][ok])
        np.maximum.at(bottom, rows[ok, d], real_layer[inside][ok])
    member = np.concatenate([group_of, np.full(len(dummy_owner), -1, dtype=np.int64)])
    long = pair_span > 1
    if len(dummy_owner) and np.any(long):
        owners, key = np.unique(pair_src[long], return_inverse=True)
        tg = _set_lca(anc, key, group_of[pair_dst[long]], len(owners))
        both = lca(anc, tg, group_of[owners])
        slot = np.searchsorted(owners, dummy_owner)
        dl = layer[n:]
        chosen = both[slot]
        # the deepest target-side group that has started by the dummy's layer
        trow = anc[tg[slot]]
        for d in range(anc.shape[1]):
            g = trow[:, d]
            ok = (g >= 0) & (top[np.maximum(g, 0)] <= dl) & (depth[np.maximum(g, 0)] > _depth_of(depth, chosen))
            chosen = np.where(ok, g, chosen)
        member[n:] = chosen
    spans = np.flatnonzero(bottom >= 0)
    per = (bottom[spans] - top[spans] + 1) if len(spans) else np.zeros(0, dtype=np.int64)
    bg = np.repeat(spans, per)
    bl = np.arange(len(bg)) - np.repeat(np.cumsum(per) - per, per) + np.repeat(top[spans], per)
    return Nesting(
        parent=parent,
        depth=depth,
        anc=anc,
        member=member,
        top=top,
        bottom=bottom,
        border_layer=np.concatenate([bl, bl]).astype(np.int64),
        border_group=np.concatenate([bg, bg]).astype(np.int64),
        border_right=np.concatenate([np.zeros(len(bg), bool), np.ones(len(bg), bool)]),
    )


def _depth_of(depth: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Depth of group ids `g`, 0 for -1."""
    return np.where(g >= 0, depth[np.maximum(g, 0)], 0) if len(depth) else np.zeros(len(g), np.int64)


def merge_components(component: np.ndarray, group_of: np.ndarray, anc: np.ndarray) -> np.ndarray:
    """Component labels where components sharing a top-level group become one (a frame
    cannot enclose two components laid side by side with others between them)."""
    inside = np.flatnonzero(group_of >= 0)
    if len(inside) == 0:
        return component
    ncomp = int(component.max()) + 1
    head = list(range(ncomp))

    def find(a: int) -> int:
        while head[a] != a:
            head[a] = head[head[a]]
            a = head[a]
        return a

    first: dict[int, int] = {}
    code = np.unique(anc[group_of[inside], 0] * ncomp + component[inside])
    for g, c in zip((code // ncomp).tolist(), (code % ncomp).tolist(), strict=True):
        if g in first:
            a, b = find(first[g]), find(c)
            if a != b:
                head[max(a, b)] = min(a, b)
        else:
            first[g] = c
    root = np.array([find(c) for c in range(ncomp)], dtype=np.int64)
    _, label = np.unique(root, return_inverse=True)
    return label.astype(np.int64)[component]


def stacks(nest: Nesting) -> tuple[np.ndarray, np.ndarray]:
    """How many frame title bands pile up above each group's top layer and how many frame
    bottoms below its bottom layer (itself plus nested groups starting or ending there)."""
    st = np.ones(nest.count, dtype=np.int64)
    sb = np.ones(nest.count, dtype=np.int64)
    for d in range(int(nest.depth.max(initial=0)), 1, -1):
        c = np.flatnonzero((nest.depth == d) & (nest.bottom >= 0))
        p = nest.parent[c]
        at_top = nest.top[c] == nest.top[p]
        at_bot = nest.bottom[c] == nest.bottom[p]
        np.maximum.at(st, p[at_top], st[c[at_top]] + 1)
        np.maximum.at(sb, p[at_bot], sb[c[at_bot]] + 1)
    return st, sb


def frame_boxes(nest: Nesting, rects: np.ndarray, group_of: np.ndarray, margin: tuple[float, ...]) -> np.ndarray:
    """(G, 4) frames x0, y0, x1, y1: members' and child frames' bounding box plus
    `margin` (left, top, right, bottom); NaN rows for groups without members."""
    count = nest.count
    box = np.column_stack([np.full((count, 2), np.inf), np.full((count, 2), -np.inf)])
    inside = np.flatnonzero(group_of >= 0)
    g = group_of[inside]
    for k in range(4):
        op = np.minimum if k < 2 else np.maximum
        op.at(box[:, k], g, rects[inside, k])
    pad = np.array([-margin[0], -margin[1], margin[2], margin[3]])
    for d in range(int(nest.depth.max(initial=0)), 0, -1):
        at = np.flatnonzero((nest.depth == d) & (nest.bottom >= 0))
        box[at] += pad
        if d > 1:
            p = nest.parent[at]
            for k in range(4):
                op = np.minimum if k < 2 else np.maximum
                op.at(box[:, k], p, box[at, k])
    box[nest.bottom < 0] = np.nan
    return box
