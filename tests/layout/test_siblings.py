"""Sibling slots by pairwise comparison and by lexsort agree with a plain per-parent sort."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.layout.siblings import SiblingRanks, dense_ids, root_slots


def _reference(parent: np.ndarray, size: np.ndarray, key: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Summed size of the siblings ahead of each item, by Python's sort of (key, second)."""
    out = np.zeros(len(parent), dtype=np.int64)
    for p in np.unique(parent).tolist():
        items = np.flatnonzero(parent == p).tolist()
        # NaN last, as numpy sorts it
        items.sort(key=lambda i: (np.isnan(key[i]), 0.0 if np.isnan(key[i]) else key[i], second[i]))
        acc = 0
        for i in items:
            out[i] = acc
            acc += int(size[i])
    return out


@pytest.mark.parametrize("max_children", [2, 4, 8, 30])
def test_matches_sorting_each_sibling_list(max_children: int) -> None:
    rng = np.random.default_rng(max_children)
    counts = rng.integers(1, max_children + 1, size=300)
    parent = rng.permutation(np.repeat(np.arange(len(counts)), counts))
    size = rng.integers(1, 9, size=len(parent))
    ranks = SiblingRanks(parent, size)
    for trial in range(4):
        # few distinct keys, zeros of both signs among them: ties go to `second`
        key = np.array([-0.0, 0.0, 0.5, 1.0, -np.inf, np.inf])[rng.integers(0, 6, len(parent))]
        if trial % 2:
            key = rng.random(len(parent))
        second = rng.permutation(len(parent)) - len(parent) // 2  # some negative
        if trial == 2:
            second = rng.integers(0, 3, len(parent))  # full ties keep index order (stable)
        np.testing.assert_array_equal(ranks.before(key, second), _reference(parent, size, key, second))


def test_nan_keys_sort_last_as_in_a_lexsort() -> None:
    rng = np.random.default_rng(7)
    parent = np.repeat(np.arange(50), 3)
    size = np.ones(len(parent), dtype=np.int64)
    key = rng.random(len(parent))
    key[::4] = np.nan
    second = np.arange(len(parent))
    got = SiblingRanks(parent, size).before(key, second)
    np.testing.assert_array_equal(got, _reference(parent, size, key, second))


def test_dense_ids_match_unique_dense_and_sparse() -> None:
    for code in (np.array([5, 3, 5, 9, 3, 0]), np.array([10**12, 7, 10**12, 3])):
        ids, count = dense_ids(code)
        values, inverse = np.unique(code, return_inverse=True)
        np.testing.assert_array_equal(ids, inverse)
        assert count == len(values)


def test_root_slots_follow_earlier_roots_of_the_layer() -> None:
    # roots in (layer, component) order: layer 0 holds roots 0 (3 items) and 1 (2 items)
    root = np.array([0, 0, 0, 1, 1, 2, 3, 3])
    layer = np.array([0, 0, 0, 0, 0, 1, 2, 2])
    assert root_slots(root, 4, layer).tolist() == [0, 3, 0, 0]
