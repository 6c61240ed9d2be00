"""Edge routes for the layered layout, in top-to-bottom coordinates.

A route leaves its source straight down to the bottom of the source's layer band, runs
through every dummy as a vertical stretch across that dummy's band, and enters its target
straight down from the top of the target's band. Every slanted piece therefore lies in a
gap between bands, where no node is, so routes never cross a node.
"""

from __future__ import annotations

import numpy as np

from inspector.layout.ordering import Proper


def _spread(owner: np.ndarray, toward: np.ndarray, width: np.ndarray, spacing: float) -> np.ndarray:
    """Offsets along a node border for route ends sharing it, ordered by where they head."""
    m = len(owner)
    if m == 0:
        return np.zeros(0)
    order = np.lexsort((np.arange(m), toward, owner))
    o = owner[order]
    starts = np.flatnonzero(np.r_[True, o[1:] != o[:-1]])
    sizes = np.diff(np.r_[starts, m])
    rank = np.arange(m) - np.repeat(starts, sizes)
    g = np.repeat(sizes, sizes)
    # never spread wider than 80% of the border, so ends stay on the node
    step = np.minimum(spacing, 0.8 * width[o] / np.maximum(g - 1, 1))
    off = np.empty(m)
    off[order] = (rank - (g - 1) / 2.0) * step
    return off


def _chain_points(p: Proper, x: np.ndarray, top: np.ndarray, bottom: np.ndarray):
    """The bends of every dummy chain: a dummy's band top where the chain arrives from a
    different x, its band bottom where it leaves to one. Straight runs need no points, so
    a route's size follows its bends, not its length in layers."""
    n = p.count - len(p.dummy_owner)
    own = p.dummy_owner
    d = np.arange(n, p.count)
    first = np.r_[True, own[1:] != own[:-1]] if len(own) else np.zeros(0, bool)
    last = np.r_[own[1:] != own[:-1], True] if len(own) else np.zeros(0, bool)
    xd = x[d]
    need_top = first | np.r_[True, xd[1:] != xd[:-1]]
    need_bot = last | np.r_[xd[:-1] != xd[1:], True]
    need = np.column_stack([need_top, need_bot]).ravel()
    before = np.cumsum(need) - need  # points before each (dummy, top/bottom) slot
    lay = p.layer[d]
    ys = np.column_stack([top[lay], bottom[lay]]).ravel()[need]
    xs = np.repeat(xd, 2)[need]
    return np.column_stack([xs, ys]), before, need_top


def edge_routes(
    p: Proper,
    x: np.ndarray,
    top: np.ndarray,
    bottom: np.ndarray,
    width: np.ndarray,
    height: np.ndarray,
    reversed_: np.ndarray,
    spacing: float,
    swap: bool = False,
) -> list[np.ndarray]:
    """One (k, 2) polyline per (non-self-loop) edge, from source border to target border;
    `swap` exchanges x and y (the LR layout)."""
    m = len(p.edge_pair)
    if m == 0:
        return []
    n = p.count - len(p.dummy_owner)
    j = p.edge_pair
    s, t = p.pair_src[j], p.pair_dst[j]
    span, fd = p.pair_span[j], p.pair_first_dummy[j]
    long = span > 1
    lastd = np.where(long, fd + span - 2, n)  # last chain dummy the edge uses
    yc = (top + bottom) / 2.0
    cap = max(p.count - 1, 0)
    next_x = np.where(long, x[np.minimum(fd, cap)], x[t])
    prev_x = np.where(long, x[np.minimum(lastd, cap)], x[s])
    off_out = _spread(s, next_x, width, spacing)
    off_in = _spread(t, prev_x, width, spacing)
    cp, before, need_top = _chain_points(p, x, top, bottom)
    if len(cp):
        slot0 = 2 * (np.minimum(fd, cap) - n)
        slotj = 2 * (np.minimum(lastd, cap) - n)
        cp_start = np.where(long, before[np.clip(slot0, 0, len(before) - 1)], 0)
        cp_len = np.where(long, before[np.clip(slotj, 0, len(before) - 1)] - cp_start, 0)
        cp_len = cp_len + np.where(long, need_top[np.clip(lastd - n, 0, len(need_top) - 1)], 0)
    else:
        cp_start = cp_len = np.zeros(m, dtype=np.int64)
    mid = np.where(long, cp_len + 1, 0)  # chain bends plus the last dummy's band bottom
    npts = 4 + mid
    route = np.repeat(np.arange(m), npts)
    start = np.cumsum(npts) - npts
    k = np.arange(len(route)) - start[route]
    last = npts[route] - 1
    s_r, t_r = s[route], t[route]
    ci = np.clip(cp_start[route] + k - 2, 0, max(len(cp) - 1, 0))
    cpx = cp[ci, 0] if len(cp) else np.zeros(len(route))
    cpy = cp[ci, 1] if len(cp) else np.zeros(len(route))
    dj = np.minimum(lastd[route], cap)
    is_jbot = (k == 2 + cp_len[route]) & long[route]
    ls, lt = p.layer[s_r], p.layer[t_r]
    px = np.select(
        [k <= 1, k >= last - 1, is_jbot],
        [x[s_r] + off_out[route], x[t_r] + off_in[route], x[dj]],
        cpx,
    )
    py = np.select(
        [k == 0, k == 1, k == last, k == last - 1, is_jbot],
        [
            yc[ls] + height[s_r] / 2.0,
            bottom[ls],
            yc[lt] - height[t_r] / 2.0,
            top[lt],
            bottom[np.minimum(p.layer[dj], len(bottom) - 1)],
        ],
        cpy,
    )
    # reversed edges were laid out target-to-source: flip their points back
    local = np.where(reversed_[route], last - k, k)
    pts = np.empty((len(route), 2))
    pts[start[route] + local, int(swap)] = px
    pts[start[route] + local, 1 - int(swap)] = py
    # drop zero-length steps (a node as tall as its band needs no stub)
    same = (pts[1:, 0] == pts[:-1, 0]) & (pts[1:, 1] == pts[:-1, 1])
    keep = np.r_[True, ~same]
    keep[start] = True
    counts = np.bincount(route[keep], minlength=m)
    kept = pts[keep]
    ends = np.cumsum(counts).tolist()
    # plain slicing: np.split costs several microseconds per piece
    return [kept[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]


def loop_routes(
    nodes: np.ndarray, pos: np.ndarray, size: np.ndarray, gap: float, swap: bool = False
) -> list[np.ndarray]:
    """A small loop out of and back into the right side of each node (self-loops), in TB
    coordinates; `swap` exchanges x and y (the LR layout)."""
    out = []
    for v in nodes.tolist():
        cx, cy = pos[v]
        w, h = size[v]
        xr, q = cx + w / 2.0, h / 4.0
        pts = np.array([[xr, cy - q], [xr + gap, cy - q], [xr + gap, cy + q], [xr, cy + q]])
        out.append(pts[:, ::-1].copy() if swap else pts)
    return out
