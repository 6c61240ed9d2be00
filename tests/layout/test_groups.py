"""Group-aware layered layout: frames around nested groups keep other nodes out and nest."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.layout import layered_layout
from tests.layout import shapes
from tests.layout.geometry import check_frames, check_layout, count_route_crossings, rects

PAD, TITLE = 8.0, 20.0
TB_MARGIN = (PAD, PAD + TITLE, PAD, PAD)


def _random_grouped(seed: int = 1) -> shapes.Grouped:
    n, edges = shapes.random_dag(160, 280, seed=seed, window=12)
    return n, edges, shapes.range_groups(n, seed=seed)


GROUPED = {
    "transformer": lambda: shapes.grouped_transformer(3),
    "resnet": lambda: shapes.grouped_resnet(9),
    "scoped": lambda: shapes.scoped_transformer(3),
    "random_dag": _random_grouped,
    "random_dag_2": lambda: _random_grouped(5),
}


@pytest.mark.parametrize("direction", ["TB", "LR"])
@pytest.mark.parametrize("kind", sorted(GROUPED))
def test_frames_hold_only_members_and_nest(kind: str, direction: str) -> None:
    n, edges, groups = GROUPED[kind]()
    sizes = shapes.sizes_for(n, seed=3)
    res = layered_layout(n, edges, sizes, direction=direction, groups=groups,
                         group_pad=PAD, group_title=TITLE)
    check_layout(res, n, edges, 24.0)
    # the view draws the title bar on top in both directions
    check_frames(res, *groups, TB_MARGIN)


def _contiguous_in_every_layer(res, inside: np.ndarray) -> bool:
    """Whether, in each layer, the group's members are neighbours in x order."""
    for layer in np.unique(res.layers[inside]):
        idx = np.flatnonzero(res.layers == layer)
        flags = inside[idx][np.argsort(res.positions[idx, 0], kind="stable")]
        run = np.flatnonzero(flags)
        if run[-1] - run[0] + 1 != len(run):
            return False
    return True


def test_sibling_groups_keep_one_order_and_members_stay_together() -> None:
    n, edges, (group_of, parent) = shapes.grouped_transformer(4)
    res = layered_layout(n, edges, shapes.sizes_for(n), groups=(group_of, parent))
    from tests.layout.geometry import subtree_members

    inside = subtree_members(group_of, parent)
    for g in range(len(parent)):
        assert _contiguous_in_every_layer(res, inside[g])
    # two groups sharing a layer: one lies wholly left of the other (frames disjoint in x)
    r = rects(res)
    for a in range(len(parent)):
        for b in range(a + 1, len(parent)):
            if (inside[a] & inside[b]).any():
                continue  # nested
            if set(res.layers[inside[a]].tolist()) & set(res.layers[inside[b]].tolist()):
                ra, rb = r[inside[a]], r[inside[b]]
                assert ra[:, 2].max() <= rb[:, 0].min() or rb[:, 2].max() <= ra[:, 0].min()


def test_title_room_grows_with_nesting() -> None:
    # frames starting in the same layer pile their title bars; the layers move apart for them
    n, edges, groups = shapes.grouped_transformer(2)
    sizes = shapes.sizes_for(n)
    res = layered_layout(n, edges, sizes, groups=groups, group_pad=PAD, group_title=TITLE)
    check_frames(res, *groups, TB_MARGIN)
    big = layered_layout(n, edges, sizes, groups=groups, group_pad=PAD, group_title=3 * TITLE)
    check_frames(big, *groups, (PAD, PAD + 3 * TITLE, PAD, PAD))
    assert big.height > res.height


def test_no_groups_is_the_plain_layout() -> None:
    n, edges = shapes.transformer(2)
    sizes = shapes.sizes_for(n)
    plain = layered_layout(n, edges, sizes)
    empty = layered_layout(n, edges, sizes, groups=(np.full(n, -1), np.zeros(0, dtype=np.int64)))
    assert np.array_equal(plain.positions, empty.positions)
    assert plain.frames.shape == (0, 4) and empty.frames.shape == (0, 4)


def test_grouped_layout_is_deterministic() -> None:
    n, edges, groups = _random_grouped()
    sizes = shapes.sizes_for(n)
    a = layered_layout(n, edges, sizes, groups=groups)
    b = layered_layout(n, edges.copy(), sizes.copy(), groups=(groups[0].copy(), groups[1].copy()))
    assert np.array_equal(a.positions, b.positions)
    assert np.array_equal(a.frames, b.frames, equal_nan=True)
    assert all(np.array_equal(x, y) for x, y in zip(a.routes, b.routes, strict=True))


def test_group_split_over_components_still_has_a_clean_frame() -> None:
    # one group holding the heads of two separate chains, with a third chain between them
    n, c = shapes.chain(4)
    edges = np.vstack([c, c + 4, c + 8])
    group_of = np.full(12, -1)
    group_of[[0, 1, 8, 9]] = 0
    res = layered_layout(12, edges, np.full((12, 2), 40.0), groups=(group_of, np.array([-1])))
    check_frames(res, group_of, np.array([-1]), TB_MARGIN)


def test_empty_group_has_no_frame() -> None:
    n, edges = shapes.chain(5)
    group_of = np.array([0, 0, -1, -1, -1])
    res = layered_layout(n, edges, np.full((n, 2), 30.0), groups=(group_of, np.array([-1, 0, -1])))
    assert np.isnan(res.frames[1:]).all() and not np.isnan(res.frames[0]).any()
    check_frames(res, group_of, np.array([-1, 0, -1]), TB_MARGIN)


@pytest.mark.parametrize(
    "groups",
    [
        (np.zeros(3, dtype=np.int64), np.array([-1])),  # wrong length
        (np.array([0, 5, -1, -1]), np.array([-1])),  # id out of range
        (np.array([0, 0, 1, -1]), np.array([1, 0])),  # cycle
        (np.array([0.0, 0.0, 0.0, 0.0]), np.array([-1])),  # not integers
        np.zeros(4, dtype=np.int64),  # not a pair
    ],
)
def test_bad_groups_are_a_value_error(groups) -> None:
    n, edges = shapes.chain(4)
    with pytest.raises(ValueError):
        layered_layout(n, edges, np.ones((n, 2)), groups=groups)


def test_transformer_mask_chain_runs_beside_the_blocks() -> None:
    # the one attention mask feeding every block used to cross two edges per block
    n, edges = shapes.transformer(8)
    res = layered_layout(n, edges, shapes.sizes_for(n))
    assert res.crossings == count_route_crossings(res.routes) == 0
    n, edges, groups = shapes.grouped_transformer(4)
    res = layered_layout(n, edges, shapes.sizes_for(n), groups=groups)
    assert res.crossings == count_route_crossings(res.routes)


def test_frames_on_a_graph_without_edges() -> None:
    # only the frames' border chains to align: no segment between proper nodes at all
    group_of = np.array([1, 0, -1, -1, -1, 1, 1])
    parent = np.array([-1, 0])
    sizes = shapes.sizes_for(7)
    res = layered_layout(7, np.zeros((0, 2), dtype=np.int64), sizes, groups=(group_of, parent),
                         group_pad=PAD, group_title=TITLE)
    check_layout(res, 7, np.zeros((0, 2), dtype=np.int64), 24.0)
    check_frames(res, group_of, parent, TB_MARGIN)
