"""The side-by-side compare tab: colours, synchronised selection, Match these, the window
hooks (File › Compare with…, Ctrl-drop), and what a person sees on the int8 case."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from inspector.ui.compare_colors import UNMATCHED, error_color
from tests.compare.conftest import DIGITS, DIGITS_INPUT, conversions  # noqa: F401 - fixture


def _tab(qtbot, a: Path, b: Path):
    from inspector.ui.compare_tab import CompareTab

    tab = CompareTab(str(a), str(b), input_spec=str(DIGITS_INPUT))
    qtbot.addWidget(tab)
    tab.resize(1400, 900)
    tab.show()
    with qtbot.waitSignal(tab.shown, timeout=30_000):
        tab.start()
    return tab


def test_int8_side_by_side(qtbot, conversions, tmp_path) -> None:  # noqa: F811
    tab = _tab(qtbot, conversions["float"], conversions["static"])
    report = tab.report
    assert tab.view_a.scene_data is not None and tab.view_b.scene_data is not None
    # Every matched value of A is coloured by its error on both sides.
    colors_a = tab.view_a._color_names
    for pair, d in zip(report.matching.pairs, report.values, strict=False):
        assert colors_a[pair.a_nodes[-1]] == error_color(d.max_rel) or pair.a_nodes[-1] in colors_a
    # Selecting a Conv in A selects what computes it in B.
    tab.view_a.select_node("digits_cnn_1/conv2_1/BiasAdd")
    assert tab.view_b.selected_node().name in report.matching.a_to_b["digits_cnn_1/conv2_1/BiasAdd"]
    # The panel shows that value; its arrays are A's and B's.
    row = tab.panel.table.currentRow()
    assert report.values[row].a in ("digits_cnn_1/conv2_1/Relu:0",)
    # What a person sees: both graphs drawn (not blank), the panel's heatmaps.
    img = tab.grab().toImage()
    path = tmp_path / "compare.png"
    img.save(str(path))
    w = img.width()
    left = [img.pixelColor(x, 200).name() for x in range(0, w // 2, 7)]
    right = [img.pixelColor(x, 200).name() for x in range(w // 2, w, 7)]
    assert len(set(left)) > 3 and len(set(right)) > 3


def test_match_these_overrides(qtbot) -> None:
    tab = _tab(qtbot, DIGITS, DIGITS)
    tab.view_a.select_node("digits_cnn_1/conv1_1/Relu")
    tab._syncing = True  # select B's node by hand, without A following
    tab.view_b.select_node("digits_cnn_1/conv2_1/Relu")
    tab._syncing = False
    with qtbot.waitSignal(tab.compared, timeout=30_000):
        assert tab.match_selected()
    pair = next(p for p in tab.report.matching.pairs if p.a == "digits_cnn_1/conv1_1/Relu:0")
    assert pair.how == "manual" and pair.b == "digits_cnn_1/conv2_1/Relu:0"


def test_unmatched_nodes_are_marked(qtbot, tmp_path) -> None:
    import onnx

    proto = onnx.load(str(DIGITS))
    relu = next(n for n in proto.graph.node if n.op_type == "Relu")
    extra = onnx.helper.make_node("Relu", [relu.output[0]], ["extra_relu_out"], name="extra_relu")
    consumers = [n for n in proto.graph.node if relu.output[0] in n.input]
    for n in consumers:
        n.input[list(n.input).index(relu.output[0])] = "extra_relu_out"
    proto.graph.node.insert(list(proto.graph.node).index(relu) + 1, extra)
    path = tmp_path / "extra.onnx"
    onnx.save(proto, str(path))
    tab = _tab(qtbot, DIGITS, path)
    assert tab.report.matching.unmatched_b == ["extra_relu"]
    assert tab.view_b._color_names["extra_relu"] == UNMATCHED[1]
    assert np.isfinite([d.snr_db for d in tab.report.values]).all()


def test_window_compare_with_and_ctrl_drop(qtbot, main_window, open_model,
                                           conversions) -> None:  # noqa: F811
    tab = main_window.open_compare(str(DIGITS), str(conversions["fp16"]))
    qtbot.waitUntil(lambda: tab.report is not None and tab.view_b.scene_data is not None,
                    timeout=30_000)
    assert main_window.tabs.currentWidget() is tab
    # The comparison gets the Inspect and Properties docks' room; a model tab gets them back.
    assert not main_window.inspect_dock.isVisible() and not main_window.properties_dock.isVisible()
    main_window.close_tab(main_window.tabs.indexOf(tab))
    open_model(DIGITS)
    assert main_window.inspect_dock.isVisible() and main_window.properties_dock.isVisible()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(conversions["dynamic"]))])
    pos, action = QPointF(600, 400), Qt.DropAction.CopyAction
    ctrl = Qt.KeyboardModifier.ControlModifier
    QApplication.sendEvent(main_window, QDragEnterEvent(pos, action, mime, Qt.MouseButton.LeftButton, ctrl))
    QApplication.sendEvent(main_window, QDropEvent(pos, action, mime, Qt.MouseButton.LeftButton, ctrl))
    current = main_window.tabs.currentWidget()
    assert type(current).__name__ == "CompareTab"
    assert current.path_b == str(Path(conversions["dynamic"]).resolve())
    qtbot.waitUntil(lambda: current.report is not None, timeout=30_000)
    current.cancel()


def test_value_panel_shows_the_channel_that_differs_most(qtbot, conversions) -> None:  # noqa: F811
    """A 1x8x6x6 map is shown as its 6x6 channel with the largest |A−B| (the square spatial
    axes tell the layout), and that channel is named in A's title."""
    from inspector.ui.compare_panel import as_images

    a = np.zeros((1, 8, 6, 6), np.float32)
    b = a.copy()
    b[0, 5, 2, 3] = 1.0
    ia, ib, what = as_images(a, b)
    assert ia.shape == (6, 6) and (ib - ia)[2, 3] == 1.0 and what.startswith("channel 5 of 8")
    tab = _tab(qtbot, conversions["float"], conversions["static"])
    relu = next(r for r, d in enumerate(tab.report.values) if d.shape == (1, 8, 6, 6))
    tab.panel.table.setCurrentCell(relu, 0)
    d = tab.report.values[relu]
    va, vb = tab.report.arrays(d)
    k = int(np.argmax(np.abs(va - vb)[0].max(axis=(1, 2))))
    titles = [item.titleLabel.text for item in tab.panel.view.plots.ci.items]
    assert titles[0].startswith(f"A, channel {k} of 8")
