"""Bad or hostile Keras files: clear ModelLoadError, nothing executed, no TensorFlow import."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from inspector.loaders import ModelLoadError, load_model, loaders
from inspector.loaders.keras_loader import sniff
from tests.loaders import keras_builders as kb


@pytest.fixture(scope="session")
def keras_mod() -> Any:
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras")


@pytest.fixture(scope="session")
def mlp_files(keras_mod: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Path]]:
    folder = tmp_path_factory.mktemp("keras_bad")
    model = kb.sequential(explicit_input=True)
    paths = {
        "keras": folder / "mlp.keras",
        "h5": folder / "mlp.h5",
        "weights": folder / "mlp.weights.h5",
    }
    model.save(paths["keras"])
    model.save(paths["h5"])
    model.save_weights(paths["weights"])
    return model, paths


def test_registered_spec() -> None:
    spec = next(s for s in loaders() if s.name == "Keras")
    assert spec.extensions == (".keras", ".h5", ".hdf5")
    assert spec.priority == 10
    hdf5 = b"\x89HDF\r\n\x1a\n"
    assert sniff(b"PK\x03\x04rest", Path("x"))
    assert sniff(hdf5 + b"\0" * 100, Path("x"))
    for offset in (512, 1024, 2048):  # HDF5 user block
        assert sniff(b"\0" * offset + hdf5, Path("x"))
    assert not sniff(b"\0" * 300 + hdf5, Path("x"))
    assert not sniff(b"\x08\x07\x12\x07pytorch", Path("x"))


def test_zip_bomb_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        zf.writestr("config.json", b"[" + b" " * (64 * 2**20) + b"]")
    assert bomb.stat().st_size < 2**20
    with pytest.raises(ModelLoadError, match="zip bomb"):
        load_model(bomb)


def test_zip_without_config_and_garbage(tmp_path: Path) -> None:
    empty = tmp_path / "empty.keras"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(ModelLoadError, match="config.json"):
        load_model(empty)
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 8)
    with pytest.raises(ModelLoadError):
        load_model(garbage)
    notjson = tmp_path / "notjson.keras"
    with zipfile.ZipFile(notjson, "w") as zf:
        zf.writestr("config.json", "{not json")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        load_model(notjson)


def test_plain_hdf5_is_not_a_model(tmp_path: Path) -> None:
    p = tmp_path / "data.h5"
    with h5py.File(p, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(ModelLoadError, match="without a Keras model_config"):
        load_model(p)


@pytest.mark.convert
def test_weights_only_files(mlp_files: tuple[Any, dict[str, Path]], tmp_path: Path) -> None:
    _, paths = mlp_files
    with pytest.raises(ModelLoadError, match="contains only weights, no model architecture"):
        load_model(paths["weights"])
    legacy = tmp_path / "legacy_weights.h5"
    shutil.copy(paths["h5"], legacy)
    with h5py.File(legacy, "r+") as f:
        del f.attrs["model_config"]
    with pytest.raises(ModelLoadError, match="save_weights"):
        load_model(legacy)


@pytest.mark.convert
@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_truncated_files(mlp_files: tuple[Any, dict[str, Path]], tmp_path: Path, fmt: str) -> None:
    _, paths = mlp_files
    data = paths[fmt].read_bytes()
    for frac in (0.3, 0.7, 0.97):
        bad = tmp_path / f"cut{frac}.{fmt}"
        bad.write_bytes(data[: int(len(data) * frac)])
        with pytest.raises(ModelLoadError):
            model = load_model(bad)
            for node in model.graph.nodes:  # damage may only show when weights are read
                for w in node.weights:
                    w.tensor.numpy()


@pytest.mark.convert
def test_corrupted_bytes_never_traceback(mlp_files: tuple[Any, dict[str, Path]], tmp_path: Path) -> None:
    _, paths = mlp_files
    rng = np.random.default_rng(0)
    for fmt in ("keras", "h5"):
        data = bytearray(paths[fmt].read_bytes())
        for i in range(5):
            bad = bytearray(data)
            for pos in rng.integers(8, len(bad), 40):
                bad[pos] ^= 0xFF
            p = tmp_path / f"flip{i}.{fmt}"
            p.write_bytes(bytes(bad))
            try:
                model = load_model(p)
                for node in model.graph.nodes:
                    for w in node.weights:
                        w.tensor.numpy()
            except ModelLoadError:
                pass  # a clear error is the only acceptable failure


@pytest.mark.convert
def test_deflated_keras_zip_loads(mlp_files: tuple[Any, dict[str, Path]], tmp_path: Path) -> None:
    model, paths = mlp_files
    deflated = tmp_path / "deflated.keras"
    with zipfile.ZipFile(paths["keras"]) as src, zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    ours = load_model(deflated)
    got = [w.tensor.numpy() for n in ours.graph.nodes for w in n.weights]
    want = model.get_weights()
    assert len(got) == len(want)
    assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))


@pytest.mark.convert
@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_lambda_shown_never_run(keras_mod: Any, tmp_path: Path, fmt: str) -> None:
    marker = tmp_path / f"lambda_ran_{fmt}"
    model = kb.lambda_model(marker)
    path = tmp_path / f"lambda.{fmt}"
    model.save(path)
    marker.unlink()  # Keras ran the function while building; from here on nothing may
    loaded = load_model(path)
    node = loaded.graph.node("touch")
    assert node.op_type == "Lambda"
    assert node.category == "custom"
    assert any("touch" in w for w in loaded.warnings)
    assert loaded.graph.node("d").inputs == ("touch",)
    for n in loaded.graph.nodes:
        for w in n.weights:
            w.tensor.numpy()
    assert not marker.exists()


@pytest.mark.convert
def test_loading_imports_no_tensorflow(mlp_files: tuple[Any, dict[str, Path]]) -> None:
    _, paths = mlp_files
    code = (
        "import sys\n"
        "from inspector.loaders import load_model\n"
        f"for p in {[str(paths['keras']), str(paths['h5'])]!r}:\n"
        "    m = load_model(p)\n"
        "    [w.tensor.numpy() for n in m.graph.nodes for w in n.weights]\n"
        "bad = [m for m in ('tensorflow', 'keras', 'tf2onnx') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def _with_npz(src: Path, dst: Path, members: dict[str, bytes]) -> Path:
    """A copy of the real .keras file `src` whose weights are an .npz of `members`."""
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as npz:
        for name, data in members.items():
            npz.writestr(name, data)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in ("metadata.json", "config.json"):
            zout.writestr(name, zin.read(name))
        zout.writestr("model.weights.npz", buf.getvalue())
    return dst


def _npy_object(payload: bytes) -> bytes:
    """An .npy member declaring a 0-d object array, followed by `payload` as its pickle."""
    import io

    from numpy.lib import format as npy_format

    buf = io.BytesIO()
    npy_format.write_array_header_1_0(
        buf, {"descr": "|O", "fortran_order": False, "shape": ()}
    )
    return buf.getvalue() + payload


class _RunsCode:
    """Pickles as `os.system(cmd)`: what a hostile weights file would hold."""

    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self) -> Any:
        import os

        return (os.system, (self.cmd,))


def test_npz_pickle_never_runs_code(mlp_files: tuple, tmp_path: Path) -> None:
    import pickle

    marker = tmp_path / "ran"
    hostile = np.empty((), dtype=object)
    hostile[()] = {"0": _RunsCode(f"touch {marker}"), "1": np.zeros(8, "float32")}
    path = _with_npz(
        mlp_files[1]["keras"], tmp_path / "hostile.keras",
        {"layers/dense.npy": _npy_object(pickle.dumps(hostile, protocol=4))},
    )
    with pytest.raises(ModelLoadError, match="holds no numeric array"):
        load_model(path).graph.node("d1").weights[0].tensor.numpy()
    assert not marker.exists()


class _SharedBuffer:
    """Pickles as an ndarray rebuilt from `data`; many of them share one memoised buffer."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __reduce__(self) -> Any:
        from numpy._core.multiarray import _reconstruct

        state = (1, (len(self.data) // 4,), np.dtype("float32"), False, self.data)
        return (_reconstruct, (np.ndarray, (0,), b"b"), state)


def test_npz_memory_bomb_refused(mlp_files: tuple, tmp_path: Path) -> None:
    """4096 arrays over one stored 256 KB buffer would allocate 1 GB from a 256 KB member."""
    import pickle

    data = bytes(2**18)
    bomb = np.empty((), dtype=object)
    bomb[()] = {str(i): _SharedBuffer(data) for i in range(4096)}
    body = pickle.dumps(bomb, protocol=4)
    assert len(body) < 2 * len(data)  # the buffer really is stored once
    path = _with_npz(
        mlp_files[1]["keras"], tmp_path / "bomb.keras", {"layers/dense.npy": _npy_object(body)}
    )
    with pytest.raises(ModelLoadError, match="memory bomb"):
        load_model(path)
