"""The Input tab's options in the real window: symbolic dims, image scaling presets, CSV rows,
seeds, per-tab memory, and one-sentence errors for absurd shapes and wrong files."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from inspector.runtime.inputs import DEFAULT_SEQUENCE
from tests.ui.conftest import SAMPLES_DIR


@pytest.fixture(scope="session")
def seq_model(tmp_path_factory):
    """A real ONNX model with symbolic batch and sequence dims: y = x * 2 over (batch, seq, 3)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", 3])
    two = helper.make_tensor("two", TensorProto.FLOAT, [1], [2.0])
    graph = helper.make_graph([helper.make_node("Mul", ["x", "two"], ["y"], name="double")],
                              "seq", [x], [y], [two])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = tmp_path_factory.mktemp("seq") / "seq_model.onnx"
    onnx.save(model, str(path))
    return path


def _ran(qtbot, tab, check, timeout=30_000) -> None:
    """Wait until the tab's newest activations satisfy `check` (a failed run fails the test)."""
    failed: list[str] = []
    tab.job_failed.connect(lambda message, _details: failed.append(message))
    qtbot.waitUntil(lambda: bool(failed) or (tab.activations is not None and
                                             check(tab.activations)), timeout=timeout)
    assert not failed, failed


def test_symbolic_sequence_dim_is_asked_for_and_fed(qtbot, main_window, open_model, seq_model):
    tab = open_model(seq_model)
    dock = main_window.inspect
    options = dock.input_editor.options
    assert set(options.dim_spins) == {"batch", "seq"}
    assert options.dim_spins["batch"].value() == 1
    assert options.dim_spins["seq"].value() == DEFAULT_SEQUENCE
    assert dock.request_input("random")
    assert tab.feeds["x"].shape == (1, DEFAULT_SEQUENCE, 3)
    _ran(qtbot, tab, lambda a: a.outputs["y"].shape == (1, DEFAULT_SEQUENCE, 3))

    options.set_dim("seq", 32)  # the input is remade by itself once the edit settles
    _ran(qtbot, tab, lambda a: a.outputs["y"].shape == (1, 32, 3))
    assert tab.feeds["x"].shape == (1, 32, 3)
    np.testing.assert_allclose(tab.activations.outputs["y"], tab.feeds["x"] * 2, rtol=1e-6)
    assert "x 1x32x3" in options.shape_text()

    # The seed picks the random input: the same seed gives the same array, another differs.
    first = tab.feeds["x"].copy()
    options.seed.setValue(7)
    assert dock.request_input("random")
    seven = tab.feeds["x"].copy()
    assert not np.array_equal(first, seven)
    options.seed.setValue(0)
    assert dock.request_input("random")
    np.testing.assert_array_equal(tab.feeds["x"], first)

    # Options stay with their tab: another model starts from its own defaults, and coming back
    # finds the sequence length still at 32.
    iris = open_model(SAMPLES_DIR / "iris_mlp.onnx")
    qtbot.waitUntil(lambda: main_window.current_tab() is iris)
    assert "seq" not in options.dim_spins and options.seed.value() == 0
    assert not options.scaling.isVisibleTo(options)
    main_window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: "seq" in options.dim_spins)
    assert options.dim_spins["seq"].value() == 32


def test_absurd_dims_and_wrong_files_give_one_sentence(qtbot, main_window, open_model,
                                                      seq_model, tmp_path):
    tab = open_model(seq_model)
    dock = main_window.inspect
    options = dock.input_editor.options
    errors: list[str] = []
    dock.error_raised.connect(errors.append)
    assert dock.request_input("random")
    before = tab.feeds

    options.set_dim("seq", 1_000_000_000)
    assert not dock.request_input("random")
    assert tab.feeds is before  # the old input stays
    assert len(errors) == 1
    message = errors[0]
    assert "\n" not in message and "Traceback" not in message
    assert "over the limit" in message and "'x'" in message
    assert dock.status.text() == message
    # The automatic remake after the edit fails quietly: the status says it, no second dialog.
    qtbot.wait(600)
    assert len(errors) == 1 and dock.status.text() == message

    options.set_dim("seq", 8)
    assert dock.request_input("random")
    assert tab.feeds["x"].shape == (1, 8, 3)

    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(b"this is not an array")
    assert not dock.request_input("file", str(garbage))
    assert len(errors) == 2 and "\n" not in errors[1] and "garbage.npy" in errors[1]
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((1, 5, 4), np.float32))  # 4 features where the model takes 3
    assert not dock.request_input("file", str(wrong))
    assert len(errors) == 3 and "\n" not in errors[2] and "expects shape" in errors[2]


def _pil_pixels(path, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("L").resize(size, Image.Resampling.BILINEAR), np.float32)


def test_image_scaling_presets_give_their_ranges(qtbot, main_window, open_model, tmp_path):
    tab = open_model(SAMPLES_DIR / "digits_cnn.onnx")
    dock = main_window.inspect
    options = dock.input_editor.options
    png = SAMPLES_DIR / "digits_sample.png"
    assert options.scaling.isVisibleTo(options)  # an 8x8x1 image input
    pixels = _pil_pixels(png, (8, 8))
    assert pixels.max() > 190 and pixels.min() < 10  # a real picture, dark and bright parts
    # The ImageNet constants for one grey channel are the means of the RGB ones.
    grey_mean, grey_std = np.mean([0.485, 0.456, 0.406]), np.mean([0.229, 0.224, 0.225])
    promised = {"0-1": (0.0, 1.0), "0-255": (0.0, 255.0), "-1-1": (-1.0, 1.0),
                "imagenet": (-grey_mean / grey_std, (1 - grey_mean) / grey_std)}
    fed = {}
    for key, (lo, hi) in promised.items():
        options.scaling.setCurrentIndex(options.scaling.findData(key))
        assert options.choice.scaling == key
        assert dock.request_input("file", str(png))
        x = tab.feeds["image"]
        assert x.shape == (1, 8, 8, 1) and x.dtype == np.float32
        assert lo - 1e-5 <= x.min() and x.max() <= hi + 1e-4, (key, x.min(), x.max())
        # Most of the promised range is used (the picture has near-black and near-white).
        assert x.max() - x.min() > 0.7 * (hi - lo), key
        fed[key] = x[0, :, :, 0].astype(np.float64)
    np.testing.assert_allclose(fed["0-255"], pixels, atol=1e-4)
    np.testing.assert_allclose(fed["0-1"], pixels / 255.0, atol=1e-6)
    np.testing.assert_allclose(fed["-1-1"], pixels / 127.5 - 1.0, atol=1e-5)
    np.testing.assert_allclose(fed["imagenet"], (pixels / 255.0 - grey_mean) / grey_std, atol=1e-5)
    _ran(qtbot, tab, lambda a: True)
    main_window.grab().save(str(tmp_path / "test_input_image_options.png"))


def _iris_mean_std() -> tuple[np.ndarray, np.ndarray]:
    """The standardization the Iris sample was trained with, as its generator recorded it."""
    entry = next(f for f in json.loads((SAMPLES_DIR / "manifest.json").read_text())["files"]
                 if f["file"] == "iris_mlp.onnx")
    pre = entry["preprocessing"]
    return np.array(pre["mean"]), np.array(pre["std"])


def test_csv_row_choice(qtbot, main_window, open_model, tmp_path):
    from sklearn.datasets import load_iris

    tab = open_model(SAMPLES_DIR / "iris_mlp.onnx")
    dock = main_window.inspect
    options = dock.input_editor.options
    mean, std = _iris_mean_std()
    data = load_iris()
    rows = data.data[[0, 60, 120]]
    csv = tmp_path / "three_flowers.csv"
    csv.write_text(",".join(n.replace(" (cm)", "") for n in data.feature_names) + "\n"
                   + "\n".join(",".join(f"{v:g}" for v in r) for r in rows) + "\n")
    raw = np.loadtxt(csv, delimiter=",", skiprows=1)
    expected = (raw - mean) / std  # raw centimetres, standardized as the model was trained
    assert not options.row.isVisibleTo(options)  # no CSV chosen yet
    assert dock.request_input("file", str(csv))
    assert options.row.isVisibleTo(options) and options.row.value() == 0
    assert options.standardize.isVisibleTo(options) and options.standardize.isChecked()
    np.testing.assert_allclose(tab.feeds["features"][0], expected[0], rtol=1e-5)

    options.row.setValue(2)  # remakes the input from the same file once the edit settles
    qtbot.waitUntil(lambda: np.allclose(tab.feeds["features"][0], expected[2], rtol=1e-5),
                    timeout=5000)
    options.standardize.setChecked(False)  # values as written in the file
    qtbot.waitUntil(lambda: np.allclose(tab.feeds["features"][0], raw[2], rtol=1e-6), timeout=5000)
    _ran(qtbot, tab, lambda a: True)
    errors: list[str] = []
    dock.error_raised.connect(errors.append)
    options.row.setValue(3)
    assert not dock.request_input("file", str(csv))
    assert len(errors) == 1 and "3 data row(s)" in errors[0] and "\n" not in errors[0]
    np.testing.assert_allclose(tab.feeds["features"][0], raw[2], rtol=1e-6)
    # Another file starts again at its first row; a non-CSV file hides the row box.
    np.save(tmp_path / "one.npy", expected[1:2].astype(np.float32))
    assert dock.request_input("file", str(tmp_path / "one.npy"))
    assert options.choice.row == 0 and not options.row.isVisibleTo(options)
    assert not options.standardize.isVisibleTo(options)


def test_sample_csv_standardized_is_the_sample_input(qtbot, main_window, open_model):
    # The samples' CSV is the same Iris row as iris_mlp_input.npy, in raw centimetres.
    tab = open_model(SAMPLES_DIR / "iris_mlp.onnx")
    assert main_window.inspect.request_input("file", str(SAMPLES_DIR / "iris_sample.csv"))
    np.testing.assert_allclose(tab.feeds["features"], np.load(SAMPLES_DIR / "iris_mlp_input.npy"),
                               rtol=1e-5, atol=1e-6)


def test_shared_and_unnamed_dims_of_two_inputs(qtbot, main_window, open_model, tmp_path):
    # a: (batch, n), b: (batch, <no name>) -> Concat: "batch" is asked for once (both inputs
    # must agree, as onnxruntime checks), n once, and b's unnamed dim by input and axis.
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", "n"])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, ["batch", None])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", None])
    graph = helper.make_graph([helper.make_node("Concat", ["a", "b"], ["y"], axis=1)],
                              "two", [a, b], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "two_inputs.onnx"
    onnx.save(model, str(path))
    tab = open_model(path)
    dock = main_window.inspect
    options = dock.input_editor.options
    assert sorted(options.dim_spins) == ["b:1", "batch", "n"]
    options.set_dim("batch", 3)
    options.set_dim("n", 2)
    options.set_dim("b:1", 5)
    assert dock.request_input("ones")
    assert tab.feeds["a"].shape == (3, 2) and tab.feeds["b"].shape == (3, 5)
    _ran(qtbot, tab, lambda r: r.outputs["y"].shape == (3, 7))


def test_run_reuses_the_chosen_file_and_the_combo_shows_it(qtbot, main_window, open_model,
                                                           monkeypatch):
    tab = open_model(SAMPLES_DIR / "iris_mlp.onnx")
    dock = main_window.inspect
    npy = SAMPLES_DIR / "iris_mlp_input.npy"
    assert dock.request_input("file", str(npy))
    assert dock.input_kind.currentText().startswith("file")

    def no_dialog(*_a, **_k):
        raise AssertionError("Run asked for the file again")

    monkeypatch.setattr("inspector.ui.inspect_dock.QFileDialog.getOpenFileName", no_dialog)
    tab.feeds = None
    dock.run_button.click()
    np.testing.assert_array_equal(tab.feeds["features"], np.load(npy))
