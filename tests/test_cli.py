"""The command-line contract, checked against onnx's own counts and onnxruntime's own outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `python -m inspector ARGS` the way a user's shell would."""
    return subprocess.run(
        [sys.executable, "-m", "inspector", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )


@pytest.mark.parametrize("name", ["digits_cnn.onnx", "iris_mlp.onnx", "trend_gru.onnx"])
def test_info_json_equals_onnx_own_facts(name: str) -> None:
    proc = cli("info", str(SAMPLES / name), "--json")
    assert proc.returncode == 0, proc.stderr
    facts = json.loads(proc.stdout)
    proto = onnx.load(str(SAMPLES / name))
    assert facts["format"] == "onnx"
    assert facts["nodes"] == len(proto.graph.node)
    counts: dict[str, int] = {}
    for n in proto.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    assert facts["op_types"] == counts
    total = sum(int(np.prod(t.dims)) for t in proto.graph.initializer)
    assert facts["parameters"] == total
    init_names = {t.name for t in proto.graph.initializer}
    assert [i["name"] for i in facts["inputs"]] == [
        i.name for i in proto.graph.input if i.name not in init_names
    ]
    assert [o["name"] for o in facts["outputs"]] == [o.name for o in proto.graph.output]
    assert all(o["dtype"] == "float32" for o in facts["outputs"])


def test_info_table_is_readable() -> None:
    proc = cli("info", str(SAMPLES / "iris_mlp.keras"))
    assert proc.returncode == 0, proc.stderr
    assert "format      keras" in proc.stdout
    assert "parameters  81" in proc.stdout
    assert "Dense" in proc.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("info", "/no/such/model.onnx"),
        ("info",),
        ("frobnicate", "x"),
        ("run", str(SAMPLES / "digits_cnn.onnx"), "--input", "/no/such.npy", "-o", "/tmp/x.npz"),
        ("render", str(SAMPLES / "digits_cnn.onnx"), "-o", "/tmp/out.gif"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...]) -> None:
    proc = cli(*args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_run_writes_every_node_output_equal_to_onnxruntime(tmp_path: Path) -> None:
    import onnxruntime as ort

    model = SAMPLES / "digits_cnn.onnx"
    x = np.load(SAMPLES / "digits_cnn_input.npy")
    out = tmp_path / "acts.npz"
    proc = cli("run", str(model), "--input", str(SAMPLES / "digits_cnn_input.npy"), "-o", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    acts = np.load(out)
    proto = onnx.load(str(model))
    for node in proto.graph.node:
        for o in node.output:
            assert o in acts.files, o
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    (expected,) = sess.run(None, {sess.get_inputs()[0].name: x})
    name = proto.graph.output[0].name
    np.testing.assert_allclose(acts[name], expected, rtol=1e-5, atol=1e-6)
    assert summary["values"][name]["shape"] == list(expected.shape)


def test_grad_writes_node_and_weight_gradients(tmp_path: Path) -> None:
    out = tmp_path / "grads.npz"
    model = SAMPLES / "iris_mlp.onnx"
    proc = cli("grad", str(model), "--input", str(SAMPLES / "iris_mlp_input.npy"), "--target", "1",
               "--loss", "ce", "-o", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    grads = np.load(out)
    proto = onnx.load(str(model))
    weight_keys = [k for k in grads.files if "/" in k]
    assert weight_keys, grads.files
    inits = {t.name: t for t in proto.graph.initializer}
    # every 2-D initializer (the dense kernels) has a gradient of its own shape
    for t in inits.values():
        if len(t.dims) == 2:
            match = [k for k in weight_keys if grads[k].shape == tuple(t.dims)]
            assert match, t.name
    assert json.loads(proc.stdout)["loss"] > 0


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_render_writes_a_diagram(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"graph{suffix}"
    proc = cli("render", str(SAMPLES / "digits_cnn.onnx"), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 1000
    if suffix == ".svg":
        text = out.read_text(encoding="utf-8")
        assert "Conv" in text and "MaxPool" in text


def test_gui_without_a_display_says_so_in_one_line() -> None:
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-m", "inspector", str(SAMPLES / "iris_mlp.onnx")],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "model-inspector: no display to open a window on (set DISPLAY, or use the info, "
        "render, run and grad sub-commands)"
    ]


def test_info_survives_a_closed_pipe() -> None:
    """`info --json | head`: stdout's reader is gone before we write (EPIPE), not an error."""
    code = (
        "import os, sys\n"
        "r, w = os.pipe(); os.close(r); os.dup2(w, 1)\n"
        "from inspector.cli import main\n"
        f"sys.exit(main(['info', {str(SAMPLES / 'digits_cnn.onnx')!r}, '--json']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "error" not in proc.stderr.lower()
