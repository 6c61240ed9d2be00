"""GraphView on real ONNX models: items, selection, groups, subgraphs, LOD, palettes."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import onnx
import pytest
from PySide6.QtCore import QPointF, Qt

from inspector.loaders.registry import load_model
from inspector.ui.graph.view import GraphView
from tests.ui.view_models import conv_net, if_model, transformer


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("graph_models")
    conv_net(d / "conv.onnx")
    transformer(d / "encoder.onnx")
    if_model(d / "if.onnx")
    return d


@pytest.fixture
def view(qtbot) -> GraphView:
    v = GraphView()
    v.resize(900, 1100)
    qtbot.addWidget(v)
    v.show()
    return v


def _screen_center(v: GraphView, i: int) -> QPointF:
    x, y = v._item_center(i)
    return QPointF(x * v.zoom() + v._tx, y * v.zoom() + v._ty)


def test_one_drawn_item_per_onnx_node_input_output(view, model_dir) -> None:
    proto = onnx.load(model_dir / "conv.onnx")
    view.set_model(load_model(model_dir / "conv.onnx"))
    expected = len(proto.graph.node) + len(proto.graph.input) + len(proto.graph.output)
    assert view.item_count() == expected
    view.render_image(900, 1100)  # fitted: everything is in view
    assert view.painter.items_drawn == expected
    kinds = [it.kind for it in view.scene_data.items]
    assert kinds.count("input") == 1 and kinds.count("output") == 1


def test_click_selects_node_and_emits_it(view, qtbot, model_dir) -> None:
    view.set_model(load_model(model_dir / "conv.onnx"))
    view.set_zoom(1.0)
    i = view.scene_data.index_of_node["bn1"]
    view.center_on(*view._item_center(i))
    with qtbot.waitSignal(view.node_selected) as sig:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=_screen_center(view, i).toPoint())
    assert sig.args[0].name == "bn1" and sig.args[0].op_type == "BatchNormalization"
    with qtbot.waitSignal(view.node_selected) as sig:
        assert view.select_node("fc")
    assert sig.args[0].name == "fc"


def test_click_on_edge_selects_its_value(view, qtbot, model_dir) -> None:
    view.set_model(load_model(model_dir / "conv.onnx"))
    data = view.scene_data
    e = data.edge_values.index("relu0")
    route = data.routes[e]
    mid = (route[0] + route[-1]) / 2
    view.set_zoom(1.0)
    view.center_on(*mid)
    with qtbot.waitSignal(view.value_selected) as sig:
        view.click_at(QPointF(view.width() / 2, view.height() / 2))
    assert sig.args[0] == "relu0"


def test_arrow_keys_follow_onnx_edges(view, qtbot, model_dir) -> None:
    proto = onnx.load(model_dir / "conv.onnx")
    consumer = next(n.name for n in proto.graph.node if "conv1" in n.input)
    producer = next(n.name for n in proto.graph.node if "bn1" in n.output)
    view.set_model(load_model(model_dir / "conv.onnx"))
    view.select_node("conv1")
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert view.selected_node().name == consumer
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert view.selected_node().name == "conv1"
    view.select_node("relu1")
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert view.selected_node().name == producer


def test_groups_collapse_and_expand(view, qtbot, model_dir) -> None:
    proto = onnx.load(model_dir / "encoder.onnx")
    view.set_model(load_model(model_dir / "encoder.onnx"))
    view.expand_all()
    every = len(proto.graph.node) + len(proto.graph.input) + len(proto.graph.output)
    assert view.item_count() == every
    assert any(f.path == ("encoder", "layer.1", "attention") for f in view.scene_data.frames)
    view.collapse_all()
    collapsed = view.item_count()
    assert collapsed < every
    with qtbot.waitSignal(view.group_toggled) as sig:
        view.toggle_group(("encoder",))
    assert sig.args[0] == ("encoder",)
    assert collapsed < view.item_count() < every
    groups = [it for it in view.scene_data.items if it.kind == "group"]
    assert sorted(tuple(g.group) for g in groups) == [("encoder", f"layer.{i}") for i in range(3)]
    in_layer0 = sum(1 for n in proto.graph.node if n.name.startswith("/encoder/layer.0/"))
    assert next(g for g in groups if g.group[-1] == "layer.0").count == in_layer0


def test_double_click_expands_group(view, qtbot, model_dir) -> None:
    view.set_model(load_model(model_dir / "encoder.onnx"))
    view.collapse_all()
    before = view.item_count()
    i = next(k for k, it in enumerate(view.scene_data.items) if it.kind == "group")
    with qtbot.waitSignal(view.group_toggled):
        qtbot.mouseDClick(view, Qt.MouseButton.LeftButton, pos=_screen_center(view, i).toPoint())
    assert view.item_count() > before


def test_select_node_inside_collapsed_group_expands_it(view, model_dir) -> None:
    view.set_model(load_model(model_dir / "encoder.onnx"))
    view.collapse_all()
    assert view.select_node("/encoder/layer.2/ffn/Relu")
    assert view.selected_node().op_type == "Relu"


def test_trace_matches_onnx_lineage(view, model_dir) -> None:
    proto = onnx.load(model_dir / "conv.onnx")
    producers = {o: n for n in proto.graph.node for o in n.output}
    want, todo = {"relu1"}, ["relu1"]
    while todo:
        name = todo.pop()
        node = next(n for n in proto.graph.node if n.name == name)
        for i in node.input:
            if i in producers and producers[i].name not in want:
                want.add(producers[i].name)
                todo.append(producers[i].name)
    view.set_model(load_model(model_dir / "conv.onnx"))
    assert view.trace("relu1", "ancestors") == want
    dimmed = view._dimmed
    for name, i in view.scene_data.index_of_node.items():
        assert bool(dimmed[i]) == (name not in want)
    view.highlight(None)
    assert view._dimmed is None


def test_subgraph_breadcrumbs(view, qtbot, model_dir) -> None:
    view.set_model(load_model(model_dir / "if.onnx"))
    with qtbot.waitSignal(view.breadcrumbs_changed) as sig:
        view.enter_subgraph("branch", "then_branch")
    assert len(sig.args[0]) == 2 and sig.args[0][1] == "branch/then_branch"
    assert [it.node.op_type for it in view.scene_data.items if it.kind == "node"] == ["Relu"]
    with qtbot.waitSignal(view.breadcrumbs_changed) as sig:
        view.leave_subgraph()
    assert len(sig.args[0]) == 1
    assert any(it.kind == "node" and it.node.op_type == "If" for it in view.scene_data.items)


def test_no_text_when_zoomed_far_out(view, model_dir) -> None:
    view.set_model(load_model(model_dir / "encoder.onnx"))
    view.expand_all()
    view.set_zoom(0.05)
    before = view.painter.text_calls
    view.render_image(900, 1100)
    assert view.painter.text_calls == before
    assert view.painter.items_drawn > 0
    view.set_zoom(1.0)
    view.render_image(900, 1100)
    assert view.painter.text_calls > before


def test_dark_palette_changes_background(view, model_dir) -> None:
    view.set_model(load_model(model_dir / "conv.onnx"))
    light = view.grab().toImage().pixelColor(2, 2)
    view.set_palette("dark")
    dark = view.grab().toImage().pixelColor(2, 2)
    assert light.lightness() > 200 and dark.lightness() < 60


def test_node_colors_are_drawn(view, model_dir) -> None:
    view.set_model(load_model(model_dir / "conv.onnx"))
    view.set_zoom(1.0)
    view.center_on(*view._item_center(view.scene_data.index_of_node["conv0"]))
    magenta = (250, 0, 250)
    before = np.asarray(_rgb(view.render_image(900, 1100)))
    view.set_node_colors({"conv0": magenta}, [("max |activation|", magenta)])
    after = np.asarray(_rgb(view.render_image(900, 1100)))
    assert not (before == magenta).all(axis=2).any()
    assert (after == magenta).all(axis=2).sum() > 200


def test_prepare_off_the_gui_thread(view, model_dir) -> None:
    model = load_model(model_dir / "encoder.onnx")
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("d", GraphView.prepare(model)))
    t.start()
    t.join(60)
    view.show_scene(out["d"])
    assert view.item_count() == len(out["d"].items) > 0


def _rgb(img):
    from PIL import Image

    img = img.convertToFormat(img.Format.Format_RGB888)
    return Image.frombytes("RGB", (img.width(), img.height()),
                           bytes(img.constBits())[: img.width() * img.height() * 3])


# ------------------------------------------------------------------ edge shape labels
SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _label_scenes(model_dir: Path):
    """Scenes of real models, every group expanded, both directions."""
    from inspector.ui.graph.scene import SceneOptions, all_groups, prepare

    paths = [SAMPLES / "digits_cnn.onnx", SAMPLES / "digits_cnn.keras",
             SAMPLES / "trend_gru.onnx", model_dir / "encoder.onnx", model_dir / "conv.onnx"]
    for path in paths:
        if not path.exists():
            continue
        model = load_model(path)
        for direction in ("TB", "LR"):
            yield path.name, direction, prepare(model, model.graph, all_groups(model.graph),
                                                SceneOptions(direction=direction))


def _drawn_curve(pts: np.ndarray) -> np.ndarray:
    """Points along the edge as the painter draws it: a straight line for two points, else
    the layout's own Bezier pieces (`smooth_path`)."""
    from inspector.layout import smooth_path

    t = np.linspace(0, 1, 33)[:, None]
    if len(pts) == 2:
        return pts[0] + (pts[1] - pts[0]) * t
    out, start = [], np.asarray(pts[0], dtype=float)
    for c1, c2, end in smooth_path(pts):
        c1, c2, end = map(np.asarray, (c1, c2, end))
        out.append((1 - t) ** 3 * start + 3 * (1 - t) ** 2 * t * c1
                   + 3 * (1 - t) * t**2 * c2 + t**3 * end)
        start = end
    return np.concatenate(out)


def _intersects(b, rects: np.ndarray) -> np.ndarray:
    return ((rects[:, 0] < b[2]) & (rects[:, 2] > b[0])
            & (rects[:, 1] < b[3]) & (rects[:, 3] > b[1]))


def test_edge_labels_clear_nodes_and_frame_titles(model_dir) -> None:
    from inspector.ui.graph.labels import LabelPlacer
    from inspector.ui.graph.scene import FRAME_LABEL_H

    checked = 0
    for name, direction, data in _label_scenes(model_dir):
        boxes = LabelPlacer(data).boxes()
        # one label per tensor leaving a producer, however many consumers it fans out to
        labelled = {(int(data.edges[e][0]), data.edge_values[e])
                    for e, t in enumerate(data.edge_labels) if t and len(data.routes[e]) >= 2}
        got = sorted((int(data.edges[e][0]), data.edge_values[e]) for e in boxes)
        assert got == sorted(labelled), (name, direction)
        bands = np.array([(f.rect[0], f.rect[1], f.rect[2], f.rect[1] + FRAME_LABEL_H)
                          for f in data.frames]).reshape(-1, 4)
        for e, b in boxes.items():
            where = (name, direction, data.edge_labels[e])
            assert not _intersects(b, data.rects).any(), where
            assert not _intersects(b, bands).any(), where
            # beside its own edge: the drawn curve does not run through the label
            curve = _drawn_curve(data.routes[e])
            inside = ((curve[:, 0] > b[0]) & (curve[:, 0] < b[2])
                      & (curve[:, 1] > b[1]) & (curve[:, 1] < b[3]))
            assert not inside.any(), where
            checked += 1
    assert checked > 50


def test_left_to_right_labels_do_not_overlap_each_other(model_dir) -> None:
    from inspector.ui.graph.labels import LabelPlacer

    for name, direction, data in _label_scenes(model_dir):
        if direction != "LR" or name != "digits_cnn.onnx":
            continue
        boxes = np.array(list(LabelPlacer(data).boxes().values()))
        for k, b in enumerate(boxes):
            others = np.delete(boxes, k, axis=0)
            assert not _intersects(b, others).any()


def test_labels_are_painted_where_placed(view, model_dir) -> None:
    view.set_model(load_model(SAMPLES / "digits_cnn.onnx"))
    view.expand_all()
    view.set_palette("dark")
    view.set_zoom(1.5)
    data = view.scene_data
    e = next(k for k, t in enumerate(data.edge_labels) if t.startswith("batch"))
    view.center_on(*data.routes[e][0])
    img = np.asarray(_rgb(view.render_image(900, 1100))).astype(int)
    box = view.painter._labels.box(e)
    s, tx, ty = view.zoom(), view._tx, view._ty
    x0, y0, x1, y1 = (int(box[0] * s + tx), int(box[1] * s + ty), int(box[2] * s + tx),
                      int(box[3] * s + ty))
    patch = img[y0:y1, x0:x1]
    bg = np.array(view._palette.background)
    assert (np.abs(patch - bg).sum(axis=2) > 120).sum() > 20  # readable ink in the box


# ------------------------------------------------------------------ legibility
def _wcag(a, b) -> float:
    """WCAG 2 contrast ratio, written out here independently of style.contrast."""
    def lum(rgb):
        c = np.asarray(rgb, dtype=float) / 255
        c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        return float(c @ [0.2126, 0.7152, 0.0722])
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("name", ["light", "dark"])
def test_palette_text_and_lines_are_legible(name) -> None:
    from inspector.ui.graph.style import CATEGORY_COLORS, palette, text_on

    pal = palette(name)
    for cat in CATEGORY_COLORS:
        head = pal.header(cat)
        assert _wcag(head, text_on(head)) >= 4.5, (name, cat)  # WCAG AA for text
    for fg, bg in ((pal.node_text, pal.node_body), (pal.key_text, pal.node_body),
                   (pal.edge_label, pal.background), (pal.frame_text, pal.frame_fill),
                   (pal.overlay_text, pal.overlay_fill), (pal.node_text, pal.io_fill)):
        assert _wcag(fg, bg) >= 4.5, (name, fg, bg)
    for line in (pal.edge, pal.selection, pal.node_border):
        assert _wcag(line, pal.background) >= 3.0, (name, line)  # WCAG non-text minimum


def test_dark_palette_has_no_glaring_headers() -> None:
    from inspector.ui.graph.style import CATEGORY_COLORS, palette

    dark = palette("dark")
    for cat in CATEGORY_COLORS:
        # no header far brighter than the dark canvas: light greys glare next to it
        assert _wcag(dark.header(cat), dark.background) < 5.0, cat


def test_dark_headers_are_drawn_in_the_dark_palette(view, model_dir) -> None:
    from inspector.ui.graph.style import palette

    view.set_model(load_model(SAMPLES / "digits_cnn.onnx"))
    view.expand_all()
    view.set_zoom(1.0)
    add = next(i for i, it in enumerate(view.scene_data.items)
               if it.kind == "node" and it.node.op_type == "Add")
    view.center_on(*view._item_center(add))
    view.set_palette("dark")
    img = np.asarray(_rgb(view.render_image(900, 1100)))
    dark_math = palette("dark").header("math")
    assert dark_math != palette("light").header("math")
    assert (img == dark_math).all(axis=2).sum() > 200


def test_trace_keeps_the_models_input_lit(view, model_dir) -> None:
    view.set_model(load_model(model_dir / "conv.onnx"))
    view.trace("relu1", "ancestors")
    kinds = [it.kind for it in view.scene_data.items]
    assert not view._dimmed[kinds.index("input")]
    assert view._dimmed[kinds.index("output")]
    view.trace("relu1", "descendants")
    assert view._dimmed[kinds.index("input")]
    assert not view._dimmed[kinds.index("output")]


def test_long_names_are_cut_in_the_node_and_whole_in_the_tooltip(view, model_dir) -> None:
    from inspector.ui.graph.node_content import MAX_NAME

    model = load_model(model_dir / "encoder.onnx")
    longest = max((n for n in model.graph.nodes), key=lambda n: len(n.name))
    assert len(longest.name) > MAX_NAME
    view.set_model(model)
    view.expand_all()
    view.set_show_names(True)
    i = view.scene_data.index_of_node[longest.name]
    shown = view.scene_data.contents[i].subtitle
    assert len(shown) == MAX_NAME and shown.startswith("\u2026")
    assert longest.name.endswith(shown[1:])
    view.set_zoom(1.0)
    view.center_on(*view._item_center(i))
    tip = view.tooltip_at(_screen_center(view, i))
    assert longest.name in tip and longest.op_type in tip


def test_label_placement_spreads_over_frames_and_completes(view, model_dir) -> None:
    from PySide6.QtGui import QImage, QPainter

    view.set_model(load_model(model_dir / "encoder.onnx"))
    view.expand_all()
    view.set_zoom(1.0)
    view.painter.label_budget = 1e-9  # a machine too slow for more than one label a frame
    img = QImage(900, 1100, QImage.Format.Format_ARGB32_Premultiplied)
    frames = 0
    while True:
        p = QPainter(img)
        view.paint_viewport(p, 900, 1100)
        p.end()
        frames += 1
        if not view.painter.labels_pending:
            break
        assert frames < 500
    assert frames > 2
    placer = view.painter._labels
    # every label the complete picture draws is now placed, at the spot it would get at once
    from inspector.ui.graph.labels import LabelPlacer

    fresh = LabelPlacer(view.scene_data)
    segs = view.scene_data.segment_index.query(*view._world_rect(900, 1100))
    for e in np.unique(view.scene_data.segment_edge[segs]).tolist():
        assert placer.placed(e) and placer.box(e) == fresh.box(e)


def test_no_labels_pending_once_zoomed_out(view, model_dir) -> None:
    view.set_model(load_model(model_dir / "encoder.onnx"))
    view.expand_all()
    view.set_zoom(1.0)
    view.painter.label_budget = 1e-9
    view.grab()
    assert view.painter.labels_pending  # more labels than one frame may place
    view.set_zoom(0.05)
    view.grab()
    assert not view.painter.labels_pending  # or the view would repaint for ever


def test_dark_app_palette_greys_out_disabled_text(qtbot) -> None:
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    from inspector.ui.theme import _dark_palette

    assert QApplication.instance() is not None
    p = _dark_palette()
    on = p.color(QPalette.ColorGroup.Active, QPalette.ColorRole.ButtonText)
    off = p.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
    base = p.color(QPalette.ColorRole.Button)
    rgb = [(c.red(), c.green(), c.blue()) for c in (on, off, base)]
    assert _wcag(rgb[0], rgb[2]) >= 7.0  # enabled text stands out
    assert 1.5 < _wcag(rgb[1], rgb[2]) < _wcag(rgb[0], rgb[2]) / 2  # disabled is visibly dim
    # the properties sidebar writes its section headings in palette(mid) on Base
    mid, text_base = p.color(QPalette.ColorRole.Mid), p.color(QPalette.ColorRole.Base)
    assert _wcag((mid.red(), mid.green(), mid.blue()),
                 (text_base.red(), text_base.green(), text_base.blue())) >= 4.5


def test_minimap_draws_from_its_own_small_raster(view, qtbot, model_dir) -> None:
    """The corner map has its own small raster, rebuilt when the colours change; the 12-MP
    far-zoom raster is not built for it. A click on the map still centres the view there."""
    from inspector.ui.graph.minimap import MINIMAP_PIXELS

    model = load_model(model_dir / "encoder.onnx")
    view.set_model(model)
    view.expand_all()
    view.set_zoom(1.5)
    view.render_image(900, 1100)
    mini = view._mini_overview
    assert mini.image is not None and view.minimap.rect.width() > 0
    assert mini.image.width() * mini.image.height() <= MINIMAP_PIXELS
    assert view._overview.image is None  # far zoom never asked for the big raster
    first = mini.image
    view.set_node_colors({n.name: (200, 30, 30) for n in model.graph.nodes})
    view.render_image(900, 1100)
    assert mini.image is not first  # new colours, new map

    r = view.minimap.rect
    x0, y0, x1, y1 = mini.bounds
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton,
                     pos=QPointF(r.left() + r.width() / 2, r.top() + r.height() * 0.9).toPoint())
    wx0, wy0, wx1, wy1 = view._world_rect()
    assert abs((wy0 + wy1) / 2 - (y0 + 0.9 * (y1 - y0))) < 0.05 * (y1 - y0)
