"""Keras files run through the lowering in a process where TensorFlow cannot be imported.

The child process installs an import hook that refuses tensorflow, tf2onnx and keras and
records every attempt, so "TensorFlow is never imported" is checked, not assumed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import importlib.abc, sys
attempts = []
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "tf2onnx", "keras", "tf_keras"):
            attempts.append(name)
            raise ImportError(f"{name} is blocked in this test")
        return None
sys.meta_path.insert(0, Refuse())
from inspector.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
sys.stderr.write("\\nATTEMPTS " + ",".join(sorted(set(attempts))) + "\\n")
sys.exit(code)
"""


def _run_blocked(tmp_path: Path, *args: str) -> tuple[int, str, str, list[str]]:
    env = {"MODEL_INSPECTOR_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, *args], capture_output=True, text=True, timeout=120,
        env=env, cwd=tmp_path,
    )
    err, _, tail = proc.stderr.rpartition("ATTEMPTS ")
    attempts = [a for a in tail.strip().split(",") if a]
    return proc.returncode, proc.stdout, err.strip(), attempts


@pytest.mark.parametrize("name", ["iris_mlp.keras", "iris_mlp.h5"])
def test_run_keras_sample_never_imports_tensorflow(tmp_path: Path, name: str) -> None:
    out = tmp_path / "out.npz"
    code, stdout, err, attempts = _run_blocked(
        tmp_path, "run", str(SAMPLES / name), "--input", str(SAMPLES / "iris_mlp_input.npy"),
        "-o", str(out), "--json",
    )
    assert code == 0, err
    assert attempts == []
    report = json.loads(stdout)
    assert report["engine"] == "lowering"
    got = np.load(out)
    # The same network in ONNX, exported from the same weights when the samples were made,
    # run by onnxruntime: an oracle that shares no code with the lowering.
    ref = onnx.load(str(SAMPLES / "iris_mlp.onnx"))
    sess = ort.InferenceSession(ref.SerializeToString())
    x = np.load(SAMPLES / "iris_mlp_input.npy").astype(np.float32).reshape(1, -1)
    want = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got["output"], want, rtol=1e-5, atol=1e-6)
    assert {"features", "hidden1", "hidden1/preact", "hidden2", "output"} <= set(got.files)


def _write_keras(tmp_path: Path, layer_factory: str) -> Path:
    keras = pytest.importorskip("keras", reason="writing the test file needs the 'convert' extra")
    inp = keras.Input((6,), name="x")
    layer = eval(layer_factory, {"keras": keras})  # noqa: S307 - a literal factory from this test
    y = keras.layers.Dense(2, name="head")(layer(inp))
    path = tmp_path / "model.keras"
    keras.Model(inp, y).save(path)
    return path


def test_unlowered_layer_without_the_extra_is_one_line_naming_it(tmp_path: Path) -> None:
    path = _write_keras(tmp_path, "keras.layers.Masking(name='mask_it')")
    code, stdout, err, _ = _run_blocked(tmp_path, "run", str(path), "--input", "random", "-o", str(tmp_path / "o.npz"))
    assert code == 2
    assert "Traceback" not in err
    line = err.strip().splitlines()
    assert len(line) == 1, err
    assert "'mask_it' (Masking)" in line[0]
    assert "'convert' extra" in line[0]


def test_lambda_layer_is_named_and_never_run(tmp_path: Path) -> None:
    path = _write_keras(tmp_path, "keras.layers.Lambda(lambda t: t * 2, name='double_it')")
    code, _, err, attempts = _run_blocked(tmp_path, "run", str(path), "--input", "random", "-o", str(tmp_path / "o.npz"))
    assert code == 2
    assert "'double_it' (Lambda)" in err and "never run" in err
    assert attempts == []  # refused before any framework is looked for
