"""The first-run layout at 1600x1000 and at 1200x800: after a run and a backprop, the Activations, Weights,
Gradients and Output panels fit the Inspect dock (no scrolling, every plot inside the dock at
a readable height) while the graph keeps the height it had (the dock's 24% of the window)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pyqtgraph as pg
import pytest
from onnx import TensorProto, helper, numpy_helper
from PySide6.QtCore import QPoint, QRect, QRectF, Qt

#: The graph's height before the panels were fitted (the dock at 24% of the window), and
#: the least height of a plot in a panel that fits, per window size. At 1200x800 the dock
#: is 192 px tall: every page scrolled (Gradients by 42 px, and 27-91 px sideways).
SIZES = {(1600, 1000): (676, 80), (1200, 800): (524, 60)}


def small_cnn(path: Path) -> Path:
    """[1, 1, 8, 8] -> Conv 4x1x3x3 -> Relu -> Flatten -> Gemm 10 -> Softmax."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(size=(4, 1, 3, 3)).astype(np.float32), "W"),
             numpy_helper.from_array(rng.normal(size=(4,)).astype(np.float32), "B"),
             numpy_helper.from_array(rng.normal(size=(10, 144)).astype(np.float32) * 0.1, "fc.W"),
             numpy_helper.from_array(np.zeros(10, np.float32), "fc.B")]
    nodes = [helper.make_node("Conv", ["image", "W", "B"], ["conv"], name="conv",
                              kernel_shape=[3, 3]),
             helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
             helper.make_node("Flatten", ["relu"], ["flat"], name="flat"),
             helper.make_node("Gemm", ["flat", "fc.W", "fc.B"], ["logits"], name="fc", transB=1),
             helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=1)]
    graph = helper.make_graph(
        nodes, "cnn", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.fixture
def window_size() -> tuple[int, int]:
    return 1600, 1000


@pytest.fixture
def first_run(qtbot, window_settings, tmp_path, window_size):
    """A first-run window (no saved layout) at `window_size` on the small CNN, after a run
    and a backprop, with the convolution selected."""
    from inspector.ui.main_window import MainWindow

    win = MainWindow(settings=window_settings)
    qtbot.addWidget(win)
    win.resize(*window_size)
    win.show()
    qtbot.waitExposed(win)
    tab = win.open_paths([str(small_cnn(tmp_path / "cnn.onnx"))])[0]
    qtbot.waitUntil(lambda: tab.model is not None and not tab.busy, timeout=20_000)
    tab.run()
    qtbot.waitUntil(lambda: tab.activations is not None and not tab.busy, timeout=20_000)
    tab.backprop(None, "ce")
    qtbot.waitUntil(lambda: tab.gradients is not None and not tab.busy, timeout=20_000)
    tab.view.select_node("conv")
    qtbot.wait(50)
    yield win, tab
    tab.cancel()


def _show(qtbot, win, name: str):
    views = win.inspect.views
    views.setCurrentIndex([views.tabText(i) for i in range(views.count())].index(name))
    qtbot.wait(50)
    return views.currentWidget()


@pytest.mark.parametrize("window_size", list(SIZES), ids=["1600x1000", "1200x800"])
@pytest.mark.parametrize("name", ["Activations", "Weights", "Gradients", "Output"])
def test_first_run_panels_fit_the_dock(qtbot, first_run, tmp_path, name, window_size) -> None:
    win, tab = first_run
    graph_height, min_plot_height = SIZES[window_size]
    page = _show(qtbot, win, name)
    scroll = win._inspect_scroll
    assert scroll.verticalScrollBar().maximum() == 0, f"{name} scrolls vertically"
    assert scroll.horizontalScrollBar().maximum() == 0, f"{name} scrolls horizontally"
    viewport = scroll.viewport()
    plots = [v for v in page.findChildren(pg.GraphicsView) if v.isVisible()]
    assert plots, f"{name} shows no plot"
    for view in plots:
        rect = QRect(view.mapTo(viewport, QPoint(0, 0)), view.size())
        assert viewport.rect().contains(rect), f"{name}: {rect} is cut by {viewport.rect()}"
        assert view.height() >= min_plot_height, f"{name}: a plot squashed to {view.height()} px"
    # ...and the graph keeps the most room, as much as before.
    assert tab.view.height() >= graph_height, tab.view.height()
    assert win.inspect_dock.height() <= int(0.24 * win.height())
    win.grab().save(str(tmp_path / f"first_run_{name.lower()}_{window_size[0]}.png"))


def test_first_run_output_bars_keep_their_numbers_apart(qtbot, first_run) -> None:
    win, _ = first_run
    panel = _show(qtbot, win, "Output")
    shown = panel.shown_rows()
    assert 1 <= shown < len(panel.entries()) == 10
    # the shown bars' numbers do not run into each other, and the panel says some are hidden
    vb = panel.plot.getPlotItem().getViewBox()
    line = panel.fontMetrics().height()  # the text's line, not the item's padded box
    rects = []
    for t in panel._value_items[:shown]:
        box = t.mapRectToScene(t.boundingRect())
        rects.append(QRectF(box.left(), box.center().y() - line / 2, box.width(), line))
    assert all(vb.sceneBoundingRect().contains(r.center()) for r in rects)
    for a, b in zip(rects, rects[1:], strict=False):
        assert not a.intersects(b), (a, b)
    assert any(f"top {shown} of 10 bars shown" in n for n in panel.notes()), panel.notes()
    # a taller dock shows them all, and the note goes
    win.resizeDocks([win.inspect_dock], [600], Qt.Orientation.Vertical)
    qtbot.wait(50)
    assert panel.shown_rows() == 10
    assert not any("bars shown" in n for n in panel.notes())


def test_a_small_page_does_not_scroll_after_a_big_one(qtbot, first_run) -> None:
    """The dock was as tall as its tallest page: the Input page scrolled because of the
    Gradients page's height, and kept scrolling after the Gradients page had been shown."""
    win, _ = first_run
    win.resizeDocks([win.inspect_dock], [170], Qt.Orientation.Vertical)  # too short for Gradients
    qtbot.wait(50)
    _show(qtbot, win, "Gradients")
    assert win._inspect_scroll.verticalScrollBar().maximum() > 0
    _show(qtbot, win, "Activation function")
    assert win._inspect_scroll.verticalScrollBar().maximum() == 0


@pytest.mark.parametrize("window_size", [(1200, 800)], ids=["1200x800"])
def test_first_run_saliency_picture_fills_its_plot(qtbot, first_run, tmp_path, window_size) -> None:
    """The 8x8 input's saliency was drawn 12 px tall in a 71 px plot: the aspect-locked
    picture shared the height with the column axis and its caption."""
    win, _ = first_run
    page = _show(qtbot, win, "Gradients")
    saliency = page.saliency
    assert saliency.kind == "image"
    drawn = saliency.heat_item.mapRectToScene(saliency.heat_item.boundingRect())
    view = saliency.view.height()
    assert drawn.height() >= 0.6 * view, f"a {drawn.height():.0f} px picture in a {view} px plot"
    # ...and it is all on the plot
    assert saliency.plot.getViewBox().sceneBoundingRect().contains(drawn.adjusted(1, 1, -1, -1))
    win.grab().save(str(tmp_path / "first_run_saliency_1200.png"))
