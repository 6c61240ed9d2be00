"""Issue 10, items 1-3, in the real window on real ONNX files built in the test: the Output
tab picks its view from the output's shape and name, every panel follows the current tab and
clears when it closes, and an empty panel says in one line what to do or why."""

from __future__ import annotations

import numpy as np
import pytest

from tests.ui import _onnx_models as models

# Screenshots are evidence to look at, not compared: under pytest's temporary base (parallel
# runs do not collide), or in MI_SHOTS_DIR when set.
SHOTS = ""


@pytest.fixture(autouse=True)
def _shots_dir(tmp_path_factory):
    import os

    global SHOTS
    SHOTS = os.environ.get("MI_SHOTS_DIR") or str(tmp_path_factory.getbasetemp() / "ui-panels")
    os.makedirs(SHOTS, exist_ok=True)


def _run(qtbot, main_window, tab, kind: str = "random") -> None:
    assert main_window.inspect.request_input(kind)
    qtbot.waitUntil(lambda: tab.activations is not None, timeout=30_000)
    qtbot.wait(20)


def _shot(main_window, name: str) -> None:
    main_window.inspect_dock.resize(1200, 420)
    main_window.grab().save(f"{SHOTS}/{name}.png")


# --- item 1: the output view follows the shape and the name ---------------------------------


def test_sequence_logits_show_top_tokens_per_position(qtbot, main_window, open_model, tmp_path):
    tab = open_model(models.lm_logits(tmp_path / "lm.onnx", t=6, v=40))
    dock = main_window.inspect
    dock.views.setCurrentWidget(dock.output_panel)
    _run(qtbot, main_window, tab)
    panel = dock.output_panel
    _shot(main_window, "after_output_sequence")
    assert panel.view.kind == "sequence"
    assert "240 classes" not in panel.summary_text() and "of 240" not in " ".join(panel.notes())
    assert panel.position_box.isVisibleTo(panel) and panel.position_box.maximum() == 5
    assert panel.position == 5  # the next-token prediction
    logits = np.asarray(tab.activations.outputs["logits"], np.float64)[0]
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    panel.set_position(2)
    top = int(np.argmax(probs[2]))
    label, value = panel.entries()[0]
    assert label == f"tok{top} ({top})"  # the file's vocabulary (metadata) names the token
    assert value == pytest.approx(probs[2, top])
    assert "position 2 of 6" in panel.summary_text()
    assert "choose 'logits'" not in " ".join(panel.notes())


def test_integer_outputs_show_as_integers(qtbot, main_window, open_model, tmp_path):
    tab = open_model(models.lm_logits(tmp_path / "lm.onnx"))
    _run(qtbot, main_window, tab)
    panel = main_window.inspect.output_panel
    panel.output_box.setCurrentText("next_ids")
    ids = np.asarray(tab.activations.outputs["next_ids"])[0]
    assert panel.view.kind == "integers"
    assert panel.text.text() == " ".join(str(int(i)) for i in ids)
    assert ".0000" not in panel.text.text() and ".0" not in panel.text.text()


def test_sigmoid_map_is_an_image(qtbot, main_window, open_model, tmp_path):
    tab = open_model(models.sigmoid_map(tmp_path / "seg.onnx", h=24, w=32))
    dock = main_window.inspect
    dock.views.setCurrentWidget(dock.output_panel)
    _run(qtbot, main_window, tab)
    panel = dock.output_panel
    _shot(main_window, "after_output_map")
    assert panel.view.kind == "spatial" and panel.stack.currentWidget() is panel.image_view
    assert panel.image.image.shape == (24, 32)
    assert "classes" not in panel.summary_text() and "probabilities" in panel.summary_text()


def test_hidden_states_are_a_heatmap_with_statistics(qtbot, main_window, open_model, tmp_path):
    tab = open_model(models.hidden_states(tmp_path / "enc.onnx", t=5, d=768))
    _run(qtbot, main_window, tab)
    panel = main_window.inspect.output_panel
    assert panel.view.kind == "embedding"
    assert panel.stack.currentWidget() is panel.image_view
    assert "5 positions x 768 features" in panel.summary_text()
    text = panel.summary_text()
    assert "classes" not in text and "mean" in text and "std" in text and "L2 norm" in text


def test_near_uniform_1000_classes_show_their_numbers(qtbot, main_window, open_model, tmp_path):
    tab = open_model(models.uniform_softmax(tmp_path / "cls.onnx"))
    dock = main_window.inspect
    dock.views.setCurrentWidget(dock.output_panel)
    _run(qtbot, main_window, tab)
    panel = dock.output_panel
    _shot(main_window, "after_output_uniform")
    probs = np.asarray(tab.activations.outputs["probs"], np.float64)[0]
    top = np.sort(probs)[::-1][:10]
    assert panel.view.kind == "classes" and panel.shown_mode == "probabilities"
    assert panel.value_texts() == [f"{p:.4g}" for p in top]
    lo, hi = panel.plot.getPlotItem().viewRange()[0]
    assert hi < 0.01  # scaled to the bars, which are ~0.001 wide, not to 1


def test_choose_view_is_pure_and_reads_shape_and_name():
    from inspector.runtime.output_views import choose_view

    assert choose_view((1, 16, 50257), "float32", "logits").kind == "sequence"
    assert choose_view((1, 16, 768), "float32", "last_hidden_state").kind == "embedding"
    assert choose_view((1, 1, 224, 224), "float32", "prob_map").kind == "spatial"
    assert choose_view((1, 224, 224, 1), "float32", "out").layout == "HWC"
    assert choose_view((1, 16), "int64", "token_ids").kind == "integers"
    view = choose_view((1, 10), "float32", "logits")
    assert view.kind == "classes" and view.named_logits
    probs = np.full(1000, 1e-3)
    assert not choose_view((1, 1000), "float32", "output", values=probs).logits


# --- item 2: the docks follow the current tab ------------------------------------------------


def test_docks_follow_the_tab_and_clear_when_it_closes(qtbot, main_window, open_model, tmp_path):
    dock = main_window.inspect
    a = open_model(models.sigmoid_map(tmp_path / "seg.onnx"))
    _run(qtbot, main_window, a)
    a.view.select_node("conv")
    qtbot.wait(10)
    assert dock.weight_panel.title() == "Weights - conv"
    assert dock.activation_panel.plot.getAxis("bottom").labelText
    dock._show_kind("file")
    b = open_model(models.with_if(tmp_path / "iff.onnx"))
    qtbot.wait(10)
    assert main_window.current_tab() is b
    assert dock.input_kind.currentText() == "random"  # not the other tab's "file…"
    assert dock.activation_panel.plot.getAxis("bottom").labelText == ""
    assert "conv" not in dock.weight_panel.title() and "conv" not in dock.activation_panel.title()
    main_window.tabs.setCurrentWidget(a)
    qtbot.wait(10)
    main_window.close_tab(main_window.tabs.indexOf(a))
    main_window.close_tab(main_window.tabs.indexOf(b))
    qtbot.wait(10)
    assert main_window.current_tab() is None
    assert "seg" not in main_window.properties.html() and "iff" not in main_window.properties.html()
    assert "No model open" in main_window.properties.html()
    assert dock.input_editor.options.specs == []
    assert "No model open" in dock.output_panel.empty_text()


# --- item 3: empty panels say what to do -----------------------------------------------------


def test_empty_panels_say_what_to_do(qtbot, main_window, open_model, tmp_path):
    dock = main_window.inspect
    tab = open_model(models.sigmoid_map(tmp_path / "seg.onnx"))
    qtbot.wait(10)
    dock.views.setCurrentWidget(dock.activation_panel)
    _shot(main_window, "after_empty_activations")
    assert "Run the model" in dock.activation_panel.empty_text()
    assert "Run the model" in dock.output_panel.empty_text()
    assert "Run the model" in dock.neuron_view.empty_text()
    assert "conv" in dock.weight_panel.empty_text()  # names a node that has weights
    assert "Backprop" in dock.gradients_panel.value_panel.empty_text()
    tab.view.select_node("conv")
    qtbot.wait(10)
    assert dock.function_panel.empty_text().startswith("Conv has no activation function; "
                                                       "select a Sigmoid")
    dock.views.setCurrentWidget(dock.function_panel)
    _shot(main_window, "after_empty_function")
    tab.view.select_node("sigmoid")
    qtbot.wait(10)
    assert "Sigmoid has no weights" in dock.weight_panel.empty_text()
    _run(qtbot, main_window, tab)
    assert "Neurons draws small fully connected networks" in dock.neuron_view.empty_text()
    assert dock.activation_panel.empty_text() == "" and dock.activation_panel.kind == "maps"


def test_after_a_run_panels_show_the_last_node(qtbot, main_window, open_model, tmp_path):
    dock = main_window.inspect
    tab = open_model(models.sigmoid_map(tmp_path / "seg.onnx"))
    _run(qtbot, main_window, tab)
    assert dock.node is None
    assert dock.activation_panel.title().startswith("Activations - sigmoid")
    assert dock.function_panel.kind == "sigmoid"
    assert dock.weight_panel.title() == "Weights - conv"


def test_a_node_inside_an_if_branch_says_why(qtbot, main_window, open_model, tmp_path):
    dock = main_window.inspect
    tab = open_model(models.with_if(tmp_path / "iff.onnx"))
    _run(qtbot, main_window, tab, "ones")
    branch = tab.model.graph.node("branch")
    then_node = dict(branch.subgraphs)["then_branch"].nodes[0]
    dock.show_node(then_node)
    dock.views.setCurrentWidget(dock.activation_panel)
    _shot(main_window, "after_empty_if_branch")
    text = dock.activation_panel.empty_text()
    assert "inside the then_branch of If 'branch'" in text
    assert "took the then_branch" in text and "onnxruntime does not expose" in text
