"""Numbers behind the panels, Qt-free: summaries, histograms, downsampling and colour levels.

Everything here takes plain numpy arrays, so the panels stay thin and these facts are
testable without a display. Activation functions are in `activation_facts`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Above this many elements, histograms are built from an even subsample (exact min/max kept).
HISTOGRAM_SAMPLE = 1 << 20



@dataclass(frozen=True)
class Summary:
    """Min, max, mean, std, share of exact zeros, element count, dtype and shape of an array."""

    shape: tuple[int, ...]
    dtype: str
    size: int
    min: float
    max: float
    mean: float
    std: float
    zeros: float
    finite: bool = True

    def lines(self) -> list[str]:
        """Human-readable `key: value` lines for a stats label."""
        return [
            f"shape {self.shape}  {self.dtype}  ({self.size:,} values)",
            f"min {self.min:.4g}   max {self.max:.4g}",
            f"mean {self.mean:.4g}   std {self.std:.4g}",
            f"zeros {self.zeros:.1%}" + ("" if self.finite else "   (has NaN/inf)"),
        ]


def summarize(array: np.ndarray) -> Summary:
    """Summary statistics over every element; NaN/inf are left out of min/max/mean/std."""
    a = np.asarray(array)
    if a.dtype.kind not in "biuf":
        a = a.astype(np.float64)
    flat = a.reshape(-1)
    size = int(flat.size)
    if size == 0:
        return Summary(tuple(a.shape), str(a.dtype), 0, math.nan, math.nan, math.nan, math.nan, 0.0)
    finite = True
    if flat.dtype.kind == "f":
        mask = np.isfinite(flat)
        finite = bool(mask.all())
        if not finite:
            flat = flat[mask]
    if flat.size == 0:
        return Summary(tuple(a.shape), str(a.dtype), size, math.nan, math.nan, math.nan, math.nan,
                       0.0, False)
    # float64 accumulation: float32 sums over millions of values drift visibly.
    mean = float(flat.mean(dtype=np.float64))
    std = _std(flat, mean)
    zeros = float(np.count_nonzero(flat == 0)) / size
    return Summary(tuple(a.shape), str(a.dtype), size, float(flat.min()), float(flat.max()),
                   mean, std, zeros, finite)


def _std(flat: np.ndarray, mean: float, chunk: int = 1 << 20) -> float:
    """Standard deviation in chunks: `ndarray.std` makes a float64 copy of the whole array
    (128 MB and ~45 ms for a 4096x4096 matrix); per-chunk dot products need neither."""
    if flat.dtype.kind != "f":
        return float(flat.std(dtype=np.float64))
    m = flat.dtype.type(mean)
    acc = 0.0
    for start in range(0, flat.size, chunk):
        d = flat[start:start + chunk] - m
        acc += float(np.dot(d, d))
    return math.sqrt(acc / flat.size)


def subsample(array: np.ndarray, limit: int = HISTOGRAM_SAMPLE) -> np.ndarray:
    """At most about `limit` elements of `array`, flattened, taken at an even stride."""
    flat = np.asarray(array).reshape(-1)
    if flat.size <= limit:
        return flat
    step = int(math.ceil(flat.size / limit))
    return flat[::step]


def histogram(array: np.ndarray, bins: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(counts, edges) over the finite values (subsampled past `HISTOGRAM_SAMPLE`)."""
    flat = subsample(array).astype(np.float64, copy=False)
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return np.zeros(bins, dtype=np.int64), np.linspace(0.0, 1.0, bins + 1)
    lo, hi = float(flat.min()), float(flat.max())
    if hi <= lo:  # a constant array: one bin of unit width around the value
        lo, hi = lo - 0.5, hi + 0.5
    return np.histogram(flat, bins=bins, range=(lo, hi))


def downsample_1d(values: np.ndarray, limit: int = 512) -> tuple[np.ndarray, int]:
    """Means of equal consecutive bins so at most `limit` remain; returns (values, bin size)."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size <= limit:
        return v, 1
    factor = int(math.ceil(v.size / limit))
    pad = (-v.size) % factor
    if pad:
        # NaN padding keeps the last partial bin an honest mean of its real members.
        v = np.concatenate([v, np.full(pad, np.nan)])
    return np.nanmean(v.reshape(-1, factor), axis=1), factor


def downsample_2d(matrix: np.ndarray, max_side: int = 1024) -> tuple[np.ndarray, tuple[int, int]]:
    """Means of `rows_per_block` x `cols_per_block` blocks so neither side exceeds `max_side`;
    returns (image, (rows_per_block, cols_per_block)).

    Each axis is reduced on its own: a 16 x 50257 logits sequence keeps its 16 rows and
    averages columns in blocks of 99 (16 x 508). Square blocks no wider than the short side
    drew it as one row of 16x16 means, the 16 positions lost. Cell (i, j) is the mean of
    matrix[i*rb:(i+1)*rb, j*cb:(j+1)*cb]; the last block of an axis holds what is left (fewer
    members, still their honest mean), so nothing is dropped.
    """
    m = np.asarray(matrix)
    rows, cols = m.shape
    rb = max(1, int(math.ceil(rows / max_side)))
    cb = max(1, int(math.ceil(cols / max_side)))
    if rb == 1 and cb == 1:
        return m, (1, 1)
    m = np.asarray(m, dtype=np.float32)
    # Whole blocks by reshape-sums (rows first: adding whole contiguous rows is the fast
    # way), the partial last block of each axis summed apart.
    r, c = rows // rb * rb, cols // cb * cb
    summed = m[:r].reshape(r // rb, rb, cols).sum(axis=1) if rb > 1 else m[:r]
    if r < rows:
        summed = np.vstack([summed, m[r:].sum(axis=0, keepdims=True)])
    blocks = summed[:, :c].reshape(summed.shape[0], c // cb, cb).sum(axis=2) if cb > 1 \
        else summed[:, :c]
    if c < cols:
        blocks = np.hstack([blocks, summed[:, c:].sum(axis=1, keepdims=True)])
    per_row = np.minimum(rb, rows - np.arange(0, rows, rb)).astype(np.float32)
    per_col = np.minimum(cb, cols - np.arange(0, cols, cb)).astype(np.float32)
    return blocks / per_row[:, None] / per_col[None, :], (rb, cb)


def symmetric_levels(array: np.ndarray) -> tuple[float, float]:
    """(-m, m) with m the largest finite |value|, so a diverging map centres on 0."""
    flat = subsample(array)
    flat = flat[np.isfinite(flat)] if flat.dtype.kind == "f" else flat
    m = float(np.abs(flat).max()) if flat.size else 1.0
    return (-m, m) if m > 0 else (-1.0, 1.0)


def finite_levels(array: np.ndarray) -> tuple[float, float]:
    """(min, max) over the finite values, widened when they are equal."""
    flat = np.asarray(array).reshape(-1)
    if flat.dtype.kind == "f":
        flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return 0.0, 1.0
    lo, hi = float(flat.min()), float(flat.max())
    return (lo - 0.5, hi + 0.5) if hi <= lo else (lo, hi)
