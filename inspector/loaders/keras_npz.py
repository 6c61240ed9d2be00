"""Keras `model.weights.npz` (saving_lib's NpzIOStore) read lazily and without running code.

Keras writes `np.savez(f, **{"layers/dense": {"0": var0, "1": var1}, "__root__": {}})`: one
`.npy` member per layer path, each a 0-d *object* array holding that layer's dict of
variables, so every member body is a pickle. tf_keras 2.21 stores numpy arrays there; Keras
3.15 stores its `Variable` objects themselves (on TensorFlow: a `functools.partial` that
rebuilds a `ResourceVariable` from an `initial_value` array). Neither reads it back with
`allow_pickle=False`. We never run `pickle.load` on real classes: every global the pickle
names becomes an inert record of its arguments and state, except numpy's own array and dtype
rebuilders; the weight is the numeric array found inside each record. A first pass with the
arrays inert too checks the bytes every array declares against the bytes stored before any
array is allocated (a pickle can reference one buffer from many arrays: a memory bomb).
"""

from __future__ import annotations

import io
import math
import pickle
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.lib import format as npy_format

from inspector.loaders.keras_weights import FileWindow, Keras3Weights, stored_member_span
from inspector.loaders.registry import ModelLoadError

MAX_MEMBER_BYTES = 64 * 2**30
_NUMPY = ("numpy._core.multiarray", "numpy.core.multiarray", "numpy")


class _Inert:
    """Whatever class or function a pickle names: records its arguments and state only."""

    def __new__(cls, *args: Any, **kwargs: Any) -> _Inert:
        # NEWOBJ calls __new__ without __init__, so the record is set up here.
        self = super().__new__(cls)
        self.args, self.kwargs, self.state, self.items = args, kwargs, None, []
        return self

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> _Inert:
        # A record called (a partial applied): keep the callee, the array may be inside it.
        return _Inert(self, *args, **kwargs)

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def append(self, item: Any) -> None:  # APPEND(S) on a list-like global
        self.items.append(item)

    def extend(self, items: Any) -> None:
        self.items.extend(items)

    def __setitem__(self, key: Any, value: Any) -> None:  # SETITEM(S) on a dict-like global
        self.items.append((key, value))


class _ArrayStub:
    """Stands in for an ndarray in the checking pass: keeps shape and dtype, drops data."""

    shape: tuple[int, ...] = ()
    dtype: np.dtype = np.dtype("O")
    data: Any = None

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) != 5 or not isinstance(state[2], np.dtype):
            raise pickle.UnpicklingError("unexpected array state")
        self.shape = tuple(int(d) for d in state[1])
        self.dtype = state[2]
        # An object array's data is the list of its elements; numeric data is dropped here.
        self.data = state[4] if isinstance(state[4], list) else None

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _stub_reconstruct(cls: Any, shape: Any, dtype: Any) -> _ArrayStub:
    return _ArrayStub()


class _Unpickler(pickle.Unpickler):
    """Resolves numpy's ndarray/dtype rebuilders (inert in the checking pass) and turns every
    other global into `_Inert`, so nothing the file names is imported or run."""

    def __init__(self, f: IO[bytes], check: bool) -> None:
        super().__init__(f)
        self.check = check
        self.stubs: list[_ArrayStub] = []

    def find_class(self, module: str, name: str) -> Any:
        if module in _NUMPY and name == "_reconstruct":
            return self._stub if self.check else _np_reconstruct()
        if module == "numpy" and name == "ndarray":
            return _ArrayStub if self.check else np.ndarray
        if module == "numpy" and name == "dtype":
            return np.dtype
        return _Inert

    def _stub(self, cls: Any, shape: Any, dtype: Any) -> _ArrayStub:
        stub = _ArrayStub()
        self.stubs.append(stub)
        return stub

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent ids are not allowed")


def _np_reconstruct() -> Callable[..., Any]:
    try:
        from numpy._core.multiarray import _reconstruct  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


def _find_array(obj: Any, depth: int = 0) -> Any:
    """The first numeric array (or stub) inside a variable's record, depth first."""
    if isinstance(obj, np.ndarray | _ArrayStub):
        if obj.dtype.kind in "biufc":
            return obj
        return _find_array(obj.data if isinstance(obj, _ArrayStub) else obj.tolist(), depth + 1)
    if depth > 12:
        return None
    if isinstance(obj, _Inert):
        obj = [obj.state, obj.args, obj.kwargs, obj.items]
    if isinstance(obj, dict):
        obj = list(obj.values())
    if isinstance(obj, list | tuple):
        for item in obj:
            found = _find_array(item, depth + 1)
            if found is not None:
                return found
    return None


def _read_vars(f: IO[bytes], check: bool, where: str, size: int) -> dict[str, Any]:
    """One layer's `{index: array}` from an `.npy` member (check: stubs, nothing allocated)."""
    major, _ = npy_format.read_magic(f)
    # The header is a Python literal that numpy parses with ast.literal_eval: no code runs.
    read_header = npy_format.read_array_header_1_0 if major == 1 else npy_format.read_array_header_2_0
    shape, _, dtype = read_header(f)
    if dtype != np.dtype("O") or shape != ():
        raise ModelLoadError(f"{where}: not a Keras variables entry ({dtype}{list(shape)})")
    up = _Unpickler(f, check)
    obj = up.load()
    if check and sum(s.nbytes for s in up.stubs) > size:
        raise ModelLoadError(
            f"{where}: a weights entry declares more bytes than it stores "
            "(refused as a possible memory bomb)"
        )
    items = obj.data if isinstance(obj, _ArrayStub) else obj.tolist() if isinstance(obj, np.ndarray) else None
    value = items[0] if check and isinstance(items, list) and items else items
    if not isinstance(value, dict):
        raise ModelLoadError(f"{where}: a Keras variables entry is not a dict")
    out = {}
    for k, v in value.items():
        array = _find_array(v)
        if array is None:
            raise ModelLoadError(f"{where}: variable {k!r} holds no numeric array")
        out[str(k)] = array
    return out


class NpzWeights(Keras3Weights):
    """Weights of a `.keras` zip's `model.weights.npz`, indexed once and read per layer."""

    def __init__(
        self, path: Path, member: str, config: dict[str, Any] | None, keras2: bool = False
    ) -> None:
        super().__init__(None, path.name, None, keras2)
        self._path, self._member = path, member
        self._window = stored_member_span(path, member)
        try:
            self._scan(path)
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
                IndexError, MemoryError, RecursionError) as e:
            raise ModelLoadError(f"{path.name}: {member} is damaged ({e})") from None
        if config is not None:
            self.label_groups(self.root(), (config.get("config") or {}).get("layers") or [])

    def _scan(self, path: Path) -> None:
        with self._npz() as npz:
            for info in npz.infolist():
                key = info.filename.removesuffix(".npy")
                if key == "__root__" or not info.filename.endswith(".npy"):
                    continue  # the top model's own variables (Keras has none) / not an array
                if info.file_size > MAX_MEMBER_BYTES:
                    raise ModelLoadError(f"{path.name}: {info.filename} is implausibly large")
                with npz.open(info) as f:
                    stubs = _read_vars(f, True, path.name, info.file_size)
                self._index(key, {k: (s.shape, str(s.dtype)) for k, s in stubs.items()})

    def _index(self, key: str, variables: dict[str, tuple[tuple[int, ...], str]]) -> None:
        parts = key.split("/")
        for i in range(len(parts)):
            self._kids.setdefault("/".join(parts[:i]), set()).add(parts[i])
        self._kids.setdefault(key, set()).add("vars")
        for k, meta in variables.items():
            self._kids.setdefault(f"{key}/vars", set()).add(k)
            self._meta[f"{key}/vars/{k}"] = meta

    @contextmanager
    def _npz(self) -> Iterator[zipfile.ZipFile]:
        if self._window is not None:  # stored in the .keras zip (as Keras writes it): in place
            with FileWindow(self._path, *self._window) as raw, zipfile.ZipFile(raw) as npz:
                yield npz
            return
        with zipfile.ZipFile(self._path) as zf, zf.open(self._member) as raw:
            with zipfile.ZipFile(io.BytesIO(raw.read(MAX_MEMBER_BYTES))) as npz:
                yield npz

    def _loader(self, path: str) -> Callable[[], np.ndarray]:
        key, _, index = path.rpartition("/vars/")

        def load() -> np.ndarray:
            try:
                with self._npz() as npz, npz.open(f"{key}.npy") as f:
                    return np.asarray(_read_vars(f, False, self._where, 0)[index])
            except ModelLoadError:
                raise
            except (OSError, KeyError, ValueError, EOFError, TypeError, zipfile.BadZipFile,
                    pickle.UnpicklingError, MemoryError, RecursionError) as e:
                raise ModelLoadError(f"{self._where}: weight {path} cannot be read ({e})") from None

        return load
