"""The PyTorch-exported samples: onnx's own facts, PyTorch-style structure, and gradients.

No torch here: the files are committed (samples/make_torch_samples.py wrote them and checked
them against PyTorch). compute_gradients must cover every node of each file, and its input
gradient must match central finite differences of the loss computed by onnxruntime.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from inspector.autodiff import compute_gradients
from inspector.loaders import load_model

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
ENTRIES: list[dict[str, Any]] = [
    e for e in json.loads((SAMPLES / "manifest.json").read_text(encoding="utf-8"))["files"]
    if e["file"].startswith("torch_")
]
IDS = [e["file"] for e in ENTRIES]


def test_the_three_torch_samples_are_listed() -> None:
    assert IDS == ["torch_resnet.onnx", "torch_encoder.onnx", "torch_lstm.onnx"]
    for e in ENTRIES:
        assert (SAMPLES / e["file"]).stat().st_size < 300 * 1024


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_written_by_pytorch_with_the_recorded_ops(entry: dict[str, Any]) -> None:
    """onnx itself reports the producer and op counts the manifest records."""
    m = onnx.load(str(SAMPLES / entry["file"]))
    onnx.checker.check_model(m)
    assert m.producer_name == "pytorch"
    counts: dict[str, int] = {}
    for n in m.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    assert counts == entry["op_types"]
    assert load_model(SAMPLES / entry["file"]).summary()["op_types"] == entry["op_types"]


def test_pytorch_structure_survives_in_the_files() -> None:
    """Name scopes, folded BN, LayerNormalization/Erf GELU, and the recurrent ops' variants."""
    resnet = onnx.load(str(SAMPLES / "torch_resnet.onnx")).graph
    assert any(n.name.startswith("/layer1/layer1.0/conv1/") for n in resnet.node)
    assert "BatchNormalization" not in {n.op_type for n in resnet.node}  # folded in eval export
    enc = {n.op_type for n in onnx.load(str(SAMPLES / "torch_encoder.onnx")).graph.node}
    assert {"LayerNormalization", "Erf", "MatMul", "Softmax"} <= enc
    rec = [n for n in onnx.load(str(SAMPLES / "torch_lstm.onnx")).graph.node
           if n.op_type in ("LSTM", "GRU")]
    attrs = [{a.name: onnx.helper.get_attribute_value(a) for a in n.attribute} for n in rec]
    assert [n.op_type for n in rec] == ["LSTM", "LSTM", "GRU"]
    assert [a.get("direction", b"forward") for a in attrs] == [b"bidirectional"] * 2 + [b"forward"]
    assert attrs[2]["linear_before_reset"] == 1  # PyTorch's GRU
    assert all(n.input[5] for n in rec)  # initial_h given (zeros of the batch's size)


def _loss(sess: ort.InferenceSession, x: np.ndarray, target: int) -> float:
    p = sess.run(None, {"input": x})[0].astype(np.float64)
    return float(-np.log(p[:, target]).mean())


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_gradients_cover_the_file_and_match_finite_differences(entry: dict[str, Any]) -> None:
    """No uncovered node; d loss / d input agrees with onnxruntime's difference quotients."""
    path = SAMPLES / entry["file"]
    x = np.load(SAMPLES / entry["input_file"])
    target = 1  # not necessarily the predicted class: a non-trivial gradient
    res = compute_gradients(load_model(path), {"input": x}, target=target, loss="ce")
    assert res.uncovered == {}
    g = res.values["input"].astype(np.float64)
    assert g.shape == x.shape and np.abs(g).max() > 0
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    assert res.loss == pytest.approx(_loss(sess, x, target), rel=1e-5)
    rng = np.random.default_rng(0)
    h = 1e-2  # float32 model: a wide step (measured agreement 1e-3 to 1.5e-2 relative)
    for _ in range(3):
        d = rng.standard_normal(x.shape)
        d /= np.linalg.norm(d)
        num = (_loss(sess, (x + h * d).astype(np.float32), target)
               - _loss(sess, (x - h * d).astype(np.float32), target)) / (2 * h)
        ana = float(np.sum(g * d))
        assert ana == pytest.approx(num, rel=3e-2, abs=1e-4 * np.linalg.norm(g))


def test_recurrent_weights_get_gradients_in_the_exported_layout() -> None:
    """Every LSTM/GRU weight (W, R, B) gets a finite, non-zero gradient of its own shape."""
    path = SAMPLES / "torch_lstm.onnx"
    model = load_model(path)
    res = compute_gradients(model, {"input": np.load(SAMPLES / "torch_lstm_input.npy")},
                            target=0)
    inits = {t.name: t for t in onnx.load(str(path)).graph.initializer}
    for node in model.graph.nodes:
        if node.op_type not in ("LSTM", "GRU"):
            continue
        for slot, vname in zip(("W", "R", "B"), node.input_names[1:4], strict=True):
            g = res.values[f"{node.name}/{slot}"]
            assert g.shape == tuple(inits[vname].dims)
            assert np.isfinite(g).all() and np.abs(g).max() > 0
