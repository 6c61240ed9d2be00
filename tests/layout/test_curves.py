"""smooth_path: Bezier segments through layout routes."""

from __future__ import annotations

import numpy as np

from inspector.layout import layered_layout, smooth_path
from tests.layout import shapes


def _sample(start, segs, k: int = 21) -> np.ndarray:
    t = np.linspace(0, 1, k)[:, None]
    out, p0 = [], np.asarray(start, float)
    for c1, c2, end in segs:
        c1, c2, end = map(np.asarray, (c1, c2, end))
        out.append((1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * c1 + 3 * (1 - t) * t**2 * c2 + t**3 * end)
        p0 = end
    return np.vstack(out)


def test_two_points_make_an_s_curve_along_the_flow() -> None:
    (c1, c2, end), = smooth_path(np.array([[0.0, 0.0], [40.0, 100.0]]))
    assert end == (40.0, 100.0)
    assert c1 == (0.0, 50.0) and c2 == (40.0, 50.0)  # leaves and enters vertically
    (c1, c2, _), = smooth_path(np.array([[0.0, 0.0], [100.0, 40.0]]), direction="LR")
    assert c1 == (50.0, 0.0) and c2 == (50.0, 40.0)


def test_curves_pass_through_every_route_point_and_stay_in_segment_boxes() -> None:
    n, edges = shapes.resnet(4)
    res = layered_layout(n, edges, shapes.sizes_for(n))
    for route in res.routes:
        segs = smooth_path(route)
        assert len(segs) == len(route) - 1
        assert np.allclose([s[2] for s in segs], route[1:])
        pts = _sample(route[0], segs).reshape(len(segs), -1, 2)
        for (a, b), seg_pts in zip(zip(route[:-1], route[1:], strict=True), pts, strict=True):
            lo, hi = np.minimum(a, b) - 1e-9, np.maximum(a, b) + 1e-9
            assert np.all((seg_pts >= lo) & (seg_pts <= hi))


def test_degenerate_input() -> None:
    assert smooth_path(np.zeros((0, 2))) == []
    assert smooth_path(np.array([[1.0, 2.0]])) == []
