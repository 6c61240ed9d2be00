"""Issue 10, items 4-7 and 9, in the real window on small real ONNX files: inputs that need
particular values, parameter counts, discoverability, space and start-up imports."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from tests.ui import issue10_models as models


def _boxes(win) -> list[QMessageBox]:
    return [b for b in win.findChildren(QMessageBox) if b.isVisible()]


def _editor(win):
    return win.inspect.input_editor


# --- 4. inputs that need particular values ------------------------------------------------


def test_sr_is_editable_and_set_before_the_first_run(qtbot, main_window, open_model, tmp_path):
    tab = open_model(models.sr_model(tmp_path / "vad.onnx"))
    editor = _editor(main_window)
    assert tab.feeds is None
    rows = editor.rows.get("sr")
    assert rows, "sr must be editable before any run"
    assert rows[0].spin.value() == 16000  # the value the graph compares sr with
    assert rows[0].spin.decimals() == 0
    with qtbot.waitSignal(tab.activations_ready, timeout=20_000):
        assert main_window.inspect.request_input("random")
    assert int(tab.feeds["sr"]) == 16000
    assert not _boxes(main_window)


def test_failed_run_names_the_input_in_one_modal_box(qtbot, main_window, open_model, tmp_path):
    tab = open_model(models.sr_model(tmp_path / "vad.onnx"))
    editor = _editor(main_window)
    editor.rows["sr"][0].spin.setValue(8000)  # before any run: kept for Random
    with qtbot.waitSignal(tab.run_job.failed, timeout=20_000):
        main_window.inspect.request_input("random")
    qtbot.waitUntil(lambda: bool(_boxes(main_window)))
    box = _boxes(main_window)[0]
    assert box.text().startswith("The input 'sr' is 8000, but the model only handles 16000")
    assert "ONNXRuntimeError" not in box.text() and "ONNXRuntimeError" in box.detailedText()
    assert box.windowModality() == Qt.WindowModality.WindowModal
    assert box.parent() is main_window
    with qtbot.waitSignal(tab.run_job.failed, timeout=20_000):
        main_window.inspect.request_input("zeros")
    qtbot.wait(50)
    assert len(_boxes(main_window)) == 1, "errors must not pile up"


def test_token_ids_get_the_embedding_rows_as_range(qtbot, main_window, open_model, tmp_path):
    tab = open_model(models.token_model(tmp_path / "tok.onnx", rows=50))
    rows = _editor(main_window).rows["ids"]
    assert len(rows) == 6
    assert rows[0].spin.minimum() == 0 and rows[0].spin.maximum() == 49
    rows[2].spin.setValue(1000)  # clamped: there are 50 rows
    assert rows[2].spin.value() == 49
    with qtbot.waitSignal(tab.activations_ready, timeout=20_000):
        main_window.inspect.request_input("random")
    assert tab.feeds["ids"].max() < 50


def test_defaults_come_from_metadata(qtbot, main_window, open_model, tmp_path):
    from inspector.loaders import load_model
    from inspector.runtime.inputs import input_defaults, make_inputs

    path = models.sr_model(tmp_path / "vad_meta.onnx", sr_default="16000")
    model = load_model(path)
    assert int(input_defaults(model)["sr"]) == 16000
    assert int(make_inputs(model, "zeros")["sr"]) == 16000


# --- 5. parameter counts ------------------------------------------------------------------


def test_constant_node_weights_are_counted_and_explained(main_window, open_model, tmp_path):
    open_model(models.constant_conv_model(tmp_path / "det.onnx"))
    text = main_window.properties.html()
    # W <16x3x3x3> = 432 in a Constant node, b <16> an initializer; the int64 shape is no weight
    assert "parameters 448 (initializers 16 + Constant nodes 432)" in " ".join(text.split())


def test_subgraph_weights_are_counted(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from inspector.loaders import load_model

    w = numpy_helper.from_array(np.ones((5, 4), np.float32), "wsub")
    body = helper.make_graph([helper.make_node("MatMul", ["x", "wsub"], ["yt"])], "then", [],
                             [helper.make_tensor_value_info("yt", TensorProto.FLOAT, [1, 5])], [w])
    other = helper.make_graph([helper.make_node("Constant", [], ["ye"], value=numpy_helper.from_array(
        np.zeros((1, 5), np.float32), "z"))], "else", [],
        [helper.make_tensor_value_info("ye", TensorProto.FLOAT, [1, 5])])
    g = helper.make_graph([helper.make_node("If", ["c"], ["y"], then_branch=body, else_branch=other)],
                          "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4]),
                                helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])])
    onnx.save(helper.make_model(g, opset_imports=models.OPSET), str(tmp_path / "if.onnx"))
    model = load_model(tmp_path / "if.onnx")
    assert model.parameter_count == 25
    assert model.parameter_text() == "25 (Constant nodes 5 + subgraph initializers 20, subgraphs included)"


# --- 6. discoverability -------------------------------------------------------------------


def _click_world(qtbot, view, x: float, y: float) -> None:
    s = view.zoom()
    pos = QPointF(x * s + view._tx, y * s + view._ty).toPoint()
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=pos)


def test_single_click_on_a_group_toggle_expands_and_collapses(qtbot, main_window, open_model, tmp_path):
    tab = open_model(models.scoped_model(tmp_path / "scoped.onnx"))
    view = tab.view
    view.collapse_all()
    qtbot.waitUntil(lambda: any(it.kind == "group" for it in view.scene_data.items))
    data = view.scene_data
    i = next(k for k, it in enumerate(data.items) if it.kind == "group")
    path = tuple(data.items[i].group)
    x0, y0 = data.rects[i][:2]
    view.set_zoom(1.0)
    view.center_on(float(x0) + 13, float(y0) + 11)
    _click_world(qtbot, view, float(x0) + 13, float(y0) + 11)  # the [+] box
    qtbot.waitUntil(lambda: path in (view._expanded or ()))
    frame = next(f for f in view.scene_data.frames if f.path == path)
    view.center_on(frame.rect[0] + 12, frame.rect[1] + 9)
    qtbot.wait(QApplication.doubleClickInterval() + 50)
    _click_world(qtbot, view, frame.rect[0] + 12, frame.rect[1] + 9)  # the [−] box
    qtbot.waitUntil(lambda: path not in (view._expanded or ()))


def test_help_lists_the_real_shortcuts_and_gestures(qtbot, main_window):
    act = next(a for a in main_window.actions() if a.text().startswith("&Keyboard"))
    act.trigger()
    box = next(b for b in _boxes(main_window) if b.windowTitle() == "Keyboard and Mouse")
    text = box.text()
    for a in main_window.actions():
        if a.shortcut().toString():
            assert a.text().replace("&", "").rstrip("…") in text
    assert "Ctrl+O" in text and "Double-click" in text and "Wheel" in text


def test_fit_keeps_node_titles_on_a_small_graph(qtbot, main_window, open_model):
    from tests.ui.conftest import SAMPLES_DIR

    tab = open_model(SAMPLES_DIR / "iris_mlp.onnx")  # 9 nodes
    view = tab.view
    view.resize(500, 260)
    view.fit()
    assert view.zoom() < 5.0 / 11.0  # too far out for the full detail
    view.painter.text_calls = 0
    view.render_image(view.width(), view.height())
    assert view.painter.text_calls >= 9


def test_theme_menu_marks_the_current_theme(main_window):
    acts = main_window.theme_actions
    assert all(a.isCheckable() for a in acts.values())
    assert main_window.theme_group.isExclusive()
    main_window.set_theme("dark")
    assert acts["dark"].isChecked() and not acts["light"].isChecked()
    acts["light"].trigger()
    assert main_window.theme == "light" and acts["light"].isChecked() and not acts["dark"].isChecked()


def test_dark_theme_reaches_links_on_screen_and_message_boxes(qtbot, main_window, open_model):
    from tests.ui.conftest import SAMPLES_DIR

    open_model(SAMPLES_DIR / "iris_mlp.onnx")
    main_window.set_theme("light")
    from inspector.ui import dialogs

    box = dialogs.show_error(main_window, "x")
    main_window.set_theme("dark")
    qtbot.wait(10)
    html = main_window.properties.browser.document().toHtml().lower()
    assert "#0000ff" not in html and "#64aaff" in html  # links shown before the switch
    assert box.palette().color(box.backgroundRole()).lightness() < 100
    main_window.set_theme("light")


def test_input_and_open_dialogs_start_in_the_models_folder(qtbot, main_window, open_model,
                                                           tmp_path, monkeypatch):
    folder = tmp_path / "models"
    folder.mkdir()
    open_model(models.token_model(folder / "tok.onnx"))
    seen = []
    monkeypatch.setattr("inspector.ui.panels.input_editor.QFileDialog.getOpenFileName",
                        lambda *a, **k: (seen.append(a[2]), ("", ""))[1])
    monkeypatch.setattr("inspector.ui.inspect_dock.QFileDialog.getOpenFileName",
                        lambda *a, **k: (seen.append(a[2]), ("", ""))[1])
    monkeypatch.setattr("inspector.ui.main_window.QFileDialog.getOpenFileNames",
                        lambda *a, **k: (seen.append(a[2]), ([], ""))[1])
    _editor(main_window)._button("file")
    main_window.inspect.request_input("file")
    main_window.open_dialog()
    assert seen == [str(folder.resolve())] * 3


# --- 7. space -------------------------------------------------------------------------------


def test_first_run_layout_gives_the_graph_most_of_1600x1000(qtbot, window_settings, tmp_path):
    from inspector.ui.main_window import MainWindow

    win = MainWindow(settings=window_settings)
    qtbot.addWidget(win)
    win.resize(1600, 1000)
    win.show()
    qtbot.waitExposed(win)
    tabs = win.open_paths([str(models.silu_model(tmp_path / "silu.onnx"))])
    qtbot.waitUntil(lambda: tabs[0].model is not None)
    qtbot.wait(50)
    assert tabs[0].view.height() >= 0.6 * win.height(), tabs[0].view.height()
    assert win.inspect_dock.height() <= 0.3 * win.height()
    # the Properties dock runs the full height, Inspect only under the graph
    assert win.properties_dock.geometry().bottom() > win.inspect_dock.geometry().top()
    tabs[0].cancel()


def test_long_symbolic_dims_keep_the_inspect_row_inside_the_window(qtbot, main_window, open_model,
                                                                  tmp_path):
    main_window.resize(1100, 800)
    open_model(models.dynamic_dims_model(tmp_path / "dyn.onnx"))
    opts = _editor(main_window).options
    labels = [opts._dims_layout.itemAt(i).widget() for i in range(opts._dims_layout.count())]
    texts = [w.text() for w in labels if hasattr(w, "text")]
    assert texts and all(len(t) <= 14 for t in texts), texts
    assert any("p2o.DynamicDimension.0" in w.toolTip() for w in labels)
    assert main_window.inspect.minimumSizeHint().width() <= main_window.width()


# --- 9. start-up ------------------------------------------------------------------------------


def test_opening_a_model_imports_onnx_off_the_gui_thread(tmp_path):
    path = models.token_model(tmp_path / "tok.onnx")
    code = textwrap.dedent(f"""
        import os, sys, threading, builtins, time
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6.QtCore import QSettings
        from inspector.ui.app import _app
        from inspector.ui.main_window import MainWindow
        app = _app()
        w = MainWindow(QSettings({str(tmp_path / 's.ini')!r}, QSettings.Format.IniFormat))
        w.show()  # as `model-inspector FILE` does: the file is opened before any event runs
        where = []
        real = builtins.__import__
        def spy(name, *a, **k):
            if name == "onnx" and "onnx" not in sys.modules:
                where.append(threading.current_thread() is threading.main_thread())
            return real(name, *a, **k)
        builtins.__import__ = spy
        w.open_paths([{str(path)!r}])
        pg_loaded = "pyqtgraph" in sys.modules
        tab = w.current_tab()
        while tab.model is None:  # let the load finish: a job cut off at exit crashes Python
            app.processEvents()
            time.sleep(0.01)
        print("main" if True in where else "off", pg_loaded)
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**__import__("os").environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert out.returncode == 0, out.stderr[-800:]
    where, pg_loaded = out.stdout.split()
    assert where == "off"
    assert pg_loaded == "False"  # the Inspect panels wait for the first graph paint


# --- the engine's note -----------------------------------------------------------------------


def test_a_run_through_tf2onnx_says_why_in_the_status_bar(qtbot, main_window, open_model, tmp_path):
    keras = pytest.importorskip("keras", reason="writing the file needs the 'convert' extra")
    pytest.importorskip("tf2onnx")
    inp = keras.Input((6,), name="x")
    y = keras.layers.Dense(2, name="head")(keras.layers.Masking(name="mask_it")(inp))
    keras.Model(inp, y).save(tmp_path / "masked.keras")
    tab = open_model(tmp_path / "masked.keras")
    with qtbot.waitSignal(tab.activations_ready, timeout=180_000):
        assert main_window.inspect.request_input("random")
    assert tab.activations.engine == "tf2onnx"
    text = main_window.statusBar().currentMessage()
    assert "'mask_it' (Masking)" in text and "tf2onnx ran the model" in text


def test_long_symbolic_dims_are_elided_on_the_graph(main_window, open_model, tmp_path):
    tab = open_model(models.dynamic_dims_model(tmp_path / "dyn.onnx"))
    data = tab.view.scene_data
    labels = [t for t in data.edge_labels if t]
    assert labels and all("p2o.DynamicDimension" not in t and "…" in t for t in labels)
    assert max(r[2] - r[0] for r in data.rects) < 400  # the input box was about 400 px wide
    assert "p2o.DynamicDimension.0" in main_window.properties.html()  # whole where there is room
