"""Lazy IR tensors for ONNX initializers, sparse initializers, Constant nodes and external data.

Nothing here reads weight bytes at open time: each `Tensor` gets a loader closure that
decodes the TensorProto (kept in the parsed model) or reads its slice of the external file on
demand. External locations are checked when the model opens, so a file that points outside
its own folder is refused before anything is read.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

import numpy as np
from onnx import AttributeProto, NodeProto, SparseTensorProto, TensorProto, numpy_helper

from inspector.ir import Tensor
from inspector.loaders.onnx_types import NUMPY_NAMES, elem_type_name
from inspector.loaders.registry import ModelLoadError

# 4-bit types pack two elements per byte (onnx IR v10 spec, "int4").
_HALF_BYTE = {
    getattr(TensorProto, n)
    for n in ("INT4", "UINT4", "FLOAT4E2M1", "INT2", "UINT2")
    if hasattr(TensorProto, n)
}
_DRIVE = re.compile(r"^[A-Za-z]:")


def _expected_nbytes(elem_type: int, dims: tuple[int, ...]) -> int | None:
    """Bytes the raw data of a tensor must hold, or None for strings and unknown types."""
    n = math.prod(dims) if dims else 1
    if elem_type in _HALF_BYTE:
        return (n + 1) // 2
    name = elem_type_name(elem_type)
    if name in (None, "string"):
        return None
    if name in NUMPY_NAMES.values():
        return n * np.dtype(name).itemsize
    try:  # bfloat16 and float8 variants: ml_dtypes through onnx's own mapping
        from onnx.helper import tensor_dtype_to_np_dtype

        return n * np.dtype(tensor_dtype_to_np_dtype(elem_type)).itemsize
    except Exception:  # noqa: BLE001 - an unknown future type: skip the size check
        return None


class ExternalData:
    """Resolves and checks external-data locations against the model's own folder."""

    def __init__(self, model_path: Path) -> None:
        self.model_path = model_path
        self.folder = Path(os.path.realpath(model_path.parent))
        self._sizes: dict[str, int] = {}

    def _fail(self, message: str) -> ModelLoadError:
        return ModelLoadError(f"{self.model_path.name}: {message}")

    def resolve(self, location: str, tensor_name: str) -> Path:
        """The checked path of `location`; ModelLoadError naming it when unsafe or missing."""
        if not location or "\x00" in location:
            raise self._fail(f"weight '{tensor_name}' has an empty or invalid external data location")
        if os.path.isabs(location) or location.startswith(("/", "\\")) or _DRIVE.match(location):
            raise self._fail(
                f"external data '{location}' is an absolute path; only files inside the model's folder are read"
            )
        if ".." in re.split(r"[\\/]", location):
            raise self._fail(
                f"external data '{location}' points outside the model's folder; it was not read"
            )
        target = Path(os.path.realpath(self.folder / location))
        if os.path.commonpath([self.folder, target]) != str(self.folder):
            raise self._fail(
                f"external data '{location}' links outside the model's folder; it was not read"
            )
        key = str(target)
        if key not in self._sizes:
            try:
                st = target.stat()
            except OSError:
                raise self._fail(
                    f"external data file '{location}' for weight '{tensor_name}' is missing"
                ) from None
            if not stat.S_ISREG(st.st_mode):
                raise self._fail(f"external data '{location}' is not a regular file")
            self._sizes[key] = st.st_size
        return target

    def size(self, path: Path) -> int:
        """The size of a resolved external file."""
        return self._sizes[str(path)]


def _external_tensor(tp: TensorProto, ext: ExternalData) -> Tensor:
    info = {e.key: e.value for e in tp.external_data}
    location = info.get("location", "")
    path = ext.resolve(location, tp.name)
    dims = tuple(int(d) for d in tp.dims)
    try:
        offset = int(info.get("offset", "0") or 0)
        length = int(info["length"]) if info.get("length") else None
    except ValueError:
        raise ext._fail(f"weight '{tp.name}' has a non-numeric external data offset or length") from None
    need = _expected_nbytes(tp.data_type, dims)
    nbytes = length if length is not None else need
    if nbytes is None:
        nbytes = ext.size(path) - offset
    if offset < 0 or offset + nbytes > ext.size(path):
        raise ext._fail(
            f"external data file '{location}' is too short for weight '{tp.name}' "
            f"(needs bytes {offset}..{offset + nbytes}, file has {ext.size(path)})"
        )
    if need is not None and nbytes != need:
        raise ext._fail(
            f"weight '{tp.name}' stores {nbytes} bytes in '{location}' but its shape needs {need}"
        )
    dtype_name = elem_type_name(tp.data_type) or "?"
    # Keep only the header: the loader rebuilds a TensorProto around the bytes it reads.
    header = TensorProto()
    header.name = tp.name
    header.data_type = tp.data_type
    header.dims.extend(tp.dims)
    model_name = ext.model_path.name

    def load() -> np.ndarray:
        try:
            if dtype_name in NUMPY_NAMES.values() and dtype_name != "string":
                dt = np.dtype(dtype_name).newbyteorder("<")
                count = math.prod(dims) if dims else 1
                arr = np.fromfile(path, dtype=dt, count=count, offset=offset)
                return arr.reshape(dims).astype(dt.newbyteorder("="), copy=False)
            with open(path, "rb") as f:
                f.seek(offset)
                raw = f.read(nbytes)
            full = TensorProto()
            full.CopyFrom(header)
            full.raw_data = raw
            return numpy_helper.to_array(full)
        except (OSError, ValueError) as e:
            raise ModelLoadError(
                f"{model_name}: cannot read weight '{tp.name}' from '{location}' ({e})"
            ) from None

    return Tensor(
        name=tp.name,
        shape=dims,
        dtype=dtype_name,
        loader=load,
        kind="external",
        location=location,
        doc=tp.doc_string,
    )


def _guarded(tp: TensorProto, model_name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        try:
            return numpy_helper.to_array(tp)
        except Exception as e:  # noqa: BLE001 - corrupt raw data must not become a traceback
            raise ModelLoadError(f"{model_name}: weight '{tp.name}' cannot be decoded ({e})") from None

    return load


def tensor_from_proto(tp: TensorProto, ext: ExternalData, kind: str = "initializer") -> Tensor:
    """A lazy Tensor for a TensorProto (in the protobuf or in an external file)."""
    if tp.data_location == TensorProto.EXTERNAL:
        return _external_tensor(tp, ext)
    return Tensor(
        name=tp.name,
        shape=tuple(int(d) for d in tp.dims),
        dtype=elem_type_name(tp.data_type) or "?",
        loader=_guarded(tp, ext.model_path.name),
        kind=kind,
        doc=tp.doc_string,
    )


def sparse_from_proto(sp: SparseTensorProto, ext: ExternalData, name: str = "") -> Tensor:
    """A lazy Tensor of kind "sparse" whose loader returns the dense array."""
    values = tensor_from_proto(sp.values, ext)
    indices = tensor_from_proto(sp.indices, ext)
    dims = tuple(int(d) for d in sp.dims)
    tname = name or sp.values.name
    model_name = ext.model_path.name

    def load() -> np.ndarray:
        vals = values.numpy().reshape(-1)
        idx = indices.numpy().astype(np.int64)
        try:
            # ONNX sparse format: indices are [NNZ] linear or [NNZ, rank] coordinates.
            flat = np.ravel_multi_index(idx.T, dims) if idx.ndim == 2 else idx.reshape(-1)
            dense = np.zeros(math.prod(dims) if dims else 1, dtype=vals.dtype)
            dense[flat] = vals
        except (ValueError, IndexError) as e:
            raise ModelLoadError(f"{model_name}: sparse weight '{tname}' is malformed ({e})") from None
        return dense.reshape(dims)

    return Tensor(name=tname, shape=dims, dtype=values.dtype, loader=load, kind="sparse")


def _small(name: str, arr: np.ndarray) -> Tensor:
    shape = tuple(int(d) for d in arr.shape)
    dtype = "string" if arr.dtype.kind in "OSU" else str(arr.dtype)
    return Tensor(name=name, shape=shape, dtype=dtype, loader=lambda: arr.copy(), kind="constant")


def constant_tensor(node: NodeProto, ext: ExternalData) -> Tensor | None:
    """The tensor a Constant node produces, from whichever `value*` attribute it carries."""
    out = node.output[0] if node.output else node.name
    for a in node.attribute:
        if a.name == "value" and a.type == AttributeProto.TENSOR:
            t = tensor_from_proto(a.t, ext, kind="constant")
            return Tensor(t.name or out, t.shape, t.dtype, t.loader, "constant", t.location, t.doc)
        if a.name == "sparse_value" and a.type == AttributeProto.SPARSE_TENSOR:
            return sparse_from_proto(a.sparse_tensor, ext, name=out)
        if a.name == "value_float":
            return _small(out, np.array(a.f, dtype=np.float32))
        if a.name == "value_floats":
            return _small(out, np.array(list(a.floats), dtype=np.float32))
        if a.name == "value_int":
            return _small(out, np.array(a.i, dtype=np.int64))
        if a.name == "value_ints":
            return _small(out, np.array(list(a.ints), dtype=np.int64))
        if a.name == "value_string":
            return _small(out, np.array(a.s.decode("utf-8", "replace"), dtype=object))
        if a.name == "value_strings":
            return _small(out, np.array([s.decode("utf-8", "replace") for s in a.strings], dtype=object))
    return None
