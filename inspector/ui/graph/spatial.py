"""A uniform-grid spatial index over rectangles, built and queried with numpy (no Qt)."""

from __future__ import annotations

import numpy as np


class SpatialGrid:
    """Buckets rectangles (x0, y0, x1, y1) by the grid cell of their centre.

    Rectangles wider or taller than a cell go to an `always` list that is filtered by a plain
    mask on each query, so a few long edges do not force a coarse grid on everything else.
    """

    def __init__(self, rects: np.ndarray, max_cells: int = 65536) -> None:
        rects = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
        self.rects = rects
        n = len(rects)
        if n == 0:
            self.origin = np.zeros(2)
            self.cell = 1.0
            self.ncols = self.nrows = 1
            self.order = np.zeros(0, dtype=np.int64)
            self.starts = np.zeros(2, dtype=np.int64)
            self.always = np.zeros(0, dtype=np.int64)
            self.margin = 0.0
            return
        lo = rects[:, :2].min(axis=0)
        hi = rects[:, 2:].max(axis=0)
        span = np.maximum(hi - lo, 1.0)
        # Cell size: about max_cells cells over the bounding box, never smaller than a typical
        # rectangle (99th percentile), so only outliers go to the `always` list.
        ext = np.maximum(rects[:, 2] - rects[:, 0], rects[:, 3] - rects[:, 1])
        cell = max(float(np.sqrt(span[0] * span[1] / max_cells)),
                   float(np.percentile(ext, 99)) * 1.25, 1.0)
        big = ext > cell
        self.always = np.flatnonzero(big)
        small = np.flatnonzero(~big)
        self.margin = float(ext[small].max()) / 2 if len(small) else 0.0
        self.origin = lo
        self.cell = cell
        self.ncols = int(span[0] // cell) + 1
        self.nrows = int(span[1] // cell) + 1
        cx = (rects[small, 0] + rects[small, 2]) * 0.5
        cy = (rects[small, 1] + rects[small, 3]) * 0.5
        col = np.clip(((cx - lo[0]) // cell).astype(np.int64), 0, self.ncols - 1)
        row = np.clip(((cy - lo[1]) // cell).astype(np.int64), 0, self.nrows - 1)
        key = row * self.ncols + col
        order = np.argsort(key, kind="stable")
        self.order = small[order]
        self.starts = np.searchsorted(key[order], np.arange(self.ncols * self.nrows + 1))

    def _cells(self, x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        """Grid columns and rows a query box touches (plain floats: np.clip on scalars cost
        a third of a query, and labels make thousands of small queries)."""
        m, cell = self.margin, self.cell
        ox, oy = float(self.origin[0]), float(self.origin[1])
        nc, nr = self.ncols - 1, self.nrows - 1
        return (int(min(max((x0 - m - ox) // cell, 0), nc)),
                int(min(max((y0 - m - oy) // cell, 0), nr)),
                int(min(max((x1 + m - ox) // cell, 0), nc)),
                int(min(max((y1 + m - oy) // cell, 0), nr)))

    def query(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        """Indices of rectangles that intersect the rectangle (x0, y0)-(x1, y1), ascending."""
        c0, r0, c1, r1 = self._cells(x0, y0, x1, y1)
        parts = []
        if len(self.order):
            starts = self.starts
            for r in range(r0, r1 + 1):
                a, b = starts[r * self.ncols + c0], starts[r * self.ncols + c1 + 1]
                if b > a:
                    parts.append(self.order[a:b])
        if len(self.always):
            parts.append(self.always)
        if not parts:
            return np.zeros(0, dtype=np.int64)
        idx = np.concatenate(parts) if len(parts) > 1 else parts[0]
        r = self.rects[idx]
        hit = (r[:, 2] >= x0) & (r[:, 0] <= x1) & (r[:, 3] >= y0) & (r[:, 1] <= y1)
        out = idx[hit]
        out.sort()
        return out

    def count_at_most(self, x0: float, y0: float, x1: float, y1: float) -> int:
        """An upper bound on `len(query(...))` from bucket sizes alone (no per-item work)."""
        c0, r0, c1, r1 = self._cells(x0, y0, x1, y1)
        if not len(self.order):
            return len(self.always)
        rows = np.arange(r0, r1 + 1) * self.ncols
        return int((self.starts[rows + c1 + 1] - self.starts[rows + c0]).sum()) + len(self.always)
