"""convert_keras: the cache, refusing Lambda layers, bad files, missing converter, progress."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from inspector.progress import Cancelled, Task
from inspector.runtime.errors import ConversionUnavailable, RunError
from inspector.runtime.keras_convert import convert_keras

pytestmark = pytest.mark.convert


@pytest.fixture(scope="module")
def keras() -> Any:
    pytest.importorskip("tensorflow")
    pytest.importorskip("tf2onnx")
    import keras

    return keras


@pytest.fixture(scope="module")
def mlp(keras: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    x = keras.Input((5,), name="features")
    h = keras.layers.Dense(7, activation="relu", name="hidden")(x)
    y = keras.layers.Dense(3, activation="softmax", name="out")(h)
    path = tmp_path_factory.mktemp("m") / "mlp.keras"
    keras.Model(x, y).save(path)
    return path


def test_convert_then_cache_hit(keras: Any, mlp: Path, tmp_path: Path) -> None:
    messages: list[tuple[float, str]] = []
    first = convert_keras(mlp, Task(lambda f, m: messages.append((f, m))), cache_dir=tmp_path)
    assert not first.from_cache
    assert sorted(first.outputs.values()) == ["hidden", "hidden/preact", "out", "out/preact"]
    assert first.final == ("out",)
    assert first.inputs == {"features": "features"}
    assert [f for f, _ in messages] == sorted(f for f, _ in messages) and messages[-1][0] == 1.0
    proto = onnx.load(str(first.onnx_path))
    onnx.checker.check_model(proto)
    # The converted file computes what Keras computes.
    km = keras.models.load_model(mlp, compile=False)
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    sess = ort.InferenceSession(str(first.onnx_path), providers=["CPUExecutionProvider"])
    got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {"features": x}),
                   strict=True))
    by_key = {k: got[n] for n, k in first.outputs.items()}
    np.testing.assert_allclose(by_key["out"], np.asarray(km(x)), rtol=1e-5, atol=1e-6)

    mtime = first.onnx_path.stat().st_mtime_ns
    second = convert_keras(mlp, cache_dir=tmp_path)
    assert second.from_cache
    assert second.onnx_path == first.onnx_path
    assert second.onnx_path.stat().st_mtime_ns == mtime  # not rewritten: no reconversion
    assert second.outputs == first.outputs and second.final == first.final
    assert second.seconds < first.seconds

    # A changed file (same name) is a different cache entry.
    edited = tmp_path / "edited.keras"
    km.get_layer("hidden").bias.assign(np.ones(7, np.float32))
    km.save(edited)
    assert convert_keras(edited, cache_dir=tmp_path).onnx_path != first.onnx_path


def test_env_cache_dir(keras: Any, mlp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_INSPECTOR_CACHE", str(tmp_path / "envcache"))
    conv = convert_keras(mlp)
    assert conv.onnx_path.parent == tmp_path / "envcache"


def test_lambda_refused_without_running(keras: Any, tmp_path: Path) -> None:
    x = keras.Input((3,))
    y = keras.layers.Lambda(lambda t: t * 2, name="doubler")(x)
    path = tmp_path / "lam.keras"
    keras.Model(x, y).save(path)
    with pytest.raises(RunError, match="Lambda layer 'doubler'"):
        convert_keras(path, cache_dir=tmp_path)
    h5 = tmp_path / "lam.h5"
    keras.Model(x, y).save(h5)
    with pytest.raises(RunError, match="Lambda"):
        convert_keras(h5, cache_dir=tmp_path)
    assert not list(tmp_path.glob("*.onnx"))


def test_bad_files(keras: Any, tmp_path: Path) -> None:
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(RunError, match="junk.keras"):
        convert_keras(junk, cache_dir=tmp_path)
    with pytest.raises(RunError, match="no such file"):
        convert_keras(tmp_path / "missing.keras", cache_dir=tmp_path)


def test_cancel(keras: Any, mlp: Path, tmp_path: Path) -> None:
    with pytest.raises(Cancelled):
        convert_keras(mlp, Task(cancelled=lambda: True), cache_dir=tmp_path)
    assert not list(tmp_path.glob("*.onnx"))


def test_missing_converter(mlp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An entry of None in sys.modules makes `import tf2onnx` raise ImportError, as when the
    # extra is not installed.
    monkeypatch.setitem(sys.modules, "tf2onnx", None)
    with pytest.raises(ConversionUnavailable, match="convert"):
        convert_keras(mlp, cache_dir=tmp_path)
