"""The weight panel on real sample weights: the same conv kernel written by Keras (HWIO)
and by tf2onnx (OIHW) must give the same tile grid; matrices, vectors, export, gradients."""

from __future__ import annotations

import io
import zipfile

import h5py
import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from inspector.ir import Node
from inspector.runtime.stats import downsample_2d
from inspector.ui.panels.weights import WeightPanel, kernel_layout, to_oihw
from tests.ui._panel_helpers import SAMPLES, grab_nonblank, weight

ONNX_CONV2 = "digits_cnn_1/conv2_1/convolution/ReadVariableOp:0"


@pytest.fixture(scope="module")
def conv2_kernels() -> tuple[np.ndarray, np.ndarray]:
    """(Keras HWIO kernel from the .keras file, ONNX OIHW weight from the converted .onnx)."""
    with zipfile.ZipFile(SAMPLES / "digits_cnn.keras") as z:
        with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
            keras_k = np.asarray(f["layers/conv2d_1/vars/0"])
    model = onnx.load(str(SAMPLES / "digits_cnn.onnx"))
    onnx_w = next(numpy_helper.to_array(t) for t in model.graph.initializer if t.name == ONNX_CONV2)
    return keras_k, onnx_w


@pytest.fixture
def panel(qtbot) -> WeightPanel:
    p = WeightPanel()
    qtbot.addWidget(p)
    p.resize(800, 600)
    return p


def _tiles(panel: WeightPanel) -> np.ndarray:
    h, w = panel.tile_shape
    img = panel.image.image
    return np.stack([img[r:r + h, c:c + w] for r, c in panel.tile_origins])


def test_keras_and_onnx_kernels_draw_the_same_grid(panel, conv2_kernels, tmp_path) -> None:
    keras_k, onnx_w = conv2_kernels
    assert keras_k.shape == (3, 3, 8, 16) and onnx_w.shape == (16, 8, 3, 3)
    panel.set_weights(Node("conv2", "Conv2D", weights=(weight("kernel", keras_k),)))
    assert panel.kind == "kernels"
    keras_tiles = _tiles(panel)
    panel.set_weights(Node("conv2", "Conv", weights=(weight("W", onnx_w, "initializer"),)))
    onnx_tiles = _tiles(panel)
    # One tile per (output, input) channel pair, row by output channel.
    np.testing.assert_array_equal(onnx_tiles, onnx_w.reshape(16 * 8, 3, 3))
    np.testing.assert_allclose(keras_tiles, onnx_tiles, rtol=1e-6)
    panel.show()
    grab_nonblank(panel, str(tmp_path / "panel_weights_conv.png"))


def test_kernel_layout_detection(conv2_kernels) -> None:
    keras_k, onnx_w = conv2_kernels
    k = weight("kernel", keras_k)
    assert kernel_layout(Node("c", "Conv2D"), k) == "HWIO"
    assert kernel_layout(Node("c", "Conv"), weight("W", onnx_w, "initializer")) == "OIHW"
    np.testing.assert_allclose(to_oihw(keras_k, "HWIO"), onnx_w, rtol=1e-6)


def test_vector_weight_as_bars_and_export(panel, tmp_path) -> None:
    model = onnx.load(str(SAMPLES / "digits_cnn.onnx"))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    w = inits["digits_cnn_1/dense1_1/Cast/ReadVariableOp:0"]
    b = inits["digits_cnn_1/dense1_1/BiasAdd/ReadVariableOp:0"]
    panel.set_weights(Node("dense1", "MatMul", weights=(weight("B", w, "initializer"),
                                                         weight("bias", b, "initializer"))))
    np.testing.assert_array_equal(panel.image.image, w)
    panel.select_weight(1)
    assert panel.kind == "bars"
    np.testing.assert_array_equal(panel.bars.opts["height"], b)
    out = tmp_path / "bias.npy"
    panel.export_npy(str(out))
    np.testing.assert_array_equal(np.load(out), b)
    assert f"sparsity {np.count_nonzero(b == 0) / b.size:.1%}" in panel.stats_label.text()


def test_big_matrix_is_block_averaged_with_a_note(panel) -> None:
    big = np.random.default_rng(0).normal(size=(2050, 3000)).astype(np.float32)
    panel.set_weights(Node("fc", "Gemm", weights=(weight("B", big, "initializer"),)))
    img = panel.image.image
    assert img.shape == (684, 1000) and panel.block == (3, 3)
    np.testing.assert_allclose(img[:683], big[:2049].reshape(683, 3, 1000, 3).mean(axis=(1, 3)),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(img[683], big[2049:].reshape(1, 1000, 3).mean(axis=2)[0],
                               rtol=1e-4, atol=1e-6)  # the row left over is drawn too
    assert any("2050x3000 shown as 684x1000 (means of 3x3 blocks)" in n for n in panel.notes())
    assert img.shape == downsample_2d(big, 1024)[0].shape
    # Export still writes the full matrix, not what is drawn.
    assert panel.current_array() is not None and panel.current_array().shape == big.shape


def test_a_language_model_head_is_drawn_not_dropped(panel) -> None:
    # 8 x 50257 (a small LM head): the block average used to leave 0 rows and pyqtgraph
    # raised ZeroDivisionError inside the panel, so nothing was shown for the node.
    head = np.random.default_rng(1).normal(size=(8, 50257)).astype(np.float32)
    panel.set_weights(Node("lm_head", "MatMul", weights=(weight("W", head, "initializer"),)))
    img = panel.image.image
    # Every one of the 8 rows stays; columns are averaged 50 at a time (the last block 7).
    assert img is not None and img.shape == (8, 1006) and panel.block == (1, 50)
    np.testing.assert_allclose(img[:, :1005], head[:, :50250].reshape(8, 1005, 50).mean(axis=2),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(img[:, 1005], head[:, 50250:].mean(axis=1), rtol=1e-4, atol=1e-6)
    assert any("8x50257 shown as 8x1006 (means of 1x50 blocks)" in n for n in panel.notes())
    # cell (i, j) is drawn over rows i and columns 50j .. 50j + 49 of the matrix
    rect = panel.image.mapRectToView(panel.image.boundingRect())
    assert (rect.left(), rect.top(), rect.width(), rect.height()) == (-0.5, -0.5, 1006 * 50, 8)


def test_gradient_beside_weights_and_diverging_map(panel) -> None:
    w = np.arange(-6, 6, dtype=np.float32).reshape(3, 4)
    panel.set_weights(Node("d", "Dense", weights=(weight("kernel", w),)))
    panel.set_colormap("diverging")
    assert panel.colorbar.levels() == pytest.approx((-6.0, 6.0))
    g = w * 0.01
    panel.set_gradient(g)
    assert panel.grad_plot.isVisible()
    np.testing.assert_array_equal(panel.grad_image.image, g)
    panel.set_gradient(np.zeros((2, 2)))
    assert not panel.grad_plot.isVisible()
    assert "does not match" in panel.notes()[0]


def test_node_without_weights(panel, tmp_path) -> None:
    panel.set_weights(Node("r", "Relu"))
    assert panel.kind == "none" and "no weights" in panel.stats_label.text()
    with pytest.raises(ValueError):
        panel.export_npy(str(tmp_path / "never.npy"))
