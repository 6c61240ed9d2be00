"""Ranking helpers: vectorised connected components against union-find."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.layout.ranking import _components, _components_sequential


@pytest.mark.parametrize("seed", range(6))
def test_components_match_union_find(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    m = int(rng.integers(0, n))  # sparse: many components, long paths between ids
    src = rng.integers(0, n, m)
    dst = rng.integers(0, n, m)
    want = _components_sequential(n, src, dst)
    np.testing.assert_array_equal(_components(n, src, dst), want)
    # labels follow the smallest node: the first node of label k comes before that of k + 1
    firsts = np.unique(want, return_index=True)[1]
    assert np.all(np.diff(firsts) > 0)


def test_components_fall_back_after_too_many_rounds() -> None:
    # a path numbered so that hooking needs several rounds, capped at one
    order = np.random.default_rng(1).permutation(300)
    src, dst = order[:-1], order[1:]
    want = _components_sequential(300, src, dst)
    np.testing.assert_array_equal(_components(300, src, dst, max_rounds=1), want)
    np.testing.assert_array_equal(_components(300, src, dst), want)
    assert want.max() == 0
