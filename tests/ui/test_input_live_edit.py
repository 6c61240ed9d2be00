"""Live editing of the Iris network's four features in the real window: a slider move runs the
model again and the output and neuron views show what onnxruntime computes for the edited
input; a fast drag never starts a run while another is in flight."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from inspector.ui.panels.outputs import feature_names
from tests.ui.conftest import SAMPLES_DIR

IRIS = SAMPLES_DIR / "iris_mlp.onnx"


def _oracle(x: np.ndarray) -> float:
    sess = ort.InferenceSession(str(IRIS), providers=["CPUExecutionProvider"])
    return float(sess.run(None, {"features": x.astype(np.float32)})[0].reshape(-1)[0])


def _start(qtbot, main_window, open_model):
    tab = open_model(IRIS)
    dock = main_window.inspect
    assert dock.request_input("file", str(SAMPLES_DIR / "iris_mlp_input.npy"))
    qtbot.waitUntil(lambda: tab.activations is not None, timeout=30_000)
    qtbot.wait(10)
    return tab, dock


def _p_versicolor(dock) -> float:
    return dict(dock.output_panel.entries())["versicolor"]


def test_slider_edit_updates_output_and_neurons(qtbot, main_window, open_model) -> None:
    tab, dock = _start(qtbot, main_window, open_model)
    editor = dock.input_editor
    rows = editor.rows["features"]
    assert [r.label.text() for r in rows] == feature_names(IRIS)
    x0 = np.load(SAMPLES_DIR / "iris_mlp_input.npy").astype(np.float32).reshape(1, 4)
    assert abs(_p_versicolor(dock) - _oracle(x0)) < 1e-6

    target = rows[2].lo + 0.9 * (rows[2].hi - rows[2].lo)  # petal length far up
    before = tab.activations
    rows[2].slider.setValue(900)
    qtbot.waitUntil(lambda: tab.activations is not before and
                    abs(float(tab.feeds["features"][0, 2]) - target) < 1e-3, timeout=10_000)
    qtbot.wait(10)
    edited = tab.feeds["features"]
    np.testing.assert_allclose(edited[0, [0, 1, 3]], x0[0, [0, 1, 3]])
    p = _oracle(edited)
    assert abs(p - _oracle(x0)) > 1e-3  # the edit really changes the prediction
    assert abs(_p_versicolor(dock) - p) < 1e-5
    assert abs(dict(dock.output_panel.entries())["setosa"] - (1 - p)) < 1e-5
    # Neurons: the input unit shows the edited value and the output unit onnxruntime's.
    assert dock.neuron_view.unit_tooltip(0, 2).endswith(f"= {float(edited[0, 2]):.4g}")
    last = len(dock.neuron_view._layers) - 1
    assert f"= {p:.4g}" in dock.neuron_view.unit_tooltip(last, 0)
    # The sliders were not rebuilt under the user's hand.
    assert editor.rows["features"] is rows and rows[2].slider.value() == 900


def test_fast_drag_coalesces_runs(qtbot, main_window, open_model, tmp_path) -> None:
    tab, dock = _start(qtbot, main_window, open_model)
    rows = dock.input_editor.rows["features"]
    started: list[bool] = []
    abandoned: list[bool] = []
    tab.run_job.busy_changed.connect(lambda busy: busy and started.append(True))
    # A run started on top of a running one cancels it: the slot then says `cancelled`.
    tab.run_job.cancelled.connect(lambda: abandoned.append(True))
    moves = 0
    for step in range(0, 1001, 25):  # a drag: many moves a few milliseconds apart
        rows[0].slider.setValue(step)
        moves += 1
        qtbot.wait(3)
    final = float(rows[0].spin.value())
    qtbot.waitUntil(lambda: not tab.run_job.busy and dock._pending is None and
                    abs(float(tab.feeds["features"][0, 0]) - final) < 1e-6, timeout=10_000)
    qtbot.waitUntil(lambda: abs(_p_versicolor(dock) - _oracle(tab.feeds["features"])) < 1e-5,
                    timeout=10_000)
    assert 1 <= len(started) < moves
    assert abandoned == []  # never a run on top of a running one
    main_window.grab().save(str(tmp_path / "test_input_live_edit.png"))


def test_edits_during_a_run_wait_and_only_the_newest_runs(qtbot, main_window, open_model) -> None:
    tab, dock = _start(qtbot, main_window, open_model)
    editor = dock.input_editor
    started: list[bool] = []
    abandoned: list[bool] = []
    tab.run_job.busy_changed.connect(lambda busy: busy and started.append(True))
    tab.run_job.cancelled.connect(lambda: abandoned.append(True))
    base = tab.feeds["features"].copy()
    burst = [base + k for k in range(1, 5)]
    # Emitted back to back without the event loop: the first run cannot have reported back
    # yet, so the later edits arrive while it is in flight.
    for x in burst:
        editor.inputs_edited.emit({"features": x})
    assert tab.run_job.busy and len(started) == 1
    qtbot.waitUntil(lambda: len(started) == 2 and not tab.run_job.busy, timeout=10_000)
    qtbot.wait(50)
    assert len(started) == 2 and abandoned == []  # the first and the newest, nothing between
    np.testing.assert_array_equal(tab.feeds["features"], burst[-1])
    assert abs(_p_versicolor(dock) - _oracle(burst[-1])) < 1e-5
