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
    j = p.edge_pair
    s, t = p.pair_src[j], p.pair_dst[j]
    span, fd = p.pair_span[j], p.pair_first_dummy[j]
    ls = p.layer[s]
    yc = (top + bottom) / 2.0
    next_x = np.where(span > 1, x[np.minimum(fd, p.count - 1)], x[t])
    prev_x = np.where(span > 1, x[np.minimum(fd + span - 2, p.count - 1)], x[s])
    off_out = _spread(s, next_x, width, spacing)
    off_in = _spread(t, prev_x, width, spacing)
    npts = 2 * span + 2
    route = np.repeat(np.arange(m), npts)
    start = np.concatenate([[0], np.cumsum(npts)[:-1]])
    k = np.arange(len(route)) - start[route]
    last = npts[route] - 1
    s_r, t_r = s[route], t[route]
    i = np.maximum(k - 2, 0) // 2
    d = np.minimum(fd[route] + i, p.count - 1)
    dl = ls[route] + 1 + i
    dl = np.minimum(dl, len(top) - 1)
    px = np.where(k <= 1, x[s_r] + off_out[route], np.where(k >= last - 1, x[t_r] + off_in[route], x[d]))
    py = np.select(
        [k == 0, k == 1, k == last, k == last - 1, (k & 1) == 0],
        [
            yc[p.layer[s_r]] + height[s_r] / 2.0,
            bottom[p.layer[s_r]],
            yc[p.layer[t_r]] - height[t_r] / 2.0,
            top[p.layer[t_r]],
            top[dl],
        ],
        bottom[dl],
    )
    # reversed edges were laid out target-to-source: flip their points back
    rv = reversed_[route]
    local = np.where(rv, last - k, k)
    pts = np.empty((len(route), 2))
    pts[start[route] + local, int(swap)] = px
    pts[start[route] + local, 1 - int(swap)] = py
    # drop zero-length steps (a node as tall as its band needs no stub)
    same = np.r_[False, np.all(pts[1:] == pts[:-1], axis=1)]
    same[start] = False
    keep = ~same
    counts = np.bincount(route[keep], minlength=m)
    return np.split(pts[keep], np.cumsum(counts)[:-1])


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
