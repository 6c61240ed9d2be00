"""Issue 10, item 8 (layout), on small onnx.helper models with the shape in question, in the
real graph view: SiLU edges kept beside their Sigmoid, the view after Collapse All, edge
labels of parallel edges, and no frame around a scope of one op."""

from __future__ import annotations

import numpy as np

from inspector.ui.graph.labels import LabelPlacer
from tests.ui import issue10_models as models


def _conv_mul_extents(data) -> list[float]:
    out = []
    for (a, b), route in zip(data.edges.tolist(), data.routes, strict=True):
        if data.contents[a].title == "Conv" and data.contents[b].title == "Mul":
            out.append(float(np.ptp(route[:, 0])))
    return out


def test_silu_conv_to_mul_edges_stay_beside_the_sigmoid(main_window, open_model, tmp_path):
    tab = open_model(models.yolo_like(tmp_path / "yolo.onnx"))
    tab.view.expand_all()
    data = tab.view.scene_data
    extents = _conv_mul_extents(data)
    assert len(extents) > 30
    conv_w = max(r[2] - r[0] for r, c in zip(data.rects, data.contents, strict=True)
                 if c.title == "Conv")
    # the edge bends round its Sigmoid (half a Conv wide plus a gap), never ~400 px out
    assert max(extents) < conv_w, (max(extents), conv_w)


def _inside(inner, outer, eps: float = 1e-6) -> bool:
    return (inner[0] >= outer[0] - eps and inner[1] >= outer[1] - eps
            and inner[2] <= outer[2] + eps and inner[3] <= outer[3] + eps)


def _frame_members(data) -> dict[tuple[str, ...], int]:
    """Per drawn frame: items and child frames directly inside it (geometrically)."""
    frames = data.frames
    out = {}
    for f in frames:
        kids = [g for g in frames if g is not f and _inside(g.rect, f.rect)]
        direct_kids = [g for g in kids if not any(h is not g and _inside(g.rect, h.rect) for h in kids)]
        items = [r for r in data.rects if _inside(r, f.rect)
                 and not any(_inside(r, g.rect) for g in kids)]
        out[f.path] = len(items) + len(direct_kids)
    return out


def test_a_scope_of_one_op_gets_no_frame(main_window, open_model, tmp_path):
    tab = open_model(models.scoped_encoder(tmp_path / "enc.onnx"))
    tab.view.expand_all()
    data = tab.view.scene_data
    members = _frame_members(data)
    assert members, "the scopes that hold several things keep their frames"
    assert min(members.values()) >= 2, {p: m for p, m in members.items() if m < 2}
    # /encoder/layers.0/linear1 holds one MatMul: no frame, the MatMul sits in layers.0's
    paths = {f.path for f in data.frames}
    assert ("encoder", "layers.0") in paths and ("encoder", "layers.0", "linear1") not in paths

    tab = open_model(models.yolo_like(tmp_path / "yolo.onnx"))
    tab.view.expand_all()
    members = _frame_members(tab.view.scene_data)
    assert min(members.values()) >= 2
    assert not any(p[-1] == "conv" for p in members)  # YOLOv8's conv/ scope holds one Conv


def test_labels_of_parallel_edges_do_not_overlap(main_window, open_model, tmp_path):
    tab = open_model(models.parallel_edges(tmp_path / "heads.onnx"))
    data = tab.view.scene_data
    boxes = np.array(list(LabelPlacer(data).boxes().values()))
    assert len(boxes) >= 10
    a, b = boxes[:, None, :], boxes[None, :, :]
    meet = (a[..., 0] < b[..., 2]) & (b[..., 0] < a[..., 2]) & (a[..., 1] < b[..., 3]) & (b[..., 1] < a[..., 3])
    np.fill_diagonal(meet, False)
    assert not meet.any(), np.argwhere(meet).tolist()
    # the placement does not depend on which edges were asked for first
    fresh = LabelPlacer(data)
    for e in reversed(range(len(data.routes))):
        fresh.box(e)
    assert np.array_equal(np.array(list(fresh.boxes().values())), boxes)


def test_collapse_all_shows_the_graph_in_the_middle(qtbot, main_window, open_model, tmp_path):
    tab = open_model(models.yolo_like(tmp_path / "yolo.onnx"))
    view = tab.view
    main_window.resize(1600, 1000)
    view.expand_all()
    big = view.scene_data
    view.center_on(big.width, big.height)  # looking at the far bottom-right corner
    view.collapse_all()
    data = view.scene_data
    assert len(data.items) < len(big.items)
    x0, y0, x1, y1 = data.bounds
    wx0, wy0, wx1, wy1 = view._world_rect()
    # the whole width in view, centred, and the top of the graph on screen
    assert wx0 <= x0 and x1 <= wx1
    assert abs((wx0 + wx1) / 2 - (x0 + x1) / 2) < 0.05 * (wx1 - wx0)
    assert wy0 <= y0 < wy1
