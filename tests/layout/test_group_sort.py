"""The tree sort of the group-aware ordering gives exactly the hierarchical lexsort's ranks."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.layout.nesting import ancestors, build_nesting, check_groups, merge_components
from inspector.layout.ordering import SortContext, make_proper
from inspector.layout.ranking import rank_graph
from tests.layout import shapes


def _context(n: int, edges: np.ndarray, groups) -> SortContext:
    """The sort context `layered_layout` builds for this graph and these groups."""
    group_of, parent = check_groups(n, groups)
    e = edges[edges[:, 0] != edges[:, 1]]
    r = rank_graph(n, e[:, 0], e[:, 1])
    comp = merge_components(r.component, group_of, ancestors(parent)[1])
    p = make_proper(n, r.src, r.dst, r.layer, r.node_time, r.edge_time, comp, r.depth_above,
                    r.depth_below)
    nest = build_nesting(n, group_of, parent, p.layer, p.dummy_owner, p.pair_src, p.pair_dst,
                         p.pair_span)
    return SortContext(p, nest)


def _cyclic_grouped() -> shapes.Grouped:
    rng = np.random.default_rng(11)
    n = 200
    edges = np.vstack([rng.integers(0, n, size=(450, 2)), [[3, 3]]]).astype(np.int64)
    return n, edges, shapes.range_groups(n, seed=11, depth=4)


CASES = {
    "transformer": lambda: shapes.grouped_transformer(6),
    "resnet": lambda: shapes.grouped_resnet(10),
    "random_dag": lambda: (*shapes.random_dag(300, 700, seed=2, window=14),
                           shapes.range_groups(300, seed=2, depth=4)),
    "cyclic": _cyclic_grouped,
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_tree_sort_matches_lexsort(kind: str) -> None:
    n, edges, groups = CASES[kind]()
    ctx = _context(n, edges, groups)
    assert ctx.tree.usable
    rng = np.random.default_rng(0)
    for trial in range(12):
        # few distinct values (zeros of both signs among them): ties between nodes, between
        # groups and between a node and a group all occur and must break the same way
        levels = np.array([-0.0, 0.0, 0.25, 0.5, 1.0, 2.0])
        value = levels[rng.integers(0, len(levels), ctx.n)] if trial % 2 else rng.random(ctx.n)
        tie = rng.permutation(ctx.size) if trial % 3 else np.arange(ctx.size)
        gsum = np.bincount(ctx.pair_group, weights=value[ctx.pair_node], minlength=ctx.nest.count)
        gkey = gsum / np.maximum(ctx.gcnt, 1)
        want, want_sizes = ctx.lexsort(value, tie, gkey)
        got, sizes = ctx.sort(value, tie)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(sizes, want_sizes)


def test_group_means_match_a_sum_per_level() -> None:
    # the pair list sums each group's members in node order, as one bincount per level did
    n, edges, groups = CASES["random_dag"]()
    ctx = _context(n, edges, groups)
    value = np.random.default_rng(1).random(ctx.n)
    gsum = np.zeros(ctx.nest.count)
    for g in ctx.levels[:, : ctx.n]:
        ok = g >= 0
        gsum += np.bincount(g[ok], weights=value[ok], minlength=ctx.nest.count)
    fast = np.bincount(ctx.pair_group, weights=value[ctx.pair_node], minlength=ctx.nest.count)
    np.testing.assert_array_equal(fast, gsum)
