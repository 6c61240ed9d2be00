"""The Input page is rebuilt for another input, not for every result: a run's activations
and then its gradients each refresh the dock, and rebuilding the input's plots each time
cost the GUI thread 29 ms per BERT backprop."""

from __future__ import annotations

from tests.ui.conftest import SAMPLES_DIR


def test_results_keep_the_input_page_and_a_new_input_rebuilds_it(qtbot, main_window,
                                                                  open_model) -> None:
    tab = open_model(SAMPLES_DIR / "digits_cnn.onnx")
    dock = main_window.inspect
    editor = dock.input_editor
    dock.request_input("random")
    qtbot.waitUntil(lambda: tab.activations is not None and not tab.busy, timeout=20_000)
    body, shown = editor._body, tab.feeds
    assert body is not None and editor.arrays  # the input is on screen
    tab.backprop(None, "ce")
    qtbot.waitUntil(lambda: tab.gradients is not None and not tab.busy, timeout=20_000)
    qtbot.wait(10)
    assert editor._body is body and tab.feeds is shown  # same input: the page stayed

    first = next(iter(editor.arrays.values())).copy()
    dock.request_input("zeros")
    qtbot.waitUntil(lambda: tab.feeds is not shown and not tab.busy, timeout=20_000)
    qtbot.waitUntil(lambda: editor._body is not body, timeout=5_000)
    now = next(iter(editor.arrays.values()))
    assert (now == 0).all() and not (first == 0).all()  # the page shows the new input
