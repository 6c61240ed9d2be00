"""The neuron view's live updates and collapsing, and the input editor's throttled edits."""

from __future__ import annotations

import numpy as np

from inspector.ir import Value
from inspector.ui.panels import InputEditor, NeuronView
from inspector.ui.panels.neuron_view import level_width


def _net(rng, x, sizes=(4, 6, 3)):
    ws = [rng.normal(size=(a, b)) for a, b in zip(sizes, sizes[1:], strict=False)]
    layers, h = [("in", None, None, x)], x
    for k, w in enumerate(ws):
        h = np.tanh(h @ w)
        layers.append((f"l{k}", w, None, h))
    return layers


def test_restyles_without_rebuilding(qtbot) -> None:
    rng = np.random.default_rng(0)
    view = NeuronView()
    qtbot.addWidget(view)
    layers = _net(rng, rng.normal(size=4))
    view.set_network(layers)
    first = view.unit_colors(1).copy()
    new = [(n, w, b, None if a is None else -a) for n, w, b, a in layers]
    view.set_network(new)
    assert view.rebuilds == 1
    assert not np.array_equal(view.unit_colors(1), first)
    # Stronger |activation| -> more saturated colour; sign picks blue or orange.
    a = new[1][3]
    colors = view.unit_colors(1).astype(int)
    strongest = int(np.argmax(np.abs(a)))
    expected = (31, 119, 180) if a[strongest] >= 0 else (245, 130, 32)
    assert tuple(colors[strongest]) == expected
    view.set_network(_net(rng, rng.normal(size=4), sizes=(4, 7, 3)))
    assert view.rebuilds == 2


def test_widths_follow_magnitude_and_big_layers_collapse(qtbot) -> None:
    view = NeuronView(max_units=10)
    qtbot.addWidget(view)
    w = np.array([[0.1, -0.5], [1.0, -2.0]])
    view.set_network([("in", None, None, np.ones(2)), ("out", w, None, np.ones(2))])
    styles = {(i, j): (rgb, width) for _, i, j, rgb, width in view.edge_styles()}
    assert styles[(1, 1)][1] == level_width(8) > styles[(1, 0)][1] > styles[(0, 0)][1]
    assert styles[(0, 1)][0] == (245, 130, 32) and styles[(1, 0)][0] == (31, 119, 180)
    rng = np.random.default_rng(1)
    view.set_network(_net(rng, rng.normal(size=4), sizes=(4, 20, 3)))
    assert view.edge_styles() == []  # every edge touches the collapsed 20-unit layer
    assert "more than 10 units" in view.notes()[0]


def test_input_editor_emits_throttled_edits(qtbot) -> None:
    editor = InputEditor()
    qtbot.addWidget(editor)
    x = np.array([[5.1, 3.5, 1.4, 0.2]], dtype=np.float32)
    editor.set_inputs([Value("features", (None, 4), "float32")], {"features": x},
                      {"features": ["sepal length", "sepal width", "petal length", "petal width"]})
    rows = editor.rows["features"]
    assert [r.label.text() for r in rows][0] == "sepal length"
    received = []
    editor.inputs_edited.connect(received.append)
    with qtbot.waitSignal(editor.inputs_edited, timeout=2000):
        for v in (1.0, 2.0, 3.0):
            rows[2].spin.setValue(v)
    assert len(received) == 1  # a burst of edits arrives as one update
    got = received[0]["features"]
    assert got.shape == x.shape and got[0, 2] == 3.0 and got[0, 0] == x[0, 0]
    lo, hi = rows[0].lo, rows[0].hi
    rows[0].slider.setValue(1000)
    assert rows[0].spin.value() == round(hi, 4)
    assert lo < x.min()


def test_input_requests_and_image_preview(qtbot) -> None:
    editor = InputEditor()
    qtbot.addWidget(editor)
    with qtbot.waitSignal(editor.input_requested) as blocker:
        editor.request_input("zeros")
    assert blocker.args == ["zeros", None]
    img = np.random.default_rng(0).random((1, 3, 16, 16)).astype(np.float32)
    editor.set_inputs([Value("image", (1, 3, 16, 16), "float32")], {"image": img})
    preview = editor.previews["image"].image
    np.testing.assert_array_equal(preview, img[0].transpose(1, 2, 0))
