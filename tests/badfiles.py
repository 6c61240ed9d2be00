"""Factories that write one bad model file each into a folder, for loader, CLI and GUI tests.

Each factory takes a folder and returns `(path, expect)`: the file it wrote and what the
one-line error must say, as `|`-separated alternatives matched case-insensitively (check
with `message_ok`). The message must also name the file (`path.name`).

`FACTORIES` need only onnx, h5py, numpy and Pillow. `KERAS_FACTORIES` write files with Keras
itself and need TensorFlow (mark their tests `convert`). `lambda_model` writes a Keras model
that loads fine but whose Lambda layer would create a marker file if anything executed it.
"""

from __future__ import annotations

import functools
import io
import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

BadFile = tuple[Path, str]

#: A .keras config.json this many bytes long when inflated (from a zip of about 1 MB).
BOMB_BYTES = 1_200_000_000


def message_ok(message: str, expect: str) -> bool:
    """True when `message` contains one of the `|`-separated alternatives in `expect`."""
    low = message.lower()
    return any(alt.strip().lower() in low for alt in expect.split("|"))


# ------------------------------------------------------------------------- ONNX


def _tiny_onnx(weight_name: str = "W"):
    """A real, checkable ONNX model: y = x @ W + b, with a 16x16 weight."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((16, 16)).astype(np.float32), weight_name)
    b = numpy_helper.from_array(np.zeros(16, np.float32), "b")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", weight_name], ["xw"], name="matmul"),
            helper.make_node("Add", ["xw", "b"], ["y"], name="add"),
        ],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 16])],
        initializer=[w, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def _external_onnx(model_path: Path, location: str, data_path: Path | None) -> None:
    """Write the tiny model with W stored as external data at `location` (as written in the
    file), and W's real bytes at `data_path` (None: nowhere)."""
    import onnx

    model = _tiny_onnx()
    w = next(t for t in model.graph.initializer if t.name == "W")
    raw = onnx.numpy_helper.to_array(w).tobytes()
    w.ClearField("float_data")
    w.ClearField("raw_data")
    w.data_location = onnx.TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(len(raw)))):
        entry = w.external_data.add()
        entry.key, entry.value = key, value
    model_path.parent.mkdir(parents=True, exist_ok=True)
    model_path.write_bytes(model.SerializeToString())
    if data_path is not None:
        # The data is really there: a loader that follows the path would read a valid weight.
        data_path.write_bytes(raw)


def truncated_onnx(folder: Path) -> BadFile:
    """A real ONNX model (the digits sample, written by tf2onnx) cut in half."""
    data = (SAMPLES / "digits_cnn.onnx").read_bytes()
    path = folder / "truncated.onnx"
    path.write_bytes(data[: len(data) // 2])
    return path, "truncated|corrupt|invalid|not a valid|cannot parse|could not parse"


def random_onnx(folder: Path) -> BadFile:
    """64 KB of seeded random bytes named .onnx."""
    path = folder / "random.onnx"
    path.write_bytes(np.random.default_rng(1).bytes(65536))
    return path, "truncated|corrupt|invalid|not a valid|cannot parse|could not parse"


def empty_onnx(folder: Path) -> BadFile:
    """A zero-byte .onnx."""
    path = folder / "empty.onnx"
    path.write_bytes(b"")
    return path, "empty"


def png_as_onnx(folder: Path) -> BadFile:
    """A real PNG image renamed to .onnx."""
    from PIL import Image

    buf = io.BytesIO()
    img = np.random.default_rng(2).integers(0, 256, (32, 32), dtype=np.uint8)
    Image.fromarray(img, mode="L").save(buf, format="PNG")
    path = folder / "picture.onnx"
    path.write_bytes(buf.getvalue())
    return path, "png|image|not a valid|invalid|corrupt|not an onnx|cannot parse|could not parse"


def text_file(folder: Path) -> BadFile:
    """A plain .txt note: no loader should claim it."""
    path = folder / "notes.txt"
    path.write_text("These are notes about a model, not a model.\n", encoding="utf-8")
    return path, "not a model|unsupported|cannot open|can't open|not a valid"


def external_outside(folder: Path) -> BadFile:
    """ONNX whose external data location is "../outside.bin" (which exists, with real data)."""
    path = folder / "ext_outside" / "outside_ref.onnx"
    _external_onnx(path, "../outside.bin", folder / "outside.bin")
    return path, "outside"


def external_absolute(folder: Path) -> BadFile:
    """ONNX whose external data location is an absolute path (which exists, with real data)."""
    data = (folder / "absolute.bin").resolve()
    path = folder / "ext_absolute" / "absolute_ref.onnx"
    _external_onnx(path, str(data), data)
    return path, "absolute|outside"


def external_missing(folder: Path) -> BadFile:
    """ONNX whose external data file does not exist."""
    path = folder / "ext_missing" / "missing_data.onnx"
    _external_onnx(path, "weights_not_here.bin", None)
    return path, "weights_not_here.bin|missing|not found|no such|does not exist"


# ------------------------------------------------------------------------- Keras / HDF5


def random_keras(folder: Path) -> BadFile:
    """64 KB of seeded random bytes named .keras."""
    path = folder / "random.keras"
    path.write_bytes(np.random.default_rng(3).bytes(65536))
    return path, "zip|corrupt|invalid|not a valid"


def random_h5(folder: Path) -> BadFile:
    """64 KB of seeded random bytes named .h5."""
    path = folder / "random.h5"
    path.write_bytes(np.random.default_rng(4).bytes(65536))
    return path, "hdf5|corrupt|invalid|not a valid"


def _rewrite_keras(src: Path, dst: Path, replace: dict[str, bytes | None]) -> None:
    """Copy a real .keras zip, replacing (bytes) or dropping (None) some members."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename in replace:
                if replace[info.filename] is not None:
                    zout.writestr(info.filename, replace[info.filename])
            else:
                zout.writestr(info, zin.read(info.filename))


def keras_no_config(folder: Path) -> BadFile:
    """A real .keras (iris sample) with config.json removed."""
    path = folder / "no_config.keras"
    _rewrite_keras(SAMPLES / "iris_mlp.keras", path, {"config.json": None})
    return path, "config.json"


def keras_bad_json(folder: Path) -> BadFile:
    """A real .keras (iris sample) whose config.json is not JSON."""
    path = folder / "bad_config.keras"
    _rewrite_keras(
        SAMPLES / "iris_mlp.keras", path, {"config.json": b'{"class_name": "Functional", "con'}
    )
    return path, "json"


@functools.lru_cache(maxsize=2)
def _bomb_zip(zip64: bool) -> bytes:
    """A .keras zip (iris sample members) whose config.json is 1.2 GB of spaces followed by
    the real config. Cached per process: deflating 1.2 GB takes seconds."""
    with zipfile.ZipFile(SAMPLES / "iris_mlp.keras") as src:
        config = src.read("config.json")
        weights = src.read("model.weights.h5")
        metadata = src.read("metadata.json")
    chunk = b" " * (1 << 24)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("metadata.json", metadata)
        with z.open("config.json", mode="w", force_zip64=zip64) as f:
            for _ in range((BOMB_BYTES - len(config)) // len(chunk)):
                f.write(chunk)
            f.write(config)
        z.writestr("model.weights.h5", weights)
    return buf.getvalue()


def keras_zip_bomb(folder: Path) -> BadFile:
    """A ~1 MB .keras whose config.json inflates to 1.2 GB: spaces, then the real config (so
    it is valid JSON and a loader without a size limit would try to swallow it whole)."""
    path = folder / "bomb.keras"
    path.write_bytes(_bomb_zip(zip64=True))
    return path, "too large|too big|bomb|exceeds|limit|size"


def keras_zip_bomb_forged(folder: Path) -> BadFile:
    """A .keras whose config.json inflates to 1.2 GB while both zip headers claim a few KB:
    a loader that trusts the declared size must still stop where the data disagrees."""
    import struct

    # Without zip64 (the data is under 2 GiB) the sizes are plain 32-bit fields to overwrite.
    data = bytearray(_bomb_zip(zip64=False))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        local = z.getinfo("config.json").header_offset
        central = z.start_dir  # type: ignore[attr-defined]
    with zipfile.ZipFile(SAMPLES / "iris_mlp.keras") as src:
        fake = struct.pack("<I", len(src.read("config.json")))
    # APPNOTE 4.3.7: uncompressed size is at offset 22 of the local file header.
    assert data[local : local + 4] == b"PK\x03\x04"
    data[local + 22 : local + 26] = fake
    # APPNOTE 4.3.12: and at offset 24 of its central directory entry.
    entry = data.index(b"PK\x01\x02", central)
    while data[entry + 46 : entry + 46 + len(b"config.json")] != b"config.json":
        entry = data.index(b"PK\x01\x02", entry + 4)
    data[entry + 24 : entry + 28] = fake
    path = folder / "forged_bomb.keras"
    path.write_bytes(bytes(data))
    return path, "corrupt|crc|bad zip|invalid|not valid|json|bomb|size|too large"


def h5_bad_model_config(folder: Path) -> BadFile:
    """A real legacy .h5 (iris sample) whose model_config attribute is broken JSON."""
    import h5py

    path = folder / "bad_model_config.h5"
    shutil.copyfile(SAMPLES / "iris_mlp.h5", path)
    with h5py.File(path, "r+") as f:
        f.attrs["model_config"] = '{"class_name": "Sequential", "config": {"layers": [{'
    return path, "model_config|json|config"


def h5_not_keras(folder: Path) -> BadFile:
    """A valid HDF5 file that holds a plain data set, not a Keras model."""
    import h5py

    path = folder / "plain_data.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("measurements", data=np.arange(100, dtype=np.float32))
    return path, "keras|model_config|not a model|no model|weights"


def _keras_config_edit(folder: Path, name: str, edit: Callable[[dict], None]) -> Path:
    """A copy of the iris .keras with its config.json changed by `edit`."""
    import json

    with zipfile.ZipFile(SAMPLES / "iris_mlp.keras") as src:
        config = json.loads(src.read("config.json"))
    edit(config)
    path = folder / name
    _rewrite_keras(
        SAMPLES / "iris_mlp.keras", path, {"config.json": json.dumps(config).encode()}
    )
    return path


def _inbound(layer_name: str) -> list[dict]:
    """Keras 3 inbound_nodes calling a layer on `layer_name`'s first output."""
    history = {"keras_history": [layer_name, 0, 0], "shape": [None, 4], "dtype": "float32"}
    return [{"args": [{"class_name": "__keras_tensor__", "config": history}], "kwargs": {}}]


def keras_cycle(folder: Path) -> BadFile:
    """A .keras whose layers call each other in a loop (hidden1 <- hidden2 <- hidden1)."""

    def edit(config: dict) -> None:
        layers = {layer["name"]: layer for layer in config["config"]["layers"]}
        layers["hidden1"]["inbound_nodes"] = _inbound("hidden2")

    path = _keras_config_edit(folder, "cycle.keras", edit)
    return path, "cycle|loop|circular|not a valid|invalid|order"


def keras_unknown_inbound(folder: Path) -> BadFile:
    """A .keras whose layer takes its input from a layer that does not exist."""

    def edit(config: dict) -> None:
        layers = {layer["name"]: layer for layer in config["config"]["layers"]}
        layers["hidden2"]["inbound_nodes"] = _inbound("no_such_layer")

    path = _keras_config_edit(folder, "dangling.keras", edit)
    return path, "no_such_layer"


def truncated_keras(folder: Path) -> BadFile:
    """A real .keras zip (digits sample) cut in half."""
    data = (SAMPLES / "digits_cnn.keras").read_bytes()
    path = folder / "truncated.keras"
    path.write_bytes(data[: len(data) // 2])
    return path, "zip|truncated|corrupt|damaged|invalid|not a valid"


def truncated_h5(folder: Path) -> BadFile:
    """A real legacy .h5 (digits sample) cut in half."""
    data = (SAMPLES / "digits_cnn.h5").read_bytes()
    path = folder / "truncated.h5"
    path.write_bytes(data[: len(data) // 2])
    return path, "hdf5|truncated|corrupt|damaged|invalid|not a valid"


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def nested_onnx(folder: Path, depth: int = 300) -> BadFile:
    """An ONNX whose If nodes nest then-branches `depth` deep, past protobuf's recursion limit
    (100). Serialized by hand: onnx's own helpers refuse to build it."""
    from onnx import TensorProto, helper

    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    leaf = helper.make_graph(
        [helper.make_node("Constant", [], ["y"], value_float=1.0)], "leaf", [], [out]
    )
    empty = helper.make_graph([], "level", [], [out]).SerializeToString()
    body = leaf.SerializeToString()
    for _ in range(depth):
        node = helper.make_node("If", ["c"], ["y"], else_branch=leaf).SerializeToString()
        # AttributeProto: name = 1, g = 6, type = 20 (GRAPH = 5); NodeProto.attribute = 5.
        then = _field(1, b"then_branch") + _field(6, body) + _varint(20 << 3) + _varint(5)
        body = _field(1, node + _field(5, then)) + empty  # GraphProto.node = 1
    cond = helper.make_tensor_value_info("c", TensorProto.BOOL, [])
    graph = helper.make_graph([], "nested", [cond], [out])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    # ModelProto.graph = 7: a second occurrence merges into the first, adding the If node.
    node_field = body[: len(body) - len(empty)]
    path = folder / "nested.onnx"
    path.write_bytes(model.SerializeToString() + _field(7, node_field))
    return path, "nested|deep|recursion|truncated|corrupt|invalid|not a valid"


def keras_weights_only(folder: Path) -> BadFile:
    """A weights-only HDF5 written by Keras's own `model.save_weights` (needs TensorFlow)."""
    import keras

    model = keras.saving.load_model(str(SAMPLES / "iris_mlp.keras"), compile=False)
    path = folder / "only.weights.h5"
    model.save_weights(str(path))
    return path, "weights"


def lambda_model(folder: Path, suffix: str = ".keras") -> tuple[Path, Path]:
    """A Keras model (written by Keras, `suffix` .keras or .h5) with a Lambda layer whose
    function creates a marker file when called. Returns (model path, marker path); the marker
    is removed before returning, so its presence later means the function ran."""
    import keras

    marker = (folder / f"lambda_ran{suffix.replace('.', '_')}.txt").resolve()

    # A Python lambda (not a def) so Keras stores its bytecode in the file; calling it
    # touches `path`. A def would be stored by name only and could not be re-armed on load.
    arm = lambda x, path: (open(path, "w").close(), x * 2.0)[1]  # noqa: E731

    inp = keras.Input(shape=(4,), name="features")
    h = keras.layers.Dense(3, name="dense")(inp)
    h = keras.layers.Lambda(arm, arguments={"path": str(marker)}, name="armed_lambda")(h)
    out = keras.layers.Dense(1, name="out")(h)
    model = keras.Model(inp, out)
    path = folder / f"lambda_model{suffix}"
    keras.saving.save_model(model, str(path))
    if not marker.exists():  # building the model called the function: proof it is armed
        raise RuntimeError("the Lambda function did not run while building the model")
    os.remove(marker)
    return path, marker


#: Bad files that need only the core dependencies.
FACTORIES: dict[str, Callable[[Path], BadFile]] = {
    "truncated_onnx": truncated_onnx,
    "random_onnx": random_onnx,
    "empty_onnx": empty_onnx,
    "png_as_onnx": png_as_onnx,
    "text_file": text_file,
    "external_outside": external_outside,
    "external_absolute": external_absolute,
    "external_missing": external_missing,
    "random_keras": random_keras,
    "random_h5": random_h5,
    "keras_no_config": keras_no_config,
    "keras_bad_json": keras_bad_json,
    "keras_zip_bomb": keras_zip_bomb,
    "keras_zip_bomb_forged": keras_zip_bomb_forged,
    "h5_bad_model_config": h5_bad_model_config,
    "h5_not_keras": h5_not_keras,
    "truncated_keras": truncated_keras,
    "truncated_h5": truncated_h5,
    "nested_onnx": nested_onnx,
}

#: Odd but parseable files: a loader may refuse them in one line or open them, but must not
#: hang, crash or print a traceback (and neither may whatever draws the result).
ODD_FACTORIES: dict[str, Callable[[Path], BadFile]] = {
    "keras_cycle": keras_cycle,
    "keras_unknown_inbound": keras_unknown_inbound,
}

#: Bad files written by Keras itself (need TensorFlow).
KERAS_FACTORIES: dict[str, Callable[[Path], BadFile]] = {
    "keras_weights_only": keras_weights_only,
}


def make_all(folder: Path, with_keras: bool = False) -> dict[str, BadFile]:
    """Write every bad file into `folder`; with_keras adds the ones Keras must write."""
    folder.mkdir(parents=True, exist_ok=True)
    factories = dict(FACTORIES)
    if with_keras:
        factories.update(KERAS_FACTORIES)
    return {name: make(folder) for name, make in factories.items()}


if __name__ == "__main__":
    # python -m tests.badfiles OUT_DIR [--keras]: write the set for trying by hand in the GUI.
    import sys

    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m tests.badfiles OUT_DIR [--keras]")
    out_dir = Path(sys.argv[1])
    keras_too = "--keras" in sys.argv[2:]
    made = make_all(out_dir, with_keras=keras_too)
    made.update({name: make(out_dir) for name, make in ODD_FACTORIES.items()})
    if keras_too:
        for suffix in (".keras", ".h5"):
            lam, _ = lambda_model(out_dir, suffix)
            made[f"lambda{suffix.replace('.', '_')}"] = (lam, "")
    for name, (file, expect) in sorted(made.items()):
        print(f"{name:24} {file}  [{expect}]")
