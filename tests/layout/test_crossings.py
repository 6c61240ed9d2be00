"""Exact crossing counts: grouped inversion counting against a brute-force count."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.layout.crossings import CrossingCounter, count_crossings, grouped_inversions


def _brute_inversions(group: np.ndarray, value: np.ndarray) -> int:
    total = 0
    for i in range(len(group)):
        later = slice(i + 1, None)
        total += int(np.sum((group[later] == group[i]) & (value[later] < value[i])))
    return total


@pytest.mark.parametrize("max_size", [2, 5, 8, 9, 40])
def test_grouped_inversions_match_brute_force(max_size: int) -> None:
    # group sizes across the size classes, the small ones (pairwise) and the large (merge)
    rng = np.random.default_rng(max_size)
    sizes = rng.integers(1, max_size + 1, size=60)
    group = np.repeat(np.arange(len(sizes)), sizes)
    value = rng.integers(0, 6, size=len(group))  # many ties, which never count
    assert grouped_inversions(group, value) == _brute_inversions(group, value)


def test_count_crossings_matches_segment_pairs() -> None:
    rng = np.random.default_rng(3)
    layer = np.repeat(np.arange(4), 7)
    pos = np.concatenate([rng.permutation(7) for _ in range(4)])
    u = rng.integers(0, 21, size=50)
    v = (layer[u] + 1) * 7 + rng.integers(0, 7, size=50)
    want = 0
    for a in range(50):
        for b in range(a + 1, 50):
            if layer[u[a]] == layer[u[b]]:
                want += int((pos[u[a]] - pos[u[b]]) * (pos[v[a]] - pos[v[b]]) < 0)
    assert count_crossings(layer, pos, u, v) == want


@pytest.mark.parametrize("width", [3, 6, 12])
def test_counter_matches_count_crossings(width: int) -> None:
    # layer pairs of 1 to ~3*width segments: pairwise classes and the sorted wide path
    rng = np.random.default_rng(width)
    sizes = rng.integers(1, width + 1, size=30)
    layer = np.repeat(np.arange(len(sizes)), sizes)
    start = np.r_[0, np.cumsum(sizes)]
    u, v = [], []
    for lv in range(len(sizes) - 1):
        k = int(rng.integers(0, 3 * width))
        u.extend(rng.integers(start[lv], start[lv + 1], k).tolist())
        v.extend(rng.integers(start[lv + 1], start[lv + 2], k).tolist())
    u, v = np.array(u, dtype=np.int64), np.array(v, dtype=np.int64)
    counter = CrossingCounter(layer, u, v)
    for _ in range(5):
        pos = np.concatenate([rng.permutation(s) for s in sizes])
        assert counter.count(pos) == count_crossings(layer, pos, u, v)
