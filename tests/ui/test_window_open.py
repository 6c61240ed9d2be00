"""Open each sample in the whole window and check what a user sees against onnx, h5py and
the sample manifest: tabs, one graph item per node, model facts, node and edge properties."""

from __future__ import annotations

import json
import re

import h5py
import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from PySide6.QtCore import QPoint, Qt, QUrl

from tests.ui.conftest import SAMPLES_DIR

MANIFEST = json.loads((SAMPLES_DIR / "manifest.json").read_text())["files"]
STAT_RE = re.compile(
    r"min\s+(\S+)\s+max\s+(\S+)\s+mean\s+(\S+)\s+std\s+(\S+)\s+sparsity\s+(\S+)"
)


def _stat_blocks(text: str) -> list[np.ndarray]:
    return [np.array([float(v) for v in m.groups()]) for m in STAT_RE.finditer(text)]


def _numpy_stats(a: np.ndarray) -> np.ndarray:
    f = np.asarray(a, dtype=np.float64)
    return np.array([f.min(), f.max(), f.mean(), f.std(), np.count_nonzero(f == 0) / f.size])


def _shown(blocks: list[np.ndarray], expected: np.ndarray) -> bool:
    # The sidebar prints 6 significant digits.
    return any(np.allclose(b, expected, rtol=2e-5, atol=1e-6) for b in blocks)


def _click_world(qtbot, view, x: float, y: float) -> None:
    """Centre the view on a world point and click there, as a user would."""
    view.center_on(x, y)
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(view.width() // 2, view.height() // 2))


def _click_node(qtbot, view, name: str) -> None:
    data = view.scene_data
    i = data.index_of_node[name]
    x0, y0, x1, y1 = data.rects[i]
    _click_world(qtbot, view, (x0 + x1) / 2, (y0 + y1) / 2)


def _plain(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_each_sample_opens_in_a_tab_with_one_item_per_node(main_window, open_model, entry):
    tab = open_model(SAMPLES_DIR / entry["file"])
    assert main_window.current_tab() is tab
    assert main_window.tabs.tabText(main_window.tabs.currentIndex()) == entry["file"]
    tab.view.expand_all()
    nodes = [it for it in tab.view.scene_data.items if it.kind == "node"]
    # Constant nodes that only feed weights are drawn inside their consumers, as Netron does.
    graph = tab.model.graph
    folded = sum(1 for n in graph.nodes if n.category == "constant"
                 and not any(graph.consumers(o) or o in graph.outputs for o in n.outputs))
    assert len(nodes) == entry["nodes"] - folded
    text = _plain(main_window.properties.html())
    assert f"format {entry['format']}" in text
    assert f"parameters {entry['parameters']:,}" in text
    for value in entry["inputs"] + entry["outputs"]:
        assert value["name"] in text
    assert entry["file"] in main_window.windowTitle()


def test_onnx_node_properties_match_the_protobuf(qtbot, main_window, open_model, tmp_path, monkeypatch):
    path = SAMPLES_DIR / "digits_cnn.onnx"
    proto = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    shapes = {
        v.name: [d.dim_value if d.HasField("dim_value") else None for d in v.type.tensor_type.shape.dim]
        for v in list(proto.graph.value_info) + list(proto.graph.output)
    }
    conv = next(n for n in proto.graph.node if n.op_type == "Conv")
    tab = open_model(path)
    selected = []
    tab.view.node_selected.connect(selected.append)
    _click_node(qtbot, tab.view, conv.name)
    assert selected and selected[-1].name == conv.name
    text = main_window.properties.html()
    plain = _plain(text)
    assert plain.startswith("Conv")
    for a in conv.attribute:
        assert a.name in text
    for name in conv.input:
        if name not in inits:
            assert name in text
    out = conv.output[0]
    dims = "x".join("?" if d is None else str(d) for d in shapes[out])
    assert f"{out} float32[{dims}]" in plain
    blocks = _stat_blocks(text)
    weights = [inits[n] for n in conv.input if n in inits]
    assert len(weights) == 2
    for w in weights:
        assert _shown(blocks, _numpy_stats(w))
    schema = onnx.defs.get_schema("Conv", proto.opset_import[0].version)
    assert _plain(schema.doc)[:60] in plain
    # The weight's "export .npy" link writes the very tensor.
    node = selected[-1]
    kernel = next(w for w in node.weights if w.tensor.shape == inits[conv.input[1]].shape)
    target = tmp_path / "kernel.npy"
    monkeypatch.setattr(
        "inspector.ui.sidebar.QFileDialog.getSaveFileName", lambda *a, **k: (str(target), "")
    )
    main_window.properties.browser.anchorClicked.emit(QUrl(f"export:{kernel.name}"))
    np.testing.assert_array_equal(np.load(target), inits[conv.input[1]])


def test_selecting_an_edge_shows_producer_and_consumers(qtbot, main_window, open_model):
    path = SAMPLES_DIR / "iris_mlp.onnx"
    proto = onnx.load(str(path))
    tab = open_model(path)
    data = tab.view.scene_data
    chosen = []
    tab.view.value_selected.connect(chosen.append)
    # Click the middle of the first straight piece of a route between two nodes.
    for e, (a, b) in enumerate(data.edges):
        if data.items[a].kind != "node" or data.items[b].kind != "node":
            continue
        s = int(np.flatnonzero(data.segment_edge == e)[0])
        x0, y0, x1, y1 = data.segments[s]
        _click_world(qtbot, tab.view, (x0 + x1) / 2, (y0 + y1) / 2)
        if chosen:
            break
    assert chosen, "no edge could be clicked"
    value = chosen[-1]
    producer = next(n for n in proto.graph.node if value in n.output)
    consumers = [n for n in proto.graph.node if value in n.input]
    assert consumers
    plain = _plain(main_window.properties.html())
    assert f"producer {producer.name} ({producer.op_type})" in plain
    for c in consumers:
        assert f"consumer {c.name} ({c.op_type})" in plain


def test_keras_h5_layer_weights_match_h5py(qtbot, main_window, open_model):
    path = SAMPLES_DIR / "digits_cnn.h5"
    with h5py.File(path, "r") as f:
        group = f["model_weights"]["conv1"]
        names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
        expected = [np.asarray(group[n]) for n in names]
        config = json.loads(f.attrs["model_config"])
    layer = next(la for la in config["config"]["layers"] if la["config"].get("name") == "conv1")
    tab = open_model(path)
    _click_node(qtbot, tab.view, "conv1")
    text = main_window.properties.html()
    assert _plain(text).startswith(layer["class_name"])
    for key in ("filters", "kernel_size", "activation"):
        assert key in text
    blocks = _stat_blocks(text)
    for a in expected:
        assert _shown(blocks, _numpy_stats(a))
    assert f"{sum(a.size for a in expected):,} parameters" in text
