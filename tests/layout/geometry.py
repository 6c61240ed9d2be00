"""Independent geometric checks of a layout result: overlaps, route ends on borders,
routes clear of other nodes, exact crossing counts from the drawn segments."""

from __future__ import annotations

import numpy as np

EPS = 1e-6


def rects(res) -> np.ndarray:
    """(n, 4) x0, y0, x1, y1 of every node."""
    half = res.sizes / 2.0
    return np.hstack([res.positions - half, res.positions + half])


def overlapping_pairs(r: np.ndarray, gap: float = 0.0) -> list[tuple[int, int]]:
    """Pairs of rectangles that overlap (or come closer than `gap` horizontally while
    sharing a vertical range)."""
    ox = (r[:, None, 0] < r[None, :, 2] + gap - EPS) & (r[None, :, 0] < r[:, None, 2] + gap - EPS)
    oy = (r[:, None, 1] < r[None, :, 3] - EPS) & (r[None, :, 1] < r[:, None, 3] - EPS)
    both = np.triu(ox & oy, 1)
    return [tuple(p) for p in np.argwhere(both).tolist()]


def on_border(pt: np.ndarray, r: np.ndarray, tol: float = 1e-6) -> bool:
    """Whether `pt` lies on the boundary of rectangle `r`."""
    x, y = pt
    inside = r[0] - tol <= x <= r[2] + tol and r[1] - tol <= y <= r[3] + tol
    edge = min(abs(x - r[0]), abs(x - r[2]), abs(y - r[1]), abs(y - r[3])) <= tol
    return inside and edge


def segment_hits(p0: np.ndarray, p1: np.ndarray, r: np.ndarray, shrink: float = 1e-3) -> np.ndarray:
    """Mask of rectangles (rows of `r`) whose interior the segment p0-p1 enters
    (Liang-Barsky clipping against each rectangle shrunk by `shrink`)."""
    x0, y0, x1, y1 = (r[:, i] + (shrink if i < 2 else -shrink) for i in range(4))
    d = p1 - p0
    t0 = np.zeros(len(r))
    t1 = np.ones(len(r))
    ok = (x1 > x0) & (y1 > y0)
    for p, q in ((-d[0], p0[0] - x0), (d[0], x1 - p0[0]), (-d[1], p0[1] - y0), (d[1], y1 - p0[1])):
        if p == 0:
            ok &= q > 0
            continue
        t = q / p
        if p < 0:
            t0 = np.maximum(t0, t)
        else:
            t1 = np.minimum(t1, t)
    return ok & (t0 < t1)


def all_segments(routes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(S, 4) segments of all routes and the route index of each."""
    segs, owner = [], []
    for i, rt in enumerate(routes):
        if len(rt) >= 2:
            segs.append(np.hstack([rt[:-1], rt[1:]]))
            owner.extend([i] * (len(rt) - 1))
    if not segs:
        return np.zeros((0, 4)), np.zeros(0, dtype=int)
    return np.vstack(segs), np.array(owner)


def count_route_crossings(routes: list[np.ndarray]) -> int:
    """Pairs of segments of different routes that properly cross (touching, shared ends and
    collinear overlap of bundled routes do not count)."""
    s, owner = all_segments(routes)
    a, b = s[:, None, :2], s[:, None, 2:]
    c, d = s[None, :, :2], s[None, :, 2:]

    def orient(p, q, r):
        v = (q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1]) - (q[..., 1] - p[..., 1]) * (r[..., 0] - p[..., 0])
        return np.where(np.abs(v) < 1e-7, 0.0, np.sign(v))

    cross = (orient(a, b, c) * orient(a, b, d) < 0) & (orient(c, d, a) * orient(c, d, b) < 0)
    cross &= owner[:, None] != owner[None, :]
    return int(np.triu(cross, 1).sum())


def check_layout(res, n: int, edges: np.ndarray, node_gap: float) -> None:
    """Assert the invariants every layout must meet."""
    r = rects(res)
    assert res.positions.shape == (n, 2) and res.layers.shape == (n,)
    assert not overlapping_pairs(r)
    # nodes in the same layer keep at least node_gap apart across the layers' axis
    assert len(res.routes) == len(edges)
    if n:
        assert r.min() >= -EPS
        assert r[:, 2].max() <= res.width + EPS and r[:, 3].max() <= res.height + EPS
    for (u, v), rt in zip(edges.tolist(), res.routes, strict=True):
        assert rt.ndim == 2 and rt.shape[1] == 2 and len(rt) >= 2
        assert np.all(np.isfinite(rt))
        assert rt.min() >= -EPS and rt[:, 0].max() <= res.width + EPS and rt[:, 1].max() <= res.height + EPS
        assert on_border(rt[0], r[u]), (u, v, rt[0], r[u])
        assert on_border(rt[-1], r[v]), (u, v, rt[-1], r[v])
        others = np.ones(n, dtype=bool)
        others[[u, v]] = False
        for p0, p1 in zip(rt[:-1], rt[1:], strict=True):
            hit = segment_hits(p0, p1, r) & others
            assert not hit.any(), (u, v, np.flatnonzero(hit))


def expected_frames(res, group_of: np.ndarray, parent: np.ndarray, margin: tuple[float, ...]) -> np.ndarray:
    """Frames as the graph view draws them: members' and child frames' bounding box grown by
    `margin` (left, top, right, bottom), innermost first; NaN for groups without members."""
    r = rects(res)
    count = len(parent)
    kids: list[list[int]] = [[] for _ in range(count)]
    for g, p in enumerate(parent.tolist()):
        if p >= 0:
            kids[p].append(g)
    out = np.full((count, 4), np.nan)

    def box(g: int) -> np.ndarray:
        parts = [r[group_of == g]] + [box(c)[None] for c in kids[g]]
        parts = np.vstack([q for q in parts if len(q) and not np.isnan(q).any()] or [np.full((1, 4), np.nan)])
        if np.isnan(parts).any():
            return out[g]
        b = np.array([parts[:, 0].min() - margin[0], parts[:, 1].min() - margin[1],
                      parts[:, 2].max() + margin[2], parts[:, 3].max() + margin[3]])
        out[g] = b
        return b

    for g in range(count):
        if parent[g] < 0:
            box(g)
    return out


def subtree_members(group_of: np.ndarray, parent: np.ndarray) -> list[np.ndarray]:
    """For each group, the mask of nodes inside it at any depth."""
    count = len(parent)
    inside = np.zeros((count, len(group_of)), dtype=bool)
    for v, g in enumerate(group_of.tolist()):
        while g >= 0:
            inside[g, v] = True
            g = int(parent[g])
    return list(inside)


def check_frames(res, group_of: np.ndarray, parent: np.ndarray, margin: tuple[float, ...]) -> None:
    """Assert that no node outside a group touches its frame and that two frames are
    nested (along the group tree) or disjoint."""
    least = expected_frames(res, group_of, parent, margin)
    # A frame holds its members' box and may be wider: long edges that enter it run inside
    # (their dummies are members), so it holds them too.
    assert np.array_equal(np.isnan(res.frames), np.isnan(least))
    ok = ~np.isnan(least[:, 0])
    assert np.all(res.frames[ok, :2] <= least[ok, :2] + EPS)
    assert np.all(res.frames[ok, 2:] >= least[ok, 2:] - EPS)
    frames = res.frames
    ok = ~np.isnan(frames[:, 0])
    assert np.all(frames[ok] >= -EPS)
    assert np.all(frames[ok, 2] <= res.width + EPS) and np.all(frames[ok, 3] <= res.height + EPS)
    r = rects(res)
    inside = subtree_members(group_of, parent)
    for g in np.flatnonzero(ok).tolist():
        f = frames[g]
        hit = (r[:, 0] < f[2] - EPS) & (f[0] < r[:, 2] - EPS) & (r[:, 1] < f[3] - EPS) & (f[1] < r[:, 3] - EPS)
        bad = np.flatnonzero(hit & ~inside[g])
        assert len(bad) == 0, (g, bad[:5].tolist())
    anc = [set() for _ in parent]
    for g in range(len(parent)):
        p = int(parent[g])
        while p >= 0:
            anc[g].add(p)
            p = int(parent[p])
    f = frames[ok]
    ids = np.flatnonzero(ok)
    meet = (f[:, None, 0] < f[None, :, 2] - EPS) & (f[None, :, 0] < f[:, None, 2] - EPS)
    meet &= (f[:, None, 1] < f[None, :, 3] - EPS) & (f[None, :, 1] < f[:, None, 3] - EPS)
    contains = np.all(f[:, None, :2] <= f[None, :, :2] + EPS, axis=2) & np.all(f[:, None, 2:] >= f[None, :, 2:] - EPS, axis=2)
    for i, j in np.argwhere(np.triu(meet, 1)).tolist():
        a, b = int(ids[i]), int(ids[j])
        nested = (a in anc[b] and contains[i, j]) or (b in anc[a] and contains[j, i])
        assert nested, (a, b, f[i].tolist(), f[j].tolist())
