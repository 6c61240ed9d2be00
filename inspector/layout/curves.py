"""Smooth drawing of layout routes: cubic Bezier segments through a polyline."""

from __future__ import annotations

import numpy as np

Point = tuple[float, float]


def flow_axis(pts: np.ndarray) -> int:
    """1 when the route flows top to bottom, 0 when left to right.

    Layered routes run straight along the flow through every stub and dummy, so the
    axis-aligned segments tell the direction; a bare two-point route falls back to its
    larger displacement.
    """
    d = np.diff(pts, axis=0)
    vertical = int(np.count_nonzero((d[:, 0] == 0) & (d[:, 1] != 0)))
    horizontal = int(np.count_nonzero((d[:, 1] == 0) & (d[:, 0] != 0)))
    if vertical != horizontal:
        return 1 if vertical > horizontal else 0
    span = np.abs(pts[-1] - pts[0])
    return 1 if span[1] >= span[0] else 0


def smooth_path(points: np.ndarray, direction: str | None = None) -> list[tuple[Point, Point, Point]]:
    """Cubic Bezier segments (c1, c2, end) through `points`, starting at points[0].

    Each polyline segment becomes an S-curve whose control points sit halfway along the
    flow axis: straight segments stay straight, slanted ones leave and enter along the
    flow, and consecutive pieces meet with a common tangent. The curve stays inside each
    segment's bounding box, so it never strays into a node the polyline avoided.
    `direction` ("TB" or "LR") overrides guessing the flow axis from the points.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 2:
        return []
    axis = {"TB": 1, "LR": 0}.get(direction or "", -1)
    if axis < 0:
        axis = flow_axis(pts)
    p0, p1 = pts[:-1], pts[1:]
    half = (p1[:, axis] - p0[:, axis]) / 2.0
    c1 = p0.copy()
    c2 = p1.copy()
    c1[:, axis] += half
    c2[:, axis] -= half
    return [
        ((a[0], a[1]), (b[0], b[1]), (e[0], e[1]))
        for a, b, e in zip(c1.tolist(), c2.tolist(), p1.tolist(), strict=True)
    ]
