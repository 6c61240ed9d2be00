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
    img, f = downsample_2d(m, max_side=4)
    assert f == 2 and img.shape == (4, 4)
    assert img[1, 2] == m[2:4, 4:6].mean()


def test_downsampling_a_long_thin_matrix_keeps_every_row_block() -> None:
    # An LM head (8 x 50257) and a [16, 50257] logits sequence: square blocks as wide as the
    # long side asks for (50) would leave no rows at all.
    m = np.random.default_rng(0).standard_normal((8, 50257)).astype(np.float32)
    img, f = downsample_2d(m, max_side=1024)
    assert f == 8 and img.shape == (1, 50257 // 8)
    assert np.isclose(img[0, 3], m[:, 24:32].mean(), atol=1e-6)
    img, f = downsample_2d(np.ones((16, 50257), np.float32), max_side=512)
    assert img.shape[0] >= 1 and img.shape[1] >= 1 and f == 16


def test_symmetric_levels_centre_on_zero() -> None:
    assert symmetric_levels(np.array([-0.5, 2.0])) == (-2.0, 2.0)
    assert symmetric_levels(np.zeros(3)) == (-1.0, 1.0)
