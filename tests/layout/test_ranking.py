"""Ranking: vectorised connected components against union-find, and where side chains land."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inspector.layout.ranking import _components, _components_sequential, rank_graph


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


def _blocks_with_shape_chains(blocks: int, body: int, side: int) -> tuple[int, np.ndarray, list[list[int]]]:
    """An input feeding a chain of blocks; block k's node k*body + 2 also takes a side chain
    of `side` nodes that reads only the input (an export's Shape -> Gather -> Concat)."""
    edges = []
    chains = []
    n = 1 + blocks * body
    for i in range(n - 1):
        edges.append((i, i + 1))
    for k in range(blocks):
        chain = list(range(n, n + side))
        n += side
        edges.append((0, chain[0]))
        edges.extend(zip(chain[:-1], chain[1:], strict=True))
        edges.append((chain[-1], 1 + k * body + 2))
        chains.append(chain)
    return n, np.asarray(edges, dtype=np.int64), chains


def test_side_chains_sit_directly_above_their_consumer() -> None:
    n, edges, chains = _blocks_with_shape_chains(blocks=4, body=10, side=4)
    r = rank_graph(n, edges[:, 0], edges[:, 1])
    assert np.all(r.layer[r.dst] > r.layer[r.src])
    assert np.all(np.diff(r.layer[1 : 1 + 4 * 10]) == 1)  # the spine stays straight
    for k, chain in enumerate(chains):
        consumer = r.layer[1 + k * 10 + 2]
        np.testing.assert_array_equal(r.layer[chain], consumer - np.arange(len(chain), 0, -1))


def test_a_branch_one_step_shorter_keeps_its_siblings_rows() -> None:
    # fork 0 -> (1, 2) and (3, 4, 5) -> join 6: the short branch starts beside the long one
    edges = np.array([(0, 1), (1, 2), (2, 6), (0, 3), (3, 4), (4, 5), (5, 6)])
    r = rank_graph(7, edges[:, 0], edges[:, 1])
    assert r.layer[1] == r.layer[3] and r.layer[2] == r.layer[4]


def test_encoder_blocks_stack_instead_of_standing_side_by_side() -> None:
    from inspector.loaders.registry import load_model
    from inspector.ui.graph.scene import all_groups, prepare

    path = Path(__file__).resolve().parents[2] / "samples" / "torch_encoder.onnx"
    model = load_model(path)
    data = prepare(model, model.graph, all_groups(model.graph))
    top = min(len(f.path) for f in data.frames if f.path[-1].startswith("layers."))
    blocks = sorted((f.rect for f in data.frames
                     if len(f.path) == top and f.path[-1].startswith("layers.")),
                    key=lambda rect: rect[1])
    assert len(blocks) == 2
    for upper, lower in zip(blocks, blocks[1:], strict=False):
        assert upper[3] <= lower[1]  # y-ranges disjoint: one block above the next
