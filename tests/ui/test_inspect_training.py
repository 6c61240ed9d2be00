"""The Training tab on the real Iris Keras sample: K steps off the GUI thread, the loss curve
equals what train_steps computes on its own, the source file never changes, Reset forgets,
and a saved copy holds the trained weights (read back by Keras)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from tests.ui._panel_helpers import SAMPLES, grab_nonblank

pytestmark = pytest.mark.convert

SOURCE = SAMPLES / "iris_mlp.keras"


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def data():
    # Importing TensorFlow here, on the main thread, also avoids a crash seen when it is
    # first imported inside a Qt pool thread of a running GUI.
    pytest.importorskip("tensorflow")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4)).astype(np.float32)
    y = (x[:, 2] > 0).astype(np.float64)  # petal length above the mean: versicolor
    return x, y


def _trained_panel(qtbot, x, y, steps):
    from inspector.ui.panels.training import TrainingPanel

    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.resize(1400, 300)
    panel.set_model(str(SOURCE), "keras", ["features"])
    panel.set_current({"features": x}, y)
    panel.steps.setValue(steps)
    panel.lr.setValue(0.1)
    with qtbot.waitSignal(panel.trained, timeout=120_000) as blocker:
        panel.train()
    return panel, blocker.args[0]


def test_k_steps_plot_k_losses_and_leave_the_file_alone(qtbot, data, tmp_path) -> None:
    from inspector.autodiff import train_steps

    x, y = data
    before = _sha(SOURCE)
    panel, result = _trained_panel(qtbot, x, y, steps=6)
    assert _sha(SOURCE) == before
    assert panel.loss_values() == result.losses and len(result.losses) == 6
    # Every layer of the sample is lowered: the window trained it without TensorFlow.
    assert result.engine == "lowering" and "ONNX engine" in panel.status.text()
    # The same steps run directly (fresh copy, same data) give the same curve.
    again = train_steps(SOURCE, x, y, steps=6, lr=0.1, optimizer="sgd", loss="ce")
    np.testing.assert_allclose(panel.loss_values(), again.losses, rtol=1e-5)
    assert again.losses[-1] < again.losses[0]
    # Weight change bars are ||after - before|| of each variable.
    changes = dict(panel.weight_changes)
    for key, b in result.weights_before.items():
        d = np.linalg.norm((result.weights_after[key] - b).astype(np.float64))
        assert changes[key] == pytest.approx(d, rel=1e-6)
    np.testing.assert_allclose(panel.change_bars.opts["height"], [v for _, v in panel.weight_changes])
    key = panel.weight_box.currentText()
    np.testing.assert_allclose(panel.delta_images[2].image,
                               (result.weights_after[key] - result.weights_before[key]).reshape(
                                   panel.delta_images[2].image.shape), rtol=1e-6)
    panel.show()
    grab_nonblank(panel, str(tmp_path / "test_training_panel.png"))
    panel.reset()
    assert panel.result is None and panel.loss_values() == []
    assert _sha(SOURCE) == before


def test_saved_copy_has_the_trained_weights_and_the_source_is_refused(qtbot, data, tmp_path) -> None:
    import keras

    from inspector.runtime.errors import RunError

    x, y = data
    panel, result = _trained_panel(qtbot, x, y, steps=3)
    out = panel.save_copy(tmp_path / "iris_trained.keras")
    loaded = keras.models.load_model(out, safe_mode=True)
    kernel = np.asarray(loaded.get_layer("hidden1").get_weights()[0])
    np.testing.assert_allclose(kernel, result.weights_after["hidden1/kernel"])
    before = _sha(SOURCE)
    with pytest.raises(RunError):
        panel.save_copy(SOURCE)
    assert _sha(SOURCE) == before


def test_onnx_models_are_told_training_needs_keras(qtbot) -> None:
    from inspector.ui.panels.training import TrainingPanel

    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.set_model(str(SAMPLES / "iris_mlp.onnx"), "onnx", ["features"])
    assert not panel.train_button.isEnabled()
    assert "needs a Keras file" in panel.status.text()
