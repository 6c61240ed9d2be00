"""The panels' numbers: summaries, histograms, downsampling and colour levels."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.runtime.stats import (
    downsample_1d,
    downsample_2d,
    histogram,
    summarize,
    symmetric_levels,
)


def test_summary_and_histogram_agree_with_numpy() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 40, 50)).astype(np.float32)
    a[0, :5] = 0
    s = summarize(a)
    assert s.min == float(a.min()) and s.max == float(a.max())
    assert s.mean == pytest.approx(float(a.astype(np.float64).mean()))
    assert s.std == pytest.approx(float(a.astype(np.float64).std()))
    assert s.zeros == pytest.approx(np.count_nonzero(a == 0) / a.size)
    counts, edges = histogram(a, bins=20)
    ref_counts, ref_edges = np.histogram(a, bins=20)
    np.testing.assert_array_equal(counts, ref_counts)
    np.testing.assert_allclose(edges, ref_edges, atol=1e-6)


def test_summary_skips_non_finite() -> None:
    s = summarize(np.array([1.0, np.nan, 3.0, np.inf]))
    assert (s.min, s.max, s.finite) == (1.0, 3.0, False)


def test_downsampling_keeps_bin_means() -> None:
    v = np.arange(1030, dtype=np.float64)
    d, factor = downsample_1d(v, limit=512)
    assert factor == 3 and d.size == 344
    assert d[0] == 1.0 and d[-1] == np.mean(v[1029:])
    m = np.arange(64, dtype=np.float32).reshape(8, 8)
    img, blocks = downsample_2d(m, max_side=4)
    assert blocks == (2, 2) and img.shape == (4, 4)
    np.testing.assert_array_equal(img, m.reshape(4, 2, 4, 2).mean(axis=(1, 3)))


def _block_means(m: np.ndarray, rb: int, cb: int) -> np.ndarray:
    """Block means the plain numpy way: whole blocks by reshape-mean, a partial last block
    of each axis as the mean of what is left."""
    rows, cols = m.shape
    out = np.empty((-(-rows // rb), -(-cols // cb)))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = m[i * rb:(i + 1) * rb, j * cb:(j + 1) * cb].astype(np.float64).mean()
    return out


def test_downsampling_reduces_each_axis_on_its_own() -> None:
    # A [1, 16, 50257] logits sequence (16 positions): square blocks no wider than the short
    # side drew it as one row of 16x16 means and the positions were lost. Each axis is reduced
    # to max_side on its own: all 16 rows stay, columns are averaged 99 at a time.
    m = np.random.default_rng(0).standard_normal((16, 50257)).astype(np.float32)
    img, blocks = downsample_2d(m, max_side=512)
    assert blocks == (1, 99) and img.shape == (16, 508)
    whole = 50257 // 99 * 99
    np.testing.assert_allclose(img[:, :-1], m[:, :whole].reshape(16, 507, 99).mean(axis=2),
                               rtol=1e-5, atol=1e-6)
    # the last block holds the 50 columns left over, nothing is dropped
    np.testing.assert_allclose(img[:, -1], m[:, whole:].mean(axis=1), rtol=1e-5, atol=1e-6)
    # an 8 x 50257 LM head at the weights' budget: 8 rows, columns in 50s
    head = m[:8]
    img, blocks = downsample_2d(head, max_side=1024)
    assert blocks == (1, 50) and img.shape == (8, 1006)
    np.testing.assert_allclose(img, _block_means(head, 1, 50), rtol=1e-5, atol=1e-6)


def test_downsampling_tall_and_both_ways_with_partial_blocks() -> None:
    rng = np.random.default_rng(1)
    tall = rng.standard_normal((3000, 7)).astype(np.float32)  # the transpose case
    img, blocks = downsample_2d(tall, max_side=1024)
    assert blocks == (3, 1) and img.shape == (1000, 7)
    np.testing.assert_allclose(img, tall.reshape(1000, 3, 7).mean(axis=1), rtol=1e-5, atol=1e-6)
    both = rng.standard_normal((2050, 3001)).astype(np.float32)
    img, blocks = downsample_2d(both, max_side=1024)
    assert blocks == (3, 3) and img.shape == (684, 1001)
    np.testing.assert_allclose(img, _block_means(both, 3, 3), rtol=1e-5, atol=1e-6)
    small = rng.standard_normal((16, 900)).astype(np.float32)
    img, blocks = downsample_2d(small, max_side=1024)
    assert blocks == (1, 1) and img is small


def test_symmetric_levels_centre_on_zero() -> None:
    assert symmetric_levels(np.array([-0.5, 2.0])) == (-2.0, 2.0)
    assert symmetric_levels(np.zeros(3)) == (-1.0, 1.0)
