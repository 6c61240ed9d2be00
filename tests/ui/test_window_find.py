"""Find (Ctrl+F), lineage tracing and group expand/collapse, driven through the window."""

from __future__ import annotations

import re
from collections import deque

import numpy as np
import onnx
from PySide6.QtCore import QPoint, Qt

from tests.ui.conftest import SAMPLES_DIR

DIGITS = SAMPLES_DIR / "digits_cnn.onnx"
GRU = SAMPLES_DIR / "trend_gru.onnx"


def _fields(node: onnx.NodeProto, inits: set[str]) -> list[str]:
    return [node.name, node.op_type, *node.output, *(i for i in node.input if i in inits)]


def _oracle(proto: onnx.ModelProto, hit) -> set[str]:
    inits = {i.name for i in proto.graph.initializer}
    return {n.name for n in proto.graph.node if any(hit(f) for f in _fields(n, inits))}


def _listed(panel) -> list[str]:
    return [panel.results.item(i).data(Qt.ItemDataRole.UserRole) for i in range(panel.results.count())]


def _lineage(proto: onnx.ModelProto, name: str, up: bool) -> set[str]:
    producer = {o: n for n in proto.graph.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in proto.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    start = next(n for n in proto.graph.node if n.name == name)
    seen: set[str] = set()
    todo = deque([start])
    while todo:
        n = todo.popleft()
        nxt = [producer[i] for i in n.input if i in producer] if up else [
            c for o in n.output for c in consumers.get(o, [])]
        for m in nxt:
            if m.name not in seen:
                seen.add(m.name)
                todo.append(m)
    return seen


def test_ctrl_f_finds_by_name_op_type_and_regex_and_jumps(qtbot, main_window, open_model):
    proto = onnx.load(str(DIGITS))
    tab = open_model(DIGITS)
    main_window.activateWindow()
    qtbot.keyClick(main_window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    panel = main_window.find_panel
    qtbot.waitUntil(lambda: main_window.find_dock.isVisible())
    assert panel.query.hasFocus()

    qtbot.keyClicks(panel.query, "relu")
    qtbot.waitUntil(lambda: panel.results.count() > 0)
    assert set(_listed(panel)) == _oracle(proto, lambda f: "relu" in f.lower())

    panel.query.clear()
    qtbot.keyClicks(panel.query, "MaxPool")
    qtbot.waitUntil(lambda: bool(_listed(panel)) and "MaxPool" in panel.results.item(0).text())
    assert set(_listed(panel)) == _oracle(proto, lambda f: "maxpool" in f.lower())

    pattern = r"conv\d_1/Relu$"
    panel.regex.setChecked(True)
    panel.query.setText(pattern)
    names = panel.search()
    assert set(names) == _oracle(proto, lambda f: re.search(pattern, f, re.I) is not None)
    assert len(names) == 2

    item = panel.results.item(1)
    rect = panel.results.visualItemRect(item)
    qtbot.mouseClick(panel.results.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    chosen = item.data(Qt.ItemDataRole.UserRole)
    assert tab.view.selected_node().name == chosen
    assert main_window.properties.html().split()[1:3] == ["name", chosen]

    panel.query.setText("([")  # a bad pattern says so, no exception
    assert panel.search() == []
    assert "regular expression" in panel.status.text()


def test_trace_ancestors_and_descendants_highlight(qtbot, main_window, open_model):
    proto = onnx.load(str(DIGITS))
    tab = open_model(DIGITS)
    main_window.show_find()
    panel = main_window.find_panel
    start = next(n.name for n in proto.graph.node if n.op_type == "MaxPool")
    tab.view.select_node(start)
    assert panel.up.isEnabled()
    before = tab.view.render_image(400, 600)
    emitted = []
    panel.matches_changed.connect(emitted.append)
    qtbot.mouseClick(panel.up, Qt.MouseButton.LeftButton)
    assert emitted[-1] == _lineage(proto, start, up=True) | {start}
    after = tab.view.render_image(400, 600)
    assert after != before, "tracing changed nothing on screen"
    qtbot.mouseClick(panel.down, Qt.MouseButton.LeftButton)
    assert emitted[-1] == _lineage(proto, start, up=False) | {start}
    qtbot.mouseClick(panel.clear_trace, Qt.MouseButton.LeftButton)
    assert emitted[-1] is None
    assert tab.view.render_image(400, 600) == before


def _node_items(view) -> int:
    return sum(1 for it in view.scene_data.items if it.kind == "node")


def _group_items(view) -> list:
    return [it for it in view.scene_data.items if it.kind == "group"]


def _action(window, text: str):
    return next(a for a in window.actions() if a.text().replace("&", "") == text)


def test_collapse_expand_groups_from_menu_and_double_click(qtbot, main_window, open_model):
    proto = onnx.load(str(GRU))
    tab = open_model(GRU)
    view = tab.view
    _action(main_window, "Collapse All Groups").trigger()
    groups = _group_items(view)
    assert groups and _node_items(view) < len(proto.graph.node)
    collapsed = len(view.scene_data.items)
    # Double-click the top-level group box: it opens.
    g = groups[0]
    i = view.scene_data.items.index(g)
    x0, y0, x1, y1 = view.scene_data.rects[i]
    view.center_on((x0 + x1) / 2, (y0 + y1) / 2)
    toggled = []
    view.group_toggled.connect(toggled.append)
    qtbot.mouseDClick(view, Qt.MouseButton.LeftButton, pos=QPoint(view.width() // 2, view.height() // 2))
    assert toggled == [tuple(g.group)]
    assert len(view.scene_data.items) > collapsed
    _action(main_window, "Expand All Groups").trigger()
    assert _node_items(view) == len(proto.graph.node)
    assert not _group_items(view)
    # Finding a node inside a collapsed group opens the group to show it.
    _action(main_window, "Collapse All Groups").trigger()
    inner = next(n.name for n in proto.graph.node if n.op_type == "Sigmoid")
    main_window.show_find()
    main_window.find_panel.query.setText("Sigmoid")
    main_window.find_panel.query.returnPressed.emit()
    assert view.selected_node().name == inner
    assert np.isfinite(view.zoom())
