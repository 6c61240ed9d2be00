"""Whole-graph export (PNG, SVG) and `render_model`, checked against the model files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

from inspector.loaders.registry import load_model
from inspector.ui.graph.style import category_color
from inspector.ui.graph.view import GraphView
from inspector.ui.render import render_model
from tests.ui.view_models import conv_net

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture(scope="session")
def conv_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return conv_net(tmp_path_factory.mktemp("render") / "conv.onnx")


def _colors_present(png: Path, colors: list[tuple[int, int, int]]) -> list[bool]:
    arr = np.asarray(Image.open(png).convert("RGB"))
    return [bool((arr == c).all(axis=2).sum() > 30) for c in colors]


def test_export_png_is_a_real_picture(qtbot, conv_path, tmp_path) -> None:
    view = GraphView()
    qtbot.addWidget(view)
    view.set_model(load_model(conv_path))
    out = view.export_png(tmp_path / "g.png", scale=1.0)
    arr = np.asarray(Image.open(out).convert("RGB"))
    assert arr.shape[0] > 400  # the whole graph, not the small widget
    assert len(np.unique(arr.reshape(-1, 3), axis=0)) > 50
    cats = ["layer", "activation", "normalization", "pooling"]
    assert all(_colors_present(out, [category_color(c) for c in cats]))


def test_export_svg_has_labels_and_weight_shapes(qtbot, conv_path, tmp_path) -> None:
    proto = onnx.load(conv_path)
    view = GraphView()
    qtbot.addWidget(view)
    view.set_model(load_model(conv_path))
    text = view.export_svg(tmp_path / "g.svg").read_text(encoding="utf-8")
    for op in {n.op_type for n in proto.graph.node}:
        assert op in text
    for init in proto.graph.initializer:
        if init.name.endswith(".W"):
            assert "x".join(str(d) for d in init.dims) in text


def test_dark_export_has_dark_background(qtbot, conv_path, tmp_path) -> None:
    view = GraphView()
    qtbot.addWidget(view)
    view.set_model(load_model(conv_path))
    view.set_palette("dark")
    arr = np.asarray(Image.open(view.export_png(tmp_path / "d.png")).convert("L"))
    assert arr[0, 0] < 60


@pytest.mark.parametrize("horizontal", [False, True])
def test_render_model_png(conv_path, tmp_path, horizontal) -> None:
    out = tmp_path / "r.png"
    render_model(load_model(conv_path), out, horizontal=horizontal)
    w, h = Image.open(out).size
    assert (w > h) == horizontal  # a chain is long along the layout direction


def test_render_keras_sample_svg_names_every_layer_class(tmp_path) -> None:
    path = SAMPLES / "digits_cnn.keras"
    if not path.exists():
        pytest.skip("samples not generated")
    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
    classes = {layer["class_name"] for layer in config["config"]["layers"]}
    out = tmp_path / "k.svg"
    render_model(load_model(path), out)
    text = out.read_text(encoding="utf-8")
    missing = [c for c in classes if c not in text and c != "InputLayer"]
    assert not missing


def test_render_rejects_other_suffixes(conv_path, tmp_path) -> None:
    with pytest.raises(ValueError, match="png or .svg"):
        render_model(load_model(conv_path), tmp_path / "x.jpg")


def test_export_holds_every_edge_label(tmp_path):
    """Labels beside a skip connection stick out past the nodes; the export grows to hold them."""
    from inspector.loaders import load_model
    from inspector.ui.graph.export import export_bounds
    from inspector.ui.graph.labels import LabelPlacer
    from inspector.ui.graph.scene import SceneOptions, prepare

    samples = Path(__file__).resolve().parents[2] / "samples"
    model = load_model(samples / "torch_resnet.onnx")
    data = prepare(model, None, None, SceneOptions())
    x0, y0, x1, y1 = export_bounds(data)
    placer = LabelPlacer(data)
    boxes = [b for b in (placer.box(e) for e in range(len(data.edges))) if b is not None]
    assert boxes
    assert all(x0 <= b[0] and b[2] <= x1 and y0 <= b[1] and b[3] <= y1 for b in boxes)
    assert x1 > data.bounds[2]  # this graph's skip-connection label does stick out


def _chain(path: Path, n: int) -> Path:
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Relu", [f"x{i}"], [f"x{i + 1}"], name=f"relu_{i}") for i in range(n)]
    g = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x0", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info(f"x{n}", TensorProto.FLOAT, [1, 4])])
    onnx.save(helper.make_model(g), str(path))
    return path


@pytest.mark.parametrize("horizontal", [False, True])
def test_a_long_chain_wraps_into_readable_columns(tmp_path, horizontal) -> None:
    """A 1,000-node chain drawn whole would be ~150x70,000 px, capped to unreadable type; it
    wraps into columns (rows when left to right) at a readable scale, every node in one piece."""
    from inspector.ui.graph.export import READABLE_SCALE, png_layout
    from inspector.ui.graph.scene import SceneOptions, prepare

    model = load_model(_chain(tmp_path / "chain.onnx", 1000))
    data = prepare(model, model.graph, None, SceneOptions(direction="LR" if horizontal else "TB"))
    lay = png_layout(data, 1.0)
    assert len(lay.bands) > 5 and lay.scale >= READABLE_SCALE and lay.vertical == (not horizontal)
    # Every cut lies between nodes, never through one.
    a, b = (1, 3) if lay.vertical else (0, 2)
    for _lo, cut in lay.bands[:-1]:
        assert not ((data.rects[:, a] < cut) & (data.rects[:, b] > cut)).any()
    note = render_model(model, tmp_path / "chain.png", horizontal=horizontal)
    assert f"wrapped into {len(lay.bands)}" in note
    img = np.asarray(Image.open(tmp_path / "chain.png").convert("L"))
    h, w = img.shape
    assert max(h, w) / min(h, w) < 3  # a page, not a ribbon
    # Ink in every band: the columns (rows) hold the graph, not blank space.
    across = img.min(axis=0) if lay.vertical else img.min(axis=1)
    n = len(lay.bands)
    assert all((across[i * len(across) // n:(i + 1) * len(across) // n] < 128).any() for i in range(n))


def test_a_small_graph_is_not_wrapped(conv_path, tmp_path) -> None:
    assert render_model(load_model(conv_path), tmp_path / "c.png") == ""
