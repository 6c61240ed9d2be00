"""Class labels found beside a model (manifest, sidecar files) and the values written in the
cells of small weight heatmaps, checked against the weights h5py reads from the file."""

from __future__ import annotations

import io
import json
import shutil
import zipfile

import h5py
import numpy as np
import pytest

from inspector.loaders import load_model
from tests.ui._panel_helpers import SAMPLES, grab_nonblank


def test_labels_from_the_sample_manifest() -> None:
    from inspector.ui.panels import find_labels

    manifest = json.loads((SAMPLES / "manifest.json").read_text())["files"]
    expected = next(e["labels"] for e in manifest if e["file"] == "iris_mlp.keras")
    labels, source = find_labels(SAMPLES / "iris_mlp.keras", {})
    assert labels == expected and source == "manifest.json"


@pytest.mark.parametrize("sidecar", ["{stem}.labels.txt", "labels/{stem}.txt", "labels.txt"])
def test_labels_from_a_sidecar_file(tmp_path, sidecar: str) -> None:
    from inspector.ui.panels import find_labels

    model = tmp_path / "flowers.keras"
    shutil.copy(SAMPLES / "iris_mlp.keras", model)
    assert find_labels(model, {}) == (None, "")
    path = tmp_path / sidecar.format(stem="flowers")
    path.parent.mkdir(exist_ok=True)
    path.write_text("Iris setosa\nIris versicolor\n", encoding="utf-8")
    labels, source = find_labels(model, {})
    assert labels == ["Iris setosa", "Iris versicolor"]
    assert source == sidecar.format(stem="flowers")


def test_model_metadata_labels_win_and_reach_the_output_panel(qtbot, tmp_path) -> None:
    import onnx
    import onnxruntime as ort

    from inspector.ui.panels import OutputPanel, find_labels

    path = SAMPLES / "iris_mlp.onnx"
    proto = onnx.load(str(path))
    stored = json.loads({p.key: p.value for p in proto.metadata_props}["labels"])
    model = load_model(path)
    (tmp_path / "labels.txt").write_text("x\ny\n")
    labels, source = find_labels(path, model.metadata)
    assert labels == stored and source == "model metadata"
    x = np.load(SAMPLES / "iris_mlp_input.npy").astype(np.float32)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    p = float(sess.run(None, {sess.get_inputs()[0].name: x})[0].reshape(-1)[0])
    panel = OutputPanel()
    qtbot.addWidget(panel)
    panel.set_output(np.array([[p]], np.float32), labels)
    assert dict(panel.entries()) == pytest.approx({stored[1]: p, stored[0]: 1 - p})


def _h5_kernel(keras_path, group: str) -> np.ndarray:
    with zipfile.ZipFile(keras_path) as z:
        data = z.read("model.weights.h5")
    with h5py.File(io.BytesIO(data), "r") as f:
        return np.asarray(f[group])


def test_small_heatmap_cells_show_the_weights(qtbot, tmp_path) -> None:
    from inspector.ui.panels import WeightPanel

    path = SAMPLES / "iris_mlp.keras"
    model = load_model(path)
    node = next(n for n in model.graph.nodes if n.name == "hidden1")
    kernel = _h5_kernel(path, "layers/dense/vars/0")  # NOTES.md: weights by class order
    panel = WeightPanel()
    qtbot.addWidget(panel)
    panel.resize(1300, 280)  # the dock's shape: wide and short
    panel.set_weights(node)
    cells = panel.cell_annotations()
    assert set(cells) == {(i, j) for i in range(kernel.shape[0]) for j in range(kernel.shape[1])}
    for (i, j), text in cells.items():
        assert text == f"{kernel[i, j]:.2f}"
    panel.show()
    qtbot.waitExposed(panel)
    # Side by side in a short panel: the heatmap keeps most of the height.
    assert panel.split.orientation().name == "Horizontal"
    vb = panel.plot.getViewBox()
    rect = vb.mapViewToScene(panel.image.mapRectToView(panel.image.boundingRect())).boundingRect()
    assert rect.height() > 120
    grab_nonblank(panel, str(tmp_path / "test_weights_cells.png"))


def test_big_matrices_get_no_cell_text(qtbot) -> None:
    from inspector.ui.panels import WeightPanel

    model = load_model(SAMPLES / "digits_cnn.keras")
    node = next(n for n in model.graph.nodes if n.op_type == "Dense")  # 16 x 32 kernel
    panel = WeightPanel()
    qtbot.addWidget(panel)
    panel.set_weights(node)
    assert max(panel.current_array().shape) > 16
    assert panel.cell_annotations() == {}
