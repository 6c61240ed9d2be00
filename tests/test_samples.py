"""The sample corpus: every file in samples/manifest.json opens with the facts Keras and onnx
reported when the script wrote it, and the ONNX files compute what Keras computes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inspector.loaders import load_model

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
MANIFEST = json.loads((SAMPLES / "manifest.json").read_text(encoding="utf-8"))
ENTRIES: list[dict[str, Any]] = MANIFEST["files"]
ONNX_ENTRIES = [e for e in ENTRIES if e["format"] == "onnx"]
KERAS_ENTRIES = [e for e in ENTRIES if e["format"] == "keras"]


def _ids(entries: list[dict[str, Any]]) -> list[str]:
    return [e["file"] for e in entries]


def _dims_match(expected: list[int | None] | None, got: list[Any] | None) -> bool:
    """Manifest `None` (a batch dim) matches any non-fixed dim: None or a symbolic name."""
    if expected is None or got is None:
        return expected is got
    if len(expected) != len(got):
        return False
    for e, g in zip(expected, got, strict=True):
        if e is None:
            if isinstance(g, int) and not isinstance(g, bool):
                return False
        elif g != e:
            return False
    return True


def _io_matches(expected: list[dict[str, Any]], got: list[dict[str, Any]]) -> None:
    assert [g["name"] for g in got] == [e["name"] for e in expected]
    for e, g in zip(expected, got, strict=True):
        assert _dims_match(e["shape"], g["shape"]), (e, g)
        assert g["dtype"] == e["dtype"], (e, g)


def _ort_run(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def test_manifest_covers_every_model_file() -> None:
    """Each model file in samples/ has a manifest entry and each entry's files exist."""
    on_disk = {
        p.name for p in SAMPLES.iterdir() if p.suffix in (".onnx", ".keras", ".h5", ".hdf5")
    }
    assert on_disk == {e["file"] for e in ENTRIES}
    assert {"onnx", "keras"} == {e["format"] for e in ENTRIES}
    for e in ENTRIES:
        assert (SAMPLES / e["input_file"]).is_file()


def test_samples_folder_is_small() -> None:
    """The samples ship in the repository and the app bundle: keep them well under 2 MB."""
    total = sum(p.stat().st_size for p in SAMPLES.rglob("*") if p.is_file())
    assert total < 2 * 1024 * 1024


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(ENTRIES))
def test_loader_matches_manifest(entry: dict[str, Any]) -> None:
    """load_model reports the format, counts and typed inputs/outputs the frameworks reported."""
    model = load_model(SAMPLES / entry["file"])
    s = model.summary()
    assert s["format"] == entry["format"]
    assert s["nodes"] == entry["nodes"]
    assert s["parameters"] == entry["parameters"]
    assert sum(s["op_types"].values()) == entry["nodes"]
    _io_matches(entry["inputs"], s["inputs"])
    _io_matches(entry["outputs"], s["outputs"])


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(ENTRIES))
def test_cli_info_json_matches_manifest(entry: dict[str, Any]) -> None:
    """`model-inspector info --json FILE` prints the same facts (the CLI contract)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-m", "inspector", "info", "--json", str(SAMPLES / entry["file"])],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    facts = json.loads(proc.stdout)
    assert facts["format"] == entry["format"]
    assert facts["nodes"] == entry["nodes"]
    assert facts["parameters"] == entry["parameters"]
    assert sum(facts["op_types"].values()) == entry["nodes"]
    _io_matches(entry["inputs"], facts["inputs"])
    _io_matches(entry["outputs"], facts["outputs"])


@pytest.mark.parametrize("entry", ONNX_ENTRIES, ids=_ids(ONNX_ENTRIES))
def test_onnx_labels_in_metadata(entry: dict[str, Any]) -> None:
    """The class labels travel inside the ONNX file as metadata_props["labels"]."""
    model = load_model(SAMPLES / entry["file"])
    assert json.loads(model.metadata["labels"]) == entry["labels"]


@pytest.mark.parametrize("entry", ONNX_ENTRIES, ids=_ids(ONNX_ENTRIES))
def test_manifest_agrees_with_onnx(entry: dict[str, Any]) -> None:
    """The committed ONNX files still have the facts the manifest records (onnx as oracle)."""
    import onnx

    m = onnx.load(str(SAMPLES / entry["file"]))
    onnx.checker.check_model(m)
    assert len(m.graph.node) == entry["nodes"]
    assert sum(int(np.prod(t.dims)) for t in m.graph.initializer) == entry["parameters"]
    assert {o.domain or "ai.onnx": o.version for o in m.opset_import} == entry["opset"]
    assert 13 <= entry["opset"]["ai.onnx"] <= 17


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(ENTRIES))
def test_sample_input_has_the_input_shape(entry: dict[str, Any]) -> None:
    """Each sample input is one float32 example shaped like the model's (only) input."""
    x = np.load(SAMPLES / entry["input_file"], allow_pickle=False)
    (inp,) = entry["inputs"]
    assert x.dtype == np.dtype(inp["dtype"])
    assert x.shape[0] == 1
    # A symbolic dim (null; e.g. torch_lstm's sequence length) takes any concrete size here.
    assert len(x.shape) == len(inp["shape"])
    assert all(e is None or e == g for e, g in zip(inp["shape"][1:], x.shape[1:], strict=True))
    assert np.isfinite(x).all()


@pytest.mark.parametrize("entry", ONNX_ENTRIES, ids=_ids(ONNX_ENTRIES))
def test_onnx_output_is_a_prediction_over_the_labels(entry: dict[str, Any]) -> None:
    """onnxruntime on the sample input gives a probability per label (or one for binary)."""
    y = _ort_run(SAMPLES / entry["file"], np.load(SAMPLES / entry["input_file"]))
    width = 1 if entry["task"] == "binary" else len(entry["labels"])
    assert y.shape == (1, width)
    assert ((y >= 0) & (y <= 1)).all()
    if entry["task"] == "multiclass":
        assert abs(float(y.sum()) - 1.0) < 1e-5


def test_iris_csv_and_npy_are_the_same_example() -> None:
    """iris_sample.csv holds raw centimetres; standardized with the manifest's mean/std it is
    exactly iris_mlp_input.npy."""
    entry = next(e for e in ENTRIES if e["file"] == "iris_mlp.onnx")
    lines = (SAMPLES / "iris_sample.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].split(",") == entry["preprocessing"]["feature_names"]
    raw = np.array([float(v) for v in lines[1].split(",")], dtype=np.float32)
    mean = np.array(entry["preprocessing"]["mean"], dtype=np.float32)
    std = np.array(entry["preprocessing"]["std"], dtype=np.float32)
    x = np.load(SAMPLES / entry["input_file"])
    np.testing.assert_allclose((raw - mean) / std, x[0], atol=1e-5)


def test_digits_png_is_the_input_digit() -> None:
    """digits_sample.png, shrunk back to 8x8, is the digit in digits_cnn_input.npy."""
    from PIL import Image

    img = Image.open(SAMPLES / "digits_sample.png")
    assert img.mode == "L"
    small = np.asarray(img.resize((8, 8), Image.NEAREST), dtype=np.float32) / 255.0
    x = np.load(SAMPLES / "digits_cnn_input.npy")
    np.testing.assert_allclose(small, x[0, :, :, 0], atol=1 / 255)


@pytest.mark.parametrize("entry", ONNX_ENTRIES, ids=_ids(ONNX_ENTRIES))
def test_onnx_accuracy_on_its_dataset(entry: dict[str, Any]) -> None:
    """The committed ONNX model still scores the manifest's accuracy on its data (sklearn)."""
    pytest.importorskip("sklearn")
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    assert spec is not None and spec.loader is not None
    make_samples = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_samples)  # importing it does not pull TensorFlow
    spec_t = importlib.util.spec_from_file_location("make_torch_samples",
                                                    SAMPLES / "make_torch_samples.py")
    assert spec_t is not None and spec_t.loader is not None
    make_torch = importlib.util.module_from_spec(spec_t)
    spec_t.loader.exec_module(make_torch)  # importing it does not pull torch
    data = {
        "iris_mlp.onnx": make_samples.iris_data,
        "digits_cnn.onnx": make_samples.digits_data,
        "trend_gru.onnx": make_samples.trend_data,
        "torch_resnet.onnx": make_torch.digits32_data,
        "torch_encoder.onnx": make_torch.motif_data,
        "torch_lstm.onnx": make_torch.trend8_data,
    }[entry["file"]]()
    pred = _ort_run(SAMPLES / entry["file"], data["x"])
    assert make_samples.accuracy(pred, data["y"], entry["task"]) == pytest.approx(
        entry["accuracy"]
    )
    assert entry["accuracy"] > 0.95


@pytest.mark.convert
@pytest.mark.parametrize("entry", KERAS_ENTRIES, ids=_ids(KERAS_ENTRIES))
def test_onnx_equals_keras_on_sample_input(entry: dict[str, Any]) -> None:
    """Keras itself, on its own file, computes what onnxruntime computes on the ONNX twin."""
    pytest.importorskip("tensorflow")
    import keras

    model = keras.saving.load_model(str(SAMPLES / entry["file"]), compile=False, safe_mode=True)
    assert model.count_params() == entry["parameters"]
    x = np.load(SAMPLES / entry["input_file"])
    want = np.asarray(model(x, training=False))
    onnx_file = Path(entry["file"]).with_suffix(".onnx").name
    got = _ort_run(SAMPLES / onnx_file, x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
