"""Keras loader: `.keras` zips and legacy `.h5`/`.hdf5` files to the graph IR, without Keras.

Files are read with zipfile, json, h5py and numpy only: nothing is evaluated or run (a Lambda
layer is shown from its config, never called; `.npz` weights, which Keras pickles, are read by
an unpickler that imports nothing, see keras_npz). Zip members are size- and
ratio-capped so a zip bomb is refused before anything is decompressed.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import h5py

from inspector.ir import Model
from inspector.loaders.keras_config import build_graph
from inspector.loaders.keras_h5_legacy import LegacyWeights
from inspector.loaders.keras_npz import NpzWeights
from inspector.loaders.keras_weights import Keras3Weights, h5_opener, zip_h5_opener
from inspector.loaders.registry import LoaderSpec, ModelLoadError, register
from inspector.progress import Task

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
# HDF5 allows a user block before the superblock, so the signature may sit at these offsets.
HDF5_OFFSETS = (0, 512, 1024, 2048)

MAX_JSON_BYTES = 256 * 2**20  # config.json of the largest real models is a few MB
MAX_WEIGHTS_BYTES = 64 * 2**30
MAX_TOTAL_BYTES = 80 * 2**30
MAX_RATIO = 100  # JSON compresses ~10x, HDF5 weights are stored; 100x only from a bomb
WEIGHT_MEMBERS = ("model.weights.h5", "model.weights.npz")


def sniff(head: bytes, path: Path) -> bool:
    """True for a zip (a .keras file) or an HDF5 file (legacy .h5)."""
    return head.startswith(ZIP_MAGIC) or any(
        head[o : o + len(HDF5_MAGIC)] == HDF5_MAGIC for o in HDF5_OFFSETS
    )


def load(path: Path, task: Task) -> Model:
    """Read a Keras model file into the IR."""
    task.report(0.0, "Reading Keras file")
    with path.open("rb") as f:
        head = f.read(4096)
    if head.startswith(ZIP_MAGIC):
        return _load_keras_zip(path, task)
    if any(head[o : o + len(HDF5_MAGIC)] == HDF5_MAGIC for o in HDF5_OFFSETS):
        return _load_h5(path, task)
    raise ModelLoadError(f"{path.name}: not a Keras file (neither a .keras zip nor an HDF5 .h5)")


def _check_zip(path: Path, zf: zipfile.ZipFile) -> None:
    total = 0
    for info in zf.infolist():
        total += info.file_size
        cap = MAX_WEIGHTS_BYTES if info.filename in WEIGHT_MEMBERS else MAX_JSON_BYTES
        if info.filename in ("config.json", "metadata.json", *WEIGHT_MEMBERS):
            if info.file_size > cap:
                raise ModelLoadError(
                    f"{path.name}: {info.filename} would unpack to {info.file_size:,} bytes, "
                    "more than a Keras file can plausibly hold (refused as a possible zip bomb)"
                )
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > 2**20 and ratio > MAX_RATIO:
                raise ModelLoadError(
                    f"{path.name}: {info.filename} is compressed {ratio:.0f}:1, "
                    "refused as a possible zip bomb"
                )
    if total > MAX_TOTAL_BYTES:
        raise ModelLoadError(
            f"{path.name}: the archive would unpack to {total:,} bytes (refused as a possible zip bomb)"
        )


def _read_json(path: Path, zf: zipfile.ZipFile, member: str) -> Any:
    # Read no more than the header declares: zipfile inflates whatever is asked for before it
    # checks the CRC, so a header that lies about the size must not decide how much we inflate.
    declared = zf.getinfo(member).file_size
    try:
        with zf.open(member) as f:
            data = f.read(min(declared, MAX_JSON_BYTES) + 1)
    except zipfile.BadZipFile as e:
        raise ModelLoadError(f"{path.name}: {member} is corrupt ({e})") from None
    if len(data) > min(declared, MAX_JSON_BYTES):
        raise ModelLoadError(f"{path.name}: {member} is too large (refused as a possible zip bomb)")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelLoadError(f"{path.name}: {member} is not valid JSON ({e})") from None


def _load_keras_zip(path: Path, task: Task) -> Model:
    try:
        with zipfile.ZipFile(path) as zf:
            _check_zip(path, zf)
            names = set(zf.namelist())
            if "config.json" not in names:
                raise ModelLoadError(
                    f"{path.name}: a zip without config.json, so not a Keras .keras model"
                )
            config = _read_json(path, zf, "config.json")
            meta = _read_json(path, zf, "metadata.json") if "metadata.json" in names else {}
    except zipfile.BadZipFile as e:
        raise ModelLoadError(f"{path.name}: damaged or truncated zip archive ({e})") from None
    except (OSError, EOFError) as e:
        raise ModelLoadError(f"{path.name}: cannot read the zip archive ({e})") from None
    meta = meta if isinstance(meta, dict) else {}
    version = str(meta.get("keras_version", ""))
    # tf_keras (Keras 2 API) writes .keras zips too; its variable names differ slightly.
    keras2 = version.startswith(("1.", "2."))
    cfg = config if isinstance(config, dict) else None
    warnings: list[str] = []
    weights: Any = _NoWeights()
    member = "model.weights.h5" if "model.weights.h5" in names else "model.weights.npz"
    try:
        if member == "model.weights.h5":
            weights = Keras3Weights(zip_h5_opener(path, member), path.name, cfg, keras2)
        elif member in names:
            weights = NpzWeights(path, member, cfg, keras2)
        else:
            warnings.append("The file holds no weights; only the architecture is shown.")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise ModelLoadError(f"{path.name}: {member} is damaged ({e})") from None
    task.report(0.1, "Building graph")
    fmt = "Keras 2 .keras" if keras2 else "Keras 3 .keras"
    return _model(path, config, weights, task, version, fmt, meta, warnings)


def _load_h5(path: Path, task: Task) -> Model:
    try:
        with h5py.File(path, "r") as f:
            attrs = {k: f.attrs[k] for k in ("model_config", "keras_version", "backend") if k in f.attrs}
            looks_like_weights = (
                "layer_names" in f.attrs or any(k in f for k in ("model_weights", "layers", "vars"))
            )
    except OSError as e:
        raise ModelLoadError(f"{path.name}: damaged or truncated HDF5 file ({e})") from None
    attrs = {k: v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for k, v in attrs.items()}
    if "model_config" not in attrs:
        if looks_like_weights:
            raise ModelLoadError(
                f"{path.name}: contains only weights, no model architecture (saved with "
                "save_weights); open the full model file instead"
            )
        raise ModelLoadError(f"{path.name}: an HDF5 file without a Keras model_config, not a Keras model")
    try:
        config = json.loads(attrs["model_config"])
    except json.JSONDecodeError as e:
        raise ModelLoadError(f"{path.name}: model_config is not valid JSON ({e})") from None
    try:
        weights = LegacyWeights(h5_opener(path), path.name, config if isinstance(config, dict) else None)
    except (OSError, KeyError, ValueError) as e:
        raise ModelLoadError(f"{path.name}: the weights in this HDF5 file are damaged ({e})") from None
    version = attrs.get("keras_version", "")
    fmt = "Keras 2 .h5" if version.startswith(("1.", "2.")) else "Keras 3 .h5"
    meta = {k: v for k, v in attrs.items() if k != "model_config"}
    task.report(0.1, "Building graph")
    return _model(path, config, weights, task, version, fmt, meta, [])


def _model(
    path: Path, config: Any, weights: Any, task: Task, version: str, fmt: str,
    meta: dict[str, Any], warnings: list[str],
) -> Model:
    if isinstance(config, dict) and isinstance(config.get("config"), list):
        # Keras 2.0-2.2 Sequential: the config is the bare list of layers.
        config = {**config, "config": {"layers": config["config"]}}
    if not isinstance(config, dict):
        raise ModelLoadError(f"{path.name}: the model config is not a JSON object")
    graph, more = build_graph(config, weights, task)
    task.report(1.0, "Done")
    return Model(
        format="keras",
        path=str(path),
        graph=graph,
        producer=f"keras {version}".strip(),
        format_version=fmt,
        metadata={str(k): str(v) for k, v in meta.items()},
        warnings=tuple(warnings + more),
    )


class _NoWeights:
    """Weight source for a file that stores none."""

    def root(self) -> str:
        return ""

    def child(self, scope: str, layer: str) -> str:
        return ""

    def weights(self, scope: str, layer: str, cls: str, cfg: dict[str, Any]) -> list:
        return []


SPEC = register(
    LoaderSpec(
        name="Keras",
        extensions=(".keras", ".h5", ".hdf5"),
        sniff=sniff,
        load=load,
        priority=10,
    )
)
