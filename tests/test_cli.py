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
        ("run", str(SAMPLES / "digits_cnn.onnx"), "--input", "/no/such.npy", "-o", "{tmp}/x.npz"),
        ("render", str(SAMPLES / "digits_cnn.onnx"), "-o", "{tmp}/out.gif"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], tmp_path: Path) -> None:
    proc = cli(*(a.replace("{tmp}", str(tmp_path)) for a in args))
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


def _bce_loss(proto: onnx.ModelProto, x: np.ndarray) -> float:
    """-log p(target 1) of the iris model's sigmoid output, computed by onnxruntime."""
    import onnxruntime as ort

    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    (p,) = sess.run(None, {sess.get_inputs()[0].name: x})
    return float(-np.log(p.astype(np.float64)).sum())


def test_grad_equals_finite_differences_through_onnxruntime(tmp_path: Path) -> None:
    """Loss and weight gradients equal central differences of onnxruntime's own loss."""
    from onnx import numpy_helper

    out = tmp_path / "grads.npz"
    model = SAMPLES / "iris_mlp.onnx"
    x = np.load(SAMPLES / "iris_mlp_input.npy")
    proc = cli("grad", str(model), "--input", str(SAMPLES / "iris_mlp_input.npy"), "--target", "1",
               "--loss", "ce", "-o", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    proto = onnx.load(str(model))
    summary = json.loads(proc.stdout)
    assert summary["loss"] == pytest.approx(_bce_loss(proto, x), rel=1e-5)
    with np.load(out) as npz:
        grads = {k: npz[k] for k in npz.files}
    # Weights are keyed <node name>/<weight role>; map each to its initializer.
    nodes = {n.name: n for n in proto.graph.node}
    inits = {t.name: i for i, t in enumerate(proto.graph.initializer)}
    checked = 0
    for key in [k for k in grads if k.endswith("/B") and k[:-2] in nodes]:  # MatMul and Add
        init_name = nodes[key[:-2]].input[1]
        idx = inits[init_name]
        w0 = numpy_helper.to_array(proto.graph.initializer[idx]).astype(np.float32)
        assert grads[key].shape == w0.shape, key
        for flat in range(w0.size):
            eps = 1e-2
            vals = []
            for sign in (1, -1):
                w = w0.copy().reshape(-1)
                w[flat] += sign * eps
                p = onnx.ModelProto()
                p.CopyFrom(proto)
                p.graph.initializer[idx].CopyFrom(
                    numpy_helper.from_array(w.reshape(w0.shape), init_name))
                vals.append(_bce_loss(p, x))
            numeric = (vals[0] - vals[1]) / (2 * eps)
            got = float(grads[key].reshape(-1)[flat])
            assert got == pytest.approx(numeric, rel=2e-2, abs=1e-3), (key, flat, got, numeric)
            checked += 1
    assert checked == 81  # every weight and bias entry of the model
    assert any(np.abs(g).max() > 0.1 for g in grads.values())


def _svg_viewbox(path: Path) -> tuple[float, float]:
    import re

    m = re.search(r'viewBox="0 0 ([0-9.]+) ([0-9.]+)"', path.read_text(encoding="utf-8"))
    assert m, "no viewBox in the SVG"
    return float(m.group(1)), float(m.group(2))


@pytest.mark.parametrize("horizontal", [False, True])
def test_render_draws_every_op_in_the_flow_direction(tmp_path: Path, horizontal: bool) -> None:
    """The PNG decodes to the SVG's size at 1.5x, is mostly white with real ink on it, runs
    along the flow axis, and the SVG names every op type of the model."""
    from PIL import Image

    model = SAMPLES / "digits_cnn.onnx"
    extra = ("--horizontal",) if horizontal else ()
    png, svg = tmp_path / "graph.png", tmp_path / "graph.svg"
    for out in (png, svg):
        proc = cli("render", str(model), "-o", str(out), *extra)
        assert proc.returncode == 0, proc.stderr
    w, h = _svg_viewbox(svg)
    with Image.open(png) as im:
        assert im.format == "PNG"
        size = im.size
        rgb = np.asarray(im.convert("RGB")).astype(int)
    assert abs(size[0] - w * 1.5) <= 2 and abs(size[1] - h * 1.5) <= 2, (size, w, h)
    # 13 nodes in a chain: the long side is the flow axis.
    long_side, short_side = (size[0], size[1]) if horizontal else (size[1], size[0])
    assert long_side > 4 * short_side, size
    ink = (np.abs(rgb - 255).sum(axis=2) > 30).mean()
    assert 0.03 < ink < 0.6, ink  # neither blank nor a filled rectangle
    assert tuple(rgb[0, 0]) == (255, 255, 255)
    colours = {tuple(c) for c in rgb.reshape(-1, 3)[:: 97]}
    assert len(colours) > 20  # category colours, text, edges: not one flat colour
    text = svg.read_text(encoding="utf-8")
    for op in {n.op_type for n in onnx.load(str(model)).graph.node}:
        assert op in text, op


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
