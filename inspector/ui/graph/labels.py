"""Where each edge's shape label goes: a free spot beside its curve (pure numpy, no Qt).

A label at the route's midpoint lands on whatever is there: a frame's title ("batchx8x8x1"
over "digits_cnn_1"), a node in a left-to-right layout, another edge. Instead, spots along
the drawn curve are tried from the middle outwards, on either side, and the first whose box
touches no node, no frame title band, no edge curve and no nearby edge's label wins. An edge
avoids the labels of the nearby edges with lower indices only, and those are placed first
(by the same rule), so placement depends on the scene only (never on which edges were drawn
before): it is cached per edge and never jumps. Many parallel edges of one shape (GPT-2's
attention) had their labels drawn over each other.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from inspector.layout.curves import flow_axis
from inspector.ui.graph.node_content import SMALL_FONT_SIZE, TextMeasure
from inspector.ui.graph.scene import FRAME_LABEL_H, SceneData
from inspector.ui.graph.spatial import SpatialGrid

#: The label font's pixel size (the painter rounds SMALL_FONT_SIZE to whole pixels).
LABEL_PX = float(round(SMALL_FONT_SIZE))
ASCENT = 0.93 * LABEL_PX
DESCENT = 0.24 * LABEL_PX
GAP = 3.0  # between the curve and the label
#: Fractions along a route segment to try, middle first: the label reads as the edge's.
_TS = (0.5, 0.35, 0.65, 0.2, 0.8)
_SAMPLES = np.linspace(0.0, 1.0, 9)

Box = tuple[float, float, float, float]


def _bezier(p0: np.ndarray, p1: np.ndarray, axis: int, t: np.ndarray) -> np.ndarray:
    """Points at `t` on the S-curve `smooth_path` draws from p0 to p1 (controls halfway
    along the flow axis), so labels sit beside what is drawn, not beside the polyline.
    axis -1: the painter's straight line (a two-point route)."""
    if axis < 0:
        return p0 + (p1 - p0) * t[:, None]
    half = (p1[axis] - p0[axis]) / 2.0
    c1, c2 = p0.copy(), p1.copy()
    c1[axis] += half
    c2[axis] -= half
    t = t[:, None]
    u = 1.0 - t
    return u**3 * p0 + 3 * u * u * t * c1 + 3 * u * t * t * c2 + t**3 * p1


def route_axis(pts: np.ndarray) -> int:
    """The axis the painter's curve for route `pts` bends along: -1 for a straight two-point
    line, else the rule of `inspector.layout.smooth_path` (more vertical than horizontal
    axis-aligned pieces: 1)."""
    if len(pts) <= 2:
        return -1
    return flow_axis(pts)


class LabelPlacer:
    """Finds and caches a label box per edge of one scene."""

    def __init__(self, data: SceneData, measure: TextMeasure | None = None) -> None:
        self.data = data
        self.measure = measure or TextMeasure(data.options.char_advances, LABEL_PX)
        self._boxes: dict[int, Box | None] = {}
        bands = [(f.rect[0], f.rect[1], f.rect[2], f.rect[1] + FRAME_LABEL_H + 2)
                 for f in data.frames]
        self._bands = SpatialGrid(np.asarray(bands, dtype=np.float64).reshape(-1, 4))
        self._axes: dict[int, int] = {}
        self._by_source: tuple[np.ndarray, np.ndarray] | None = None
        self._near: dict[int, list[int]] = {}

    def box(self, e: int) -> Box | None:
        """The label box (x0, y0, x1, y1) of edge `e`; the text baseline is y1 - DESCENT.
        None when the edge has no label or no route, or is not the one edge of a fan-out
        that carries its value's label."""
        if e in self._boxes:
            return self._boxes[e]
        stack = [e]  # an explicit stack: a chain of neighbours must not hit the recursion limit
        while stack:
            k = stack[-1]
            if k in self._boxes:
                stack.pop()
                continue
            if not self.carries_label(k) or self._size(k) is None:
                self._boxes[k] = None
                stack.pop()
                continue
            waiting = [j for j in self._neighbours(k) if j not in self._boxes]
            if waiting:
                stack.extend(waiting)
                continue
            avoid = [b for j in self._neighbours(k) if (b := self._boxes[j]) is not None]
            self._boxes[k] = self._place(k, avoid)
            stack.pop()
        return self._boxes[e]

    def _size(self, e: int) -> tuple[float, float] | None:
        data = self.data
        label = data.edge_labels[e] if e < len(data.edge_labels) else ""
        pts = data.routes[e] if e < len(data.routes) else None
        if not label or pts is None or len(pts) < 2:
            return None
        return self.measure.width(label), ASCENT + DESCENT

    def _neighbours(self, e: int) -> list[int]:
        """Labelled edges with lower indices whose curves pass where `e`'s label may go."""
        got = self._near.get(e)
        if got is None:
            data = self.data
            w, h = self._size(e) or (0.0, 0.0)
            pts = data.routes[e]
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            segs = data.segment_index.query(lo[0] - w - GAP, lo[1] - h - GAP,
                                            hi[0] + w + GAP, hi[1] + h + GAP)
            ks = np.unique(data.segment_edge[segs]) if len(segs) else np.zeros(0, np.int64)
            got = self._near[e] = [int(k) for k in ks.tolist() if k < e]
        return got

    def placed(self, e: int) -> bool:
        """Whether edge `e`'s label position is already known (drawing it costs nothing)."""
        return e in self._boxes

    def carries_label(self, e: int) -> bool:
        """One tensor fanned out to many consumers is labelled once, on its straightest edge:
        sixteen copies of "1x4" around one input say nothing more than one."""
        data = self.data
        if self._by_source is None:
            src = np.asarray(data.edges, dtype=np.int64).reshape(-1, 2)[:, 0]
            order = np.argsort(src, kind="stable")
            starts = np.searchsorted(src[order], np.arange(len(data.items) + 1))
            self._by_source = (order, starts)
        order, starts = self._by_source
        a = int(data.edges[e][0])
        value = data.edge_values[e]
        sibs = [int(k) for k in order[starts[a]:starts[a + 1]] if data.edge_values[k] == value]
        if len(sibs) <= 1:
            return True

        def bend(k: int) -> tuple[float, int]:
            r = data.routes[k]
            if len(r) < 2:
                return (float("inf"), k)
            d = np.abs(r[-1] - r[0])
            return (float(min(d[0], d[1])), k)  # sideways drift across the flow

        return min(sibs, key=bend) == e

    def boxes(self) -> dict[int, Box]:
        """Every labelled edge's box (tests and exports)."""
        out = {}
        for e in range(len(self.data.routes)):
            b = self.box(e)
            if b is not None:
                out[e] = b
        return out

    def _route_axis(self, e: int) -> int:
        axis = self._axes.get(e)
        if axis is None:
            axis = self._axes[e] = route_axis(self.data.routes[e])
        return axis

    # ------------------------------------------------------------------ placement
    def _place(self, e: int, avoid: list[Box]) -> Box | None:
        size = self._size(e)
        if size is None:
            return None
        w, h = size
        pts = self.data.routes[e]
        others = np.asarray(avoid, dtype=np.float64).reshape(-1, 4)
        best: tuple[float, Box] | None = None
        for cand in self._candidates(pts, w, h):  # lazily: the first is usually free
            cost = self._cost(cand, e)
            if len(others):
                cost += 10.0 * _overlap(cand, others, count=False)
            if cost == 0.0:
                return cand
            if best is None or cost < best[0]:
                best = (cost, cand)
        return best[1] if best is not None else None

    def _candidates(self, pts: np.ndarray, w: float, h: float) -> Iterator[Box]:
        """Boxes beside the curve, middle segment first, then outwards; corners last."""
        n = len(pts) - 1
        mid = (n - 1) // 2
        order = sorted(range(n), key=lambda k: (abs(k - mid), k))
        axis = route_axis(pts)
        corners: list[Box] = []
        for k in order:
            p0, p1 = pts[k], pts[k + 1]
            if p0[0] == p1[0] and p0[1] == p1[1]:
                continue
            d = np.abs(p1 - p0)
            # which side to try: across the local direction of the curve
            vertical = d[1] >= d[0] if axis < 0 else axis == 1
            for x, y in _bezier(p0, p1, axis, np.asarray(_TS)).tolist():
                if vertical:  # vertical flow: to the right of the line, else to the left
                    yc = y - (ASCENT - DESCENT) / 2
                    yield (x + GAP, yc - ASCENT, x + GAP + w, yc + DESCENT)
                    yield (x - GAP - w, yc - ASCENT, x - GAP, yc + DESCENT)
                else:  # horizontal flow: above the line, else below
                    yield (x - w / 2, y - GAP - h, x + w / 2, y - GAP)
                    yield (x - w / 2, y + GAP, x + w / 2, y + GAP + h)
                # a steep diagonal crosses any box centred on it: touch it with a corner
                for sx, sy in ((1, -1), (-1, 1), (1, 1), (-1, -1)):
                    bx = x + GAP if sx > 0 else x - GAP - w
                    by = y + GAP if sy > 0 else y - GAP - h
                    corners.append((bx, by, bx + w, by + h))
        yield from corners

    def _cost(self, b: Box, e: int) -> float:
        """0 when the box is free; else roughly how much it covers (nodes count most)."""
        data = self.data
        cost = 0.0
        hits = data.node_index.query(*b)
        if len(hits):
            cost += 10.0 * _overlap(b, data.rects[hits])
        bands = self._bands.query(*b)
        if len(bands):
            cost += 5.0 * _overlap(b, self._bands.rects[bands])
        segs = data.segment_index.query(*b)
        if len(segs):
            cost += self._curve_hits(b, segs)
        return cost

    def _curve_hits(self, b: Box, segs: np.ndarray) -> float:
        """How many sampled points of the drawn curves near `b` fall inside it."""
        data = self.data
        hits = 0
        for s in segs.tolist():
            x0, y0, x1, y1 = data.segments[s]
            p0, p1 = np.array([x0, y0]), np.array([x1, y1])
            axis = self._route_axis(int(data.segment_edge[s]))
            c = _bezier(p0, p1, axis, _SAMPLES)
            inside = ((c[:, 0] >= b[0] - 1) & (c[:, 0] <= b[2] + 1)
                      & (c[:, 1] >= b[1] - 1) & (c[:, 1] <= b[3] + 1))
            hits += int(inside.sum())
            # a straight piece can cross a box between two samples
            if not inside.any() and _segment_crosses(p0, p1, b):
                hits += 1
        return float(hits)


def _overlap(b: Box, rects: np.ndarray, count: bool = True) -> float:
    """Total area of `b` covered by `rects` (each counted once); with `count`, a little more
    per rect touched (the spatial index's hits touch `b`, by construction)."""
    w = np.minimum(b[2], rects[:, 2]) - np.maximum(b[0], rects[:, 0])
    h = np.minimum(b[3], rects[:, 3]) - np.maximum(b[1], rects[:, 1])
    area = float((np.clip(w, 0, None) * np.clip(h, 0, None)).sum())
    return area + 1e-3 * len(rects) if count else area


def _segment_crosses(p0: np.ndarray, p1: np.ndarray, b: Box) -> bool:
    """Whether the straight segment p0-p1 passes through box `b` (Liang-Barsky clip)."""
    d = p1 - p0
    lo, hi = 0.0, 1.0
    for p, q in ((-d[0], p0[0] - b[0]), (d[0], b[2] - p0[0]),
                 (-d[1], p0[1] - b[1]), (d[1], b[3] - p0[1])):
        if p == 0:
            if q < 0:
                return False
            continue
        r = q / p
        if p < 0:
            lo = max(lo, r)
        else:
            hi = min(hi, r)
        if lo > hi:
            return False
    return True
