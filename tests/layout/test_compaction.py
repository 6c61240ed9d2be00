"""Level-wise compaction gives the same bits as the sequential longest-path pass and as an
independent Bellman-Ford relaxation."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.layout import compaction
from inspector.layout.compaction import compact, compact_sequential


def _layered_dag(rng: np.random.Generator, widths: list[int], fan: int) -> tuple[int, np.ndarray, np.ndarray]:
    """Blocks in levels of the given widths; each block gets `fan` edges (duplicates
    allowed) from blocks of earlier levels, most from the level just before."""
    first = np.cumsum([0, *widths])
    src, dst = [], []
    for lv in range(1, len(widths)):
        for b in range(first[lv], first[lv + 1]):
            near = rng.integers(first[lv - 1], first[lv], size=fan)
            far = rng.integers(0, first[lv], size=fan)
            pick = np.where(rng.random(fan) < 0.7, near, far)
            src.extend(pick.tolist())
            dst.extend([b] * fan)
    nb = int(first[-1])
    # block ids shuffled so that level order is not index order
    perm = rng.permutation(nb)
    return nb, perm[np.array(src, dtype=np.int64)], perm[np.array(dst, dtype=np.int64)]


SHAPES = {
    "wide": [200] * 12,  # a network: few levels, many blocks each
    "deep": [2] * 400,  # a random DAG's block graph: thin levels, Python loop
    "wide_then_deep": [1, 1, 300, 300, *([1] * 60), 200],
    "thin_head": [1] * 10 + [150] * 8,  # a frame's border block leads, then wide levels
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_matches_sequential(shape: str) -> None:
    rng = np.random.default_rng(len(shape))
    nb, src, dst = _layered_dag(rng, SHAPES[shape], fan=3)
    sep = rng.uniform(10, 200, len(src))
    sep[::7] = 0.0  # touching blocks (zero-width dummies without gaps)
    left, right = compact(nb, src, dst, sep)
    want_l, want_r = compact_sequential(nb, src.tolist(), dst.tolist(), sep.tolist())
    np.testing.assert_array_equal(left, np.asarray(want_l))
    np.testing.assert_array_equal(right, np.asarray(want_r))
    # the constraints hold (to rounding) and each block is as far left as they allow
    tol = 1e-9 * float(left.max())
    assert np.all(left[dst] - left[src] >= sep - tol) and np.all(right[dst] - right[src] >= sep - tol)
    tight = np.zeros(nb)
    np.maximum.at(tight, dst, left[src] + sep)
    np.testing.assert_allclose(left, tight, rtol=0, atol=tol)
    # and both equal an independent fixed-point computation, bit for bit
    ind_l, ind_r = _relaxed(nb, src, dst, sep)
    np.testing.assert_array_equal(left, ind_l)
    np.testing.assert_array_equal(right, ind_r)


def test_both_paths_are_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    # the deep shape must reach the Python tail, the wide one must not
    calls: list[int] = []
    real = compaction._kahn_tail

    def spy(queue, *args):
        calls.append(len(queue))
        return real(queue, *args)

    monkeypatch.setattr(compaction, "_kahn_tail", spy)
    rng = np.random.default_rng(0)
    for shape, expect in (("wide", 0), ("deep", 1)):
        calls.clear()
        nb, src, dst = _layered_dag(rng, SHAPES[shape], fan=2)
        compact(nb, src, dst, np.ones(len(src)))
        assert len(calls) == expect, shape


def _relaxed(nb: int, src: np.ndarray, dst: np.ndarray, sep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longest paths by Bellman-Ford relaxation to a fixed point: an independent computation
    (no topological order at all) of what compaction promises on a DAG."""
    left, right = np.zeros(nb), np.zeros(nb)
    for _ in range(nb + 1):
        new_l, new_r = left.copy(), right.copy()
        np.fmax.at(new_l, dst, left[src] + sep)  # fmax skips a NaN separation
        np.fmin.at(new_r, src, right[dst] - sep)
        if np.array_equal(new_l, left) and np.array_equal(new_r, right):
            return left, right
        left, right = new_l, new_r
    raise AssertionError("relaxation did not converge: the graph has a cycle")


def test_cyclic_block_graph_places_every_block() -> None:
    """A cycle (0 -> 1 -> 2 -> 0) cannot satisfy its constraints; it must not stop the
    acyclic part (3 -> 4 -> 5) from being placed exactly, nor leave a block unplaced."""
    src = np.array([0, 1, 2, 3, 4], dtype=np.int64)
    dst = np.array([1, 2, 0, 4, 5], dtype=np.int64)
    sep = np.array([5.0, 6.0, 7.0, 8.0, 9.0])
    left, right = compact(6, src, dst, sep)
    # The chain by hand: 3 at 0, 4 at 0 + 8, 5 at 8 + 9; from the right 5 at 0, 4 at -9, 3 at -17.
    np.testing.assert_array_equal(left[3:], [0.0, 8.0, 17.0])
    np.testing.assert_array_equal(right[3:], [-17.0, -9.0, 0.0])
    assert np.all(np.isfinite(left)) and np.all(np.isfinite(right))
    assert np.all(np.abs(left[:3]) <= sep.sum()) and np.all(np.abs(right[:3]) <= sep.sum())


def test_no_constraints() -> None:
    left, right = compact(3, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    assert left.tolist() == [0.0, 0.0, 0.0] and right.tolist() == [0.0, 0.0, 0.0]


def test_repeated_constraints_keep_the_largest_separation() -> None:
    # two blocks side by side in many layers repeat their constraint once per layer, with
    # different separations; a NaN separation is skipped, as the sequential loop skips it
    rng = np.random.default_rng(5)
    nb, src, dst = _layered_dag(rng, SHAPES["wide_then_deep"], fan=2)
    src, dst = np.tile(src, 3), np.tile(dst, 3)
    sep = rng.uniform(0, 100, len(src))
    sep[rng.random(len(sep)) < 0.05] = np.nan
    left, right = compact(nb, src, dst, sep)
    want_l, want_r = _relaxed(nb, src, dst, sep)
    np.testing.assert_array_equal(left, want_l)
    np.testing.assert_array_equal(right, want_r)
