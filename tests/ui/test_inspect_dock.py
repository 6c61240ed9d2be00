"""The Inspect dock in the real window on the ONNX Iris sample: run, backpropagate, and the
Gradients tab, the weight gradient and the graph colours follow the real result."""

from __future__ import annotations

import numpy as np
import pytest

from tests.ui.conftest import SAMPLES_DIR


def test_backprop_fills_the_gradients_tab(qtbot, main_window, open_model, tmp_path) -> None:
    tab = open_model(SAMPLES_DIR / "digits_cnn.onnx")
    dock = main_window.inspect
    dock.request_input("file", str(SAMPLES_DIR / "digits_cnn_input.npy"))
    qtbot.waitUntil(lambda: tab.activations is not None, timeout=60_000)
    dock.request_backprop()
    qtbot.waitUntil(lambda: tab.gradients is not None, timeout=60_000)
    qtbot.wait(10)
    result = tab.gradients
    shown = dock.gradients_panel.norm_values()
    assert [n for n, _ in shown] == [n.name for n in tab.model.graph.nodes if n.name in result.norms]
    assert [v for _, v in shown] == pytest.approx([result.norms[n] for n, _ in shown])
    name = tab.model.graph.inputs[0]
    np.testing.assert_array_equal(dock.gradients_panel.saliency.heat,
                                  np.abs(result.values[name])[0, :, :, 0])
    node = next(n for n in tab.model.graph.nodes if n.op_type == "MatMul" and n.weights)
    tab.view.select_node(node.name)
    qtbot.wait(10)
    g = result.values[f"{node.name}/{node.weights[0].name}"]
    np.testing.assert_array_equal(dock.weight_panel.grad_image.image, g.astype(np.float32))
    dock.color_by.setCurrentText("gradient norm")
    assert dock.color_by.currentText() == "gradient norm"
    assert dock.training_panel.train_button.isEnabled() is False
    dock.views.setCurrentWidget(dock.gradients_panel)
    qtbot.wait(10)
    main_window.grab().save(str(tmp_path / "test_dock_gradients.png"))


def test_leaving_the_walkthrough_undims_the_graph(qtbot, main_window, open_model):
    from tests.ui.conftest import SAMPLES_DIR

    tab = open_model(SAMPLES_DIR / "iris_mlp.onnx")
    dock = main_window.inspect
    dock.views.setCurrentWidget(dock.walkthrough)
    dock.walkthrough.next()
    dimmed = tab.view._state().dimmed
    assert dimmed is not None and dimmed.any()
    dock.views.setCurrentWidget(dock.output_panel)
    undimmed = tab.view._state().dimmed
    assert undimmed is None or not undimmed.any()


def test_walkthrough_visits_every_layer_in_order_with_this_inputs_numbers(qtbot, main_window,
                                                                          open_model):
    """Digits CNN (ONNX): one step per node in the file's order; each step selects its node and
    states the layer's real output range for this input."""
    import numpy as np

    from tests.ui.conftest import SAMPLES_DIR

    tab = open_model(SAMPLES_DIR / "digits_cnn.onnx")
    dock = main_window.inspect
    assert dock.request_input("file", str(SAMPLES_DIR / "digits_cnn_input.npy"))
    qtbot.waitUntil(lambda: tab.activations is not None, timeout=30_000)
    dock.views.setCurrentWidget(dock.walkthrough)
    walk = dock.walkthrough
    expected = [n.name for n in tab.model.graph.nodes if n.category != "constant"]
    seen = []
    walk.go(0)
    for _ in expected:
        step = walk.current()
        seen.append(step.node.name)
        assert tab.view.selected_node() is step.node
        out = np.asarray(tab.activations.values[step.node.outputs[0]], dtype=np.float64)
        if out.size > 1:
            assert f"max {out.max():.3g}" in step.text, step.text
        walk.next()
    assert seen == expected


def test_walking_backward_leads_with_this_inputs_gradient_numbers(qtbot, main_window,
                                                                 open_model):
    """Digits CNN (Keras) after Backprop: the backward walk starts at the output layer and
    its first lines are that layer's gradient numbers, equal to the gradient arrays."""
    import numpy as np

    from tests.ui.conftest import SAMPLES_DIR

    tab = open_model(SAMPLES_DIR / "digits_cnn.keras")
    dock = main_window.inspect
    assert dock.request_input("file", str(SAMPLES_DIR / "digits_cnn_input.npy"))
    qtbot.waitUntil(lambda: tab.activations is not None, timeout=30_000)
    tab.backprop(None, "ce")
    qtbot.waitUntil(lambda: tab.gradients is not None and not tab.busy, timeout=60_000)
    dock.views.setCurrentWidget(dock.walkthrough)
    walk = dock.walkthrough
    walk.backward.setChecked(True)
    qtbot.waitUntil(lambda: walk.current() is not None
                    and any(t.startswith("Backward") for t in walk.current().lines))
    step = walk.current()
    assert step.node is tab.model.graph.nodes[-1]
    g = np.asarray(tab.gradients.values[step.node.name], dtype=np.float64)
    shown = walk.text.toPlainText().splitlines()
    first = next(t for t in shown if t.strip())
    assert first.startswith(step.node.name)  # the heading, then the backward numbers
    body = [t for t in shown[1:] if t.strip()]
    assert body[0] == f"Backward: d loss / d output has norm {np.linalg.norm(g):.3g}, " \
        f"largest {g.flat[np.abs(g).argmax()]:+.3g} at [0, {int(np.abs(g).argmax())}]."
    kernel = np.asarray(tab.gradients.values[f"{step.node.name}/kernel"], dtype=np.float64)
    assert f"kernel norm {np.linalg.norm(kernel):.3g}" in body[1]


def test_plots_follow_the_dark_theme(qtbot, main_window):
    import pyqtgraph as pg

    main_window.set_theme("dark")
    views = main_window.inspect.findChildren(pg.GraphicsView)
    assert len(views) >= 8
    assert all(v.backgroundBrush().color().lightness() < 60 for v in views)
    axes = [i for v in views if v.scene() for i in v.scene().items() if isinstance(i, pg.AxisItem)]
    assert axes and all(a.textPen().color().lightness() > 150 for a in axes)
    main_window.set_theme("light")
    assert all(v.backgroundBrush().color().lightness() > 200 for v in views)


def test_plot_texts_follow_the_dark_theme(qtbot, main_window, open_model):
    """The Output bars' value labels and the Neurons layer names are drawn on the plot's
    background: light on the dark theme (they were #222 on #1e1e1e), whether drawn before
    or after the switch, and dark again on the light theme."""
    import pyqtgraph as pg

    from tests.ui.conftest import SAMPLES_DIR

    tab = open_model(SAMPLES_DIR / "iris_mlp.onnx")
    dock = main_window.inspect
    tab.run()
    qtbot.waitUntil(lambda: tab.activations is not None and not tab.busy, timeout=30_000)
    dock.views.setCurrentWidget(dock.output_panel)
    qtbot.waitUntil(lambda: bool(dock.output_panel._value_items))

    def texts(panel):
        return [i for v in panel.findChildren(pg.GraphicsView) if v.scene()
                for i in v.scene().items() if isinstance(i, pg.TextItem) and i.isVisible()
                and i.toPlainText().strip()]

    main_window.set_theme("dark")
    before = texts(dock.output_panel)
    assert before and all(t.color.lightness() > 150 for t in before)
    tab.run(tab.make_feeds("random", seed=5))  # drawn again, now on the dark theme
    qtbot.waitUntil(lambda: not tab.busy, timeout=30_000)
    dock.views.setCurrentWidget(dock.neuron_view)
    qtbot.wait(100)
    for panel in (dock.output_panel, dock.neuron_view):
        drawn = texts(panel)
        assert drawn and all(t.color.lightness() > 150 for t in drawn), panel
    main_window.set_theme("light")
    assert all(t.color.lightness() < 100 for t in texts(dock.output_panel))
