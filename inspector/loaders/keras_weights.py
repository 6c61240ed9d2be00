"""Keras weights from HDF5, found by layer and loaded lazily (h5py and numpy only).

Two layouts (see NOTES.md): Keras 3 `model.weights.h5` inside a `.keras` zip stores a layer's
variables at `layers/<snake_case(class)>[_N]/vars/<i>` with the layer name in the `vars`
group's `name` attribute and no variable names; legacy `.h5` stores them under
`model_weights/<layer>/` listed by the `weight_names` attribute, in `layer.weights` order.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from inspector.ir import Tensor, Weight
from inspector.loaders.registry import ModelLoadError

Opener = Callable[[], AbstractContextManager[h5py.Group]]
# Config modules of functional ops (Keras 3 lists them among the layers; they hold no state).
_OP_MODULES = ("keras.src.ops", "keras.ops")


def snake_case(name: str) -> str:
    """keras.src.utils.naming.to_snake_case (tf_keras adds a "private" prefix for "_X")."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


def config_layers(config: dict[str, Any]) -> list[Any]:
    """The layer configs of a functional or sequential model config ([] if it has none)."""
    layers = (config.get("config") or {}).get("layers") if isinstance(config, dict) else None
    return layers if isinstance(layers, list) else []


def h5_opener(path: Path) -> Opener:
    """Open a plain HDF5 file for reading."""

    @contextmanager
    def opener() -> Iterator[h5py.Group]:
        with h5py.File(path, "r") as f:
            yield f

    return opener


class FileWindow(io.RawIOBase):
    """A read-only view of bytes [start, start + size) of a file: a stored zip member read in
    place. (ZipExtFile rewinds and re-reads from the member's start on every backward seek,
    which made h5py's random access about 100x slower.)"""

    def __init__(self, path: Path, start: int, size: int) -> None:
        self._f = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._start, self._size, self._pos = start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buf: Any) -> int:
        n = max(0, min(len(buf), self._size - self._pos))
        self._f.seek(self._start + self._pos)
        got = self._f.readinto(memoryview(buf)[:n])
        self._pos += got or 0
        return got or 0

    def close(self) -> None:
        self._f.close()
        super().close()


def stored_member_span(path: Path, member: str) -> tuple[int, int] | None:
    """(data offset, size) of a stored (uncompressed) zip member, or None if compressed."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            return None
        with open(path, "rb") as f:
            f.seek(info.header_offset)
            header = f.read(30)
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"bad local header for {member}")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        return info.header_offset + 30 + name_len + extra_len, info.file_size


def zip_h5_opener(path: Path, member: str) -> Opener:
    """Open an HDF5 member of a zip without extracting it: in place when stored (Keras
    stores it uncompressed), else through zipfile's decompressing reader."""
    window = stored_member_span(path, member)

    @contextmanager
    def opener() -> Iterator[h5py.Group]:
        if window is not None:
            with FileWindow(path, *window) as raw, h5py.File(raw, "r") as f:
                yield f
            return
        with zipfile.ZipFile(path) as zf, zf.open(member) as raw, h5py.File(raw, "r") as f:
            yield f

    return opener


def lazy_h5_reader(opener: Opener, h5path: str, where: str) -> Callable[[], np.ndarray]:
    """A loader for dataset `h5path` that opens the file only when called (weights load lazily)."""
    def load() -> np.ndarray:
        try:
            with opener() as f:
                ds = f[h5path]
                if not isinstance(ds, h5py.Dataset):
                    raise ModelLoadError(f"{where}: {h5path} is not a weight array")
                return np.asarray(ds[()])
        except ModelLoadError:
            raise
        except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile) as e:
            raise ModelLoadError(f"{where}: weight {h5path} cannot be read ({e})") from None

    return load


def _bias(cfg: dict[str, Any]) -> list[str]:
    return ["bias"] if cfg.get("use_bias", True) else []


def own_var_names(cls: str, cfg: dict[str, Any], keras2: bool = False) -> list[str] | None:
    """Keras variable names a layer class creates itself, in creation order, or None."""
    if cls in ("Dense", "EinsumDense") or re.fullmatch(r"Conv[123]D(Transpose)?", cls):
        if cls == "EinsumDense":
            return ["kernel"] + (["bias"] if cfg.get("bias_axes") else [])
        return ["kernel", *_bias(cfg)]
    if cls.startswith("DepthwiseConv"):  # Keras 3 names it "kernel" (Keras 2: depthwise_kernel)
        return ["depthwise_kernel" if keras2 else "kernel", *_bias(cfg)]
    if cls.startswith("SeparableConv"):
        return ["depthwise_kernel", "pointwise_kernel", *_bias(cfg)]
    if cls in ("SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell"):
        return ["kernel", "recurrent_kernel", *_bias(cfg)]
    scale = ["gamma"] if cfg.get("scale", True) else []
    center = ["beta"] if cfg.get("center", True) else []
    if cls == "BatchNormalization":
        return [*scale, *center, "moving_mean", "moving_variance"]
    if cls in ("LayerNormalization", "GroupNormalization"):
        return [*scale, *center]
    if cls == "Attention":  # keras.layers.Attention.build: scale, then concat_score_weight
        return (["scale"] if cfg.get("use_scale") else []) + (
            ["concat_score_weight"] if cfg.get("score_mode") == "concat" else []
        )
    return {"Embedding": ["embeddings"], "PReLU": ["alpha"]}.get(cls)


def _sub_layer(cls: str, cfg: dict[str, Any], sub: str) -> tuple[str, dict[str, Any]] | None:
    """The class and config of sub-layer group `sub` of a wrapper layer, when known."""
    if sub == "cell":
        return cls, cfg
    if cls == "Bidirectional" and sub in ("forward_layer", "backward_layer"):
        inner = cfg.get("backward_layer") if sub == "backward_layer" else None
        inner = inner or cfg.get("layer") or {}
        return inner.get("class_name", ""), inner.get("config", {})
    if cls == "TimeDistributed" and sub == "layer":
        inner = cfg.get("layer") or {}
        return inner.get("class_name", ""), inner.get("config", {})
    if cls == "MultiHeadAttention" and sub.endswith("_dense"):
        return "EinsumDense", {"bias_axes": "x" if cfg.get("use_bias", True) else None}
    return None


# Sub-layer order in `layer.weights` where it differs from the alphabetical storage order.
_SUB_ORDER = {
    "Bidirectional": ["forward_layer", "backward_layer"],
    "MultiHeadAttention": ["query_dense", "key_dense", "value_dense", "output_dense"],
}


_ROLES = {"query_dense": "query", "key_dense": "key", "value_dense": "value",
          "output_dense": "attention_output", "forward_layer": "forward", "backward_layer": "backward"}


def _role(segment: str) -> str:
    """One name for a sub-layer in both layouts (`.keras` group name vs legacy layer name)."""
    for side in ("forward", "backward"):
        if segment.startswith(side + "_"):
            return side
    return _ROLES.get(segment, segment)


def dedupe_weight_names(entries: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """(name, prefix, path) -> (name, path): names stay bare unless two would clash."""
    names = [n for n, _, _ in entries]
    out = []
    for name, prefix, path in entries:
        if names.count(name) > 1 and prefix:
            name = "/".join(_role(s) for s in prefix.split("/")) + "/" + name
        out.append((name, path))
    return out


class Keras3Weights:
    """Weights of a `.keras` zip's `model.weights.h5`, addressed by container and layer name.

    Keras 3 labels each `vars` group with its layer's name; tf_keras does not, so without
    labels the groups are matched to layers the way the writer named them (see `label_groups`).
    """

    def __init__(
        self, opener: Opener | None, where: str, config: dict[str, Any] | None = None,
        keras2: bool = False,
    ) -> None:
        self._opener = opener
        self._where = where
        self._keras2 = keras2
        self._groups: dict[str, dict[str, str]] = {}
        self._meta: dict[str, tuple[tuple[int, ...], str]] = {}
        self._kids: dict[str, set[str]] = {}  # group path -> names of its sub-groups/datasets
        if opener is not None:
            with opener() as f:
                f.visititems(self._visit)
        if config is not None and not self._groups:
            self.label_groups(self.root(), config_layers(config))

    def _visit(self, name: str, obj: Any) -> None:
        parent, _, base = name.rpartition("/")
        self._kids.setdefault(parent, set()).add(base)
        if isinstance(obj, h5py.Dataset):
            self._meta[name] = (tuple(int(d) for d in obj.shape), str(obj.dtype))
        elif name.endswith("/vars") or name == "vars":
            layer_group = name[: -len("/vars")] if "/" in name else ""
            container, _, _ = layer_group.rpartition("/")
            label = obj.attrs.get("name")
            if isinstance(label, bytes):
                label = label.decode("utf-8", "replace")
            if isinstance(label, str):
                self._groups.setdefault(container, {}).setdefault(label, layer_group)

    def label_groups(self, container: str, layers: list[Any]) -> None:
        """Name the groups of `container` after the config's layers, as saving_lib does:
        `snake_case(class)` numbered `_1`, `_2`, ... in `model.layers` order."""
        labels = self._groups.setdefault(container, {})
        used: dict[str, int] = {}
        for ly in layers:
            if not isinstance(ly, dict) or str(ly.get("module", "")).startswith(_OP_MODULES):
                continue  # a functional op (keras.ops.add) is not a layer and is not saved
            base = snake_case(str(ly.get("class_name") or ""))
            n = used.get(base)
            used[base] = 0 if n is None else n + 1
            group = f"{container}/{base}" if n is None else f"{container}/{base}_{n + 1}"
            name = str(ly.get("name") or (ly.get("config") or {}).get("name") or "")
            if group.rpartition("/")[2] not in self._kids.get(container, ()):
                continue
            labels.setdefault(name, group)
            nested = (ly.get("config") or {}).get("layers")
            if isinstance(nested, list):
                self.label_groups(f"{group}/layers", nested)

    def root(self) -> str:
        """The container scope of the top-level model."""
        return "layers"

    def child(self, scope: str, layer: str) -> str:
        """The container scope of nested model `layer`."""
        group = self._groups.get(scope, {}).get(layer)
        return f"{group}/layers" if group else f"{scope}/?{layer}/layers"

    def weights(self, scope: str, layer: str, cls: str, cfg: dict[str, Any]) -> list[Weight]:
        """The layer's weights in `layer.weights` order."""
        group = self._groups.get(scope, {}).get(layer)
        if group is None:
            return []
        entries = self._collect(group, cls, cfg, "")
        return [self._weight(layer, name, path) for name, path in dedupe_weight_names(entries)]

    def _collect(self, group: str, cls: str, cfg: dict[str, Any], prefix: str) -> list[tuple[str, str, str]]:
        own = [
            f"{group}/vars/{k}"
            for k in sorted(self._kids.get(f"{group}/vars", ()), key=lambda k: (len(k), k))
            if f"{group}/vars/{k}" in self._meta
        ]
        names = own_var_names(cls, cfg, self._keras2)
        if names is None or len(names) != len(own):
            names = [f"var_{i}" for i in range(len(own))]
        out = [(n, prefix, p) for n, p in zip(names, own, strict=True)]
        subs = sorted(self._kids.get(group, set()) - {"vars", "layers"})
        order = _SUB_ORDER.get(cls, [])
        subs.sort(key=lambda s: order.index(s) if s in order else len(order))
        for sub in subs:
            inner = _sub_layer(cls, cfg, sub) or ("", {})
            sub_prefix = prefix if sub == "cell" else "/".join(x for x in (prefix, sub) if x)
            out += self._collect(f"{group}/{sub}", inner[0], inner[1], sub_prefix)
        return out

    def _weight(self, layer: str, name: str, path: str) -> Weight:
        shape, dtype = self._meta[path]
        tensor = Tensor(
            name=f"{layer}/{name}", shape=shape, dtype=dtype,
            loader=self._loader(path), kind="keras", location=path,
        )
        return Weight(name=name, tensor=tensor)

    def _loader(self, path: str) -> Callable[[], np.ndarray]:
        assert self._opener is not None
        return lazy_h5_reader(self._opener, path, self._where)


def decoded_strings(values: Any) -> list[str]:
    """HDF5 attribute strings (bytes in old files) as str."""
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]
