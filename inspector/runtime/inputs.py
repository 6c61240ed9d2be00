"""Sample inputs for a model: made (random, zeros, ones) or read from .npy/.npz/image/CSV."""

from __future__ import annotations

import csv
import math
import re
import weakref
import zipfile
from pathlib import Path
from typing import IO

import numpy as np

from inspector.ir import Model, format_shape
from inspector.runtime.errors import InputError
from inspector.runtime.images import IMAGE_EXTENSIONS, load_image
from inspector.runtime.input_spec import InputSpec, image_layout

DEFAULT_MAX_ELEMENTS = 50_000_000
DEFAULT_SEQUENCE = 16
DEFAULT_IMAGE_SIDE = 224


def _vocab_for(model: Model, name: str) -> int | None:
    """The table size of an embedding lookup fed by input `name`, when the IR tells it."""
    for node in model.graph.consumers(name):
        if node.op_type == "Embedding":
            dim = node.attr("input_dim")
            if isinstance(dim, int) and dim > 0:
                return dim
        if node.op_type == "Gather":
            # ONNX Gather(data, indices): a weight table as data and this input as indices.
            names = node.input_names or node.inputs
            if len(names) >= 2 and names[1] == name:
                table = model.graph.initializers.get(names[0])
                if table is None:
                    table = next((w.tensor for w in node.weights if w.tensor.name == names[0]), None)
                if table is not None and table.shape:
                    return int(table.shape[0])
    return None


def input_specs(model: Model) -> list[InputSpec]:
    """The model's real inputs (not initializers listed as inputs), with shape and dtype."""
    specs = []
    for name in model.graph.inputs:
        if name in model.graph.initializers:
            continue
        v = model.graph.value(name)
        specs.append(InputSpec(name, v.shape, v.dtype or "float32", _vocab_for(model, name)))
    return specs


def resolve_shape(spec: InputSpec, dims: dict[str, int] | None = None) -> tuple[int, ...]:
    """Concrete shape for `spec`: symbolic and unknown dims from `dims` (by dim name, by
    `"<input>:<axis>"`, or by input name for its first unknown non-batch dim) or defaults
    (batch 1, image sides 224, sequence 16, other 1)."""
    dims = dims or {}
    if spec.shape is None:
        if spec.name in dims:
            return (1, int(dims[spec.name]))
        raise InputError(f"input {spec.name!r} has an unknown rank; give its shape in a file")
    layout = image_layout(spec.shape) if spec.numpy_dtype.kind in "fu" else None
    spatial = {"NCHW": (2, 3), "NHWC": (1, 2), "HW": (1, 2)}.get(layout or "", ())
    out: list[int] = []
    named_used = False
    for axis, d in enumerate(spec.shape):
        if isinstance(d, int) and d >= 0:
            out.append(d)
            continue
        if isinstance(d, int):
            raise InputError(f"input {spec.name!r} has a negative dimension {d} (axis {axis})")
        key = f"{spec.name}:{axis}"
        if key in dims:
            out.append(int(dims[key]))
        elif isinstance(d, str) and d in dims:
            out.append(int(dims[d]))
        elif axis > 0 and not named_used and spec.name in dims:
            named_used = True
            out.append(int(dims[spec.name]))
        elif axis == 0:
            out.append(1)
        elif axis in spatial:
            out.append(DEFAULT_IMAGE_SIDE)
        elif axis == 1 and len(spec.shape) in (2, 3):
            out.append(DEFAULT_SEQUENCE)
        else:
            out.append(1)
        if out[-1] < 0:
            raise InputError(f"input {spec.name!r}: dimension {d or axis} set to {out[-1]}")
    return tuple(out)


def _check_size(spec: InputSpec, shape: tuple[int, ...], max_elements: int) -> None:
    n = math.prod(shape)
    if n > max_elements:
        raise InputError(
            f"input {spec.name!r} of shape {format_shape(shape)} has {n:,} elements, "
            f"over the limit of {max_elements:,}"
        )


def make_inputs(
    model: Model,
    kind: str = "random",
    seed: int = 0,
    dims: dict[str, int] | None = None,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
) -> dict[str, np.ndarray]:
    """One array per input: "random" (seeded, a sensible range per dtype), "zeros" or "ones"."""
    if kind not in ("random", "zeros", "ones"):
        raise InputError(f"unknown input kind {kind!r}; use random, zeros, ones or a file")
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for spec in input_specs(model):
        shape = resolve_shape(spec, dims)
        _check_size(spec, shape, max_elements)
        dt = spec.numpy_dtype
        if dt.kind == "O":
            raise InputError(f"input {spec.name!r} takes strings; give it in a file")
        if kind == "zeros":
            out[spec.name] = np.zeros(shape, dt)
        elif kind == "ones":
            out[spec.name] = np.ones(shape, dt)
        elif dt.kind == "b":
            out[spec.name] = rng.random(shape) < 0.5
        elif dt.kind in "ui":
            hi = spec.vocab or (256 if dt == np.uint8 and spec.image_layout else 10)
            out[spec.name] = rng.integers(0, hi, size=shape).astype(dt)
        elif spec.image_layout:
            out[spec.name] = rng.random(shape, dtype=np.float32).astype(dt)
        else:
            out[spec.name] = rng.standard_normal(shape, dtype=np.float32).astype(dt)
    for name, value in fixed_inputs(model).items():
        if name in out and value.size == out[name].size:
            out[name] = value.reshape(out[name].shape).astype(out[name].dtype)
    return out


def _read_npy(f: IO[bytes], what: str, max_elements: int) -> np.ndarray:
    """np.load for one .npy stream, refusing object arrays and absurd headers before reading."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(f)
        else:  # 2.0 and 3.0 differ only in the header length field and text encoding
            shape, fortran, dtype = fmt.read_array_header_2_0(f)
    except Exception as e:  # noqa: BLE001
        raise InputError(f"{what}: not a valid .npy array ({e})") from None
    if dtype.hasobject:
        raise InputError(f"{what}: holds Python objects, which are never loaded")
    n = math.prod(shape)
    if n > max_elements:
        raise InputError(f"{what}: array of shape {format_shape(shape)} is over the size limit")
    data = f.read(n * dtype.itemsize)
    if len(data) != n * dtype.itemsize:
        raise InputError(f"{what}: truncated (shape {format_shape(shape)} needs more data)")
    arr = np.frombuffer(data, dtype=dtype)
    return arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)


def _read_arrays(p: Path, max_elements: int) -> dict[str, np.ndarray]:
    if p.suffix.lower() == ".npy":
        with p.open("rb") as f:
            return {"": _read_npy(f, p.name, max_elements)}
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError) as e:
        raise InputError(f"{p.name}: not a valid .npz file ({e})") from None
    with zf:
        out = {}
        for info in zf.infolist():
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            with zf.open(info) as f:
                out[key] = _read_npy(f, f"{p.name}[{key}]", max_elements)
        return out


def load_csv(path: str | Path, spec: InputSpec, row: int = 0) -> np.ndarray:
    """One row of numbers from a CSV file (header lines skipped) as a flat float64 array."""
    p = Path(path)
    rows: list[list[float]] = []
    try:
        with p.open(newline="", encoding="utf-8-sig") as f:
            for cells in csv.reader(f):
                cells = [c.strip() for c in cells if c.strip()]
                if not cells:
                    continue
                try:
                    rows.append([float(c) for c in cells])
                except ValueError:
                    if rows:
                        raise InputError(f"{p.name}: a non-numeric row after the data") from None
                    continue  # a header line
                if len(rows) > row:
                    break
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"{p.name}: not a readable CSV file ({e})") from None
    if len(rows) <= row:
        raise InputError(f"{p.name}: has {len(rows)} data row(s), row {row} asked for {spec.name!r}")
    return np.asarray(rows[row], dtype=np.float64)


def conform(arr: np.ndarray, spec: InputSpec, dims: dict[str, int] | None = None) -> np.ndarray:
    """Fit `arr` to `spec`: add a missing batch axis, reshape a flat row, check every known
    dim, cast to the input dtype. Wrong sizes raise InputError naming both shapes."""
    if spec.shape is None:
        return arr.astype(spec.numpy_dtype, copy=False)
    rank = len(spec.shape)
    if arr.ndim == rank - 1:
        arr = arr[None]
    elif arr.ndim == 1 and rank > 2:
        # A flat CSV row for a (batch, 28, 28) or (batch, 3, 8, 8) input.
        want = resolve_shape(spec, dims)
        if math.prod(want[1:]) == arr.size:
            arr = arr.reshape((1, *want[1:]))
    ok = arr.ndim == rank and all(
        not isinstance(d, int) or d < 0 or d == g for d, g in zip(spec.shape, arr.shape, strict=True)
    )
    if not ok:
        raise InputError(
            f"input {spec.name!r} expects shape {spec.shape_label}, got {format_shape(arr.shape)}"
        )
    try:
        return arr.astype(spec.numpy_dtype, copy=False)
    except (TypeError, ValueError) as e:
        raise InputError(f"input {spec.name!r}: cannot cast {arr.dtype} to {spec.dtype} ({e})") from None


def load_inputs(
    path: str | Path,
    model: Model,
    dims: dict[str, int] | None = None,
    *,
    scaling: str = "0-1",
    row: int = 0,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
) -> dict[str, np.ndarray]:
    """Inputs from a file: .npy (single-input models), .npz keyed by input name (or arr_0),
    an image (scaled by `scaling`) or a CSV row (`row`, headers skipped)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    specs = input_specs(model)
    if not specs:
        raise InputError("the model takes no inputs")
    ext = p.suffix.lower()
    single = specs[0] if len(specs) == 1 else None
    if ext in IMAGE_EXTENSIONS or ext == ".csv":
        images = [s for s in specs if s.image_layout]
        target = single or (images[0] if ext != ".csv" and len(images) == 1 else None)
        if target is None or len(specs) > 1:
            raise InputError(
                f"{p.name}: the model has {len(specs)} inputs; give them in an .npz keyed by name"
            )
        if ext == ".csv":
            arr = load_csv(p, target, row)
        else:
            arr = load_image(p, target, scaling)
        _check_size(target, arr.shape, max_elements)
        return {target.name: conform(arr, target, dims)}
    if ext not in (".npy", ".npz"):
        raise InputError(f"{p.name}: inputs are read from .npy, .npz, CSV or image files")
    arrays = _read_arrays(p, max_elements)
    if ext == ".npy":
        if single is None:
            raise InputError(
                f"{p.name}: one array for a model with {len(specs)} inputs; use an .npz keyed by input name"
            )
        return {single.name: conform(arrays[""], single, dims)}
    out = {}
    for spec in specs:
        if spec.name in arrays:
            out[spec.name] = conform(arrays[spec.name], spec, dims)
        elif single is not None and len(arrays) == 1:
            out[spec.name] = conform(next(iter(arrays.values())), spec, dims)
        else:
            raise InputError(
                f"{p.name}: no array named {spec.name!r} (it has {', '.join(arrays) or 'none'})"
            )
    return out


# --- inputs that need particular values (a sampling rate, a flag, token ids) -------------------

#: Values the user set for a model's inputs before its first run, kept for every later
#: Random/Zeros/Ones input (a Random `sr` is never 16000).
_USER_VALUES: weakref.WeakKeyDictionary[Model, dict[str, np.ndarray]] = weakref.WeakKeyDictionary()
#: Ops through which a control input passes unchanged on its way to a comparison.
_PASS_THROUGH = {"Cast", "Identity", "Reshape", "Squeeze", "Unsqueeze", "Flatten"}
#: Inputs of at most this many elements are shown editable before the first run.
SMALL_INPUT = 32


def _uses(node, name: str) -> bool:
    return name in (node.input_names or node.inputs)


def allowed_values(model: Model, name: str) -> list[int | float]:
    """The constants the graph compares input `name` with (Equal, anywhere, subgraphs
    included, through Cast/Reshape/...): silero-vad's `sr` is checked against 8000 and 16000."""
    found: list[int | float] = []
    names = {name}
    for _ in range(3):  # follow pass-through ops a few hops
        for _, node in model.graph.walk():
            if not any(_uses(node, n) for n in names):
                continue
            if node.op_type in _PASS_THROUGH:
                names.update(node.outputs)
            elif node.op_type == "Equal":
                for w in node.weights:
                    if w.tensor.size == 1:
                        try:
                            v = np.asarray(w.tensor.numpy()).reshape(-1)[0].item()
                        except Exception:  # noqa: BLE001 - an unreadable constant is no hint
                            continue
                        if v not in found:
                            found.append(v)
    return found


_DEFAULT_RE = r"(?:default(?:s)?(?: value)?|e\.g\.|such as|=)\s*(?:is|of|:|=)?\s*(-?\d+(?:\.\d+)?)"


def metadata_default(model: Model, name: str) -> float | None:
    """A default for input `name` from the file: metadata_props `name`, `name_default`,
    `default_name` or `default:name`; else a "default 16000" / "sr=16000" in the input's or
    the model's doc string."""
    meta = model.metadata or {}
    for key in (name, f"{name}_default", f"default_{name}", f"default:{name}", f"{name}.default"):
        if key in meta:
            m = re.search(r"-?\d+(?:\.\d+)?", str(meta[key]))
            if m:
                return float(m.group(0))
    doc = model.graph.value(name).doc
    m = re.search(_DEFAULT_RE, doc or "", re.IGNORECASE)
    if m:
        return float(m.group(1))
    m = re.search(rf"\b{re.escape(name)}\b\s*(?:=|:|default\D{{0,12}})\s*(-?\d+(?:\.\d+)?)",
                  model.doc or "", re.IGNORECASE)
    return float(m.group(1)) if m else None


def input_defaults(model: Model) -> dict[str, np.ndarray]:
    """Values for the inputs that need one, made for every run: from the file's metadata or
    doc strings, else the first value the graph compares the input with."""
    out: dict[str, np.ndarray] = {}
    for spec in input_specs(model):
        try:
            shape = resolve_shape(spec)
            dt = spec.numpy_dtype
        except InputError:
            continue
        if math.prod(shape) > SMALL_INPUT or dt.kind not in "biuf":
            continue
        value = metadata_default(model, spec.name)
        if value is None:
            allowed = allowed_values(model, spec.name)
            value = allowed[0] if allowed else None
        if value is not None:
            out[spec.name] = np.full(shape, value).astype(dt)
    return out


def set_input_values(model: Model, values: dict[str, np.ndarray]) -> None:
    """Keep `values` (set by the user before a run) for every input made for `model`."""
    _USER_VALUES.setdefault(model, {}).update({k: np.array(v, copy=True) for k, v in values.items()})


def fixed_inputs(model: Model) -> dict[str, np.ndarray]:
    """The inputs made the same for every Random/Zeros/Ones run: defaults, then the user's."""
    return {**input_defaults(model), **_USER_VALUES.get(model, {})}


def explain_run_failure(model: Model, feeds: dict[str, np.ndarray] | None, message: str) -> str | None:
    """One sentence naming the input that made a run fail, or None when none can be blamed."""
    feeds = feeds or {}
    for spec in input_specs(model):
        a = feeds.get(spec.name)
        if a is None:
            continue
        allowed = allowed_values(model, spec.name)
        if allowed and a.size == 1 and a.reshape(-1)[0].item() not in allowed:
            choices = " or ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in allowed)
            return (f"The input '{spec.name}' is {a.reshape(-1)[0].item()}, but the model only "
                    f"handles {choices}: set it in the Input panel and run again.")
        if spec.vocab and a.dtype.kind in "iu" and a.size and (a.max() >= spec.vocab or a.min() < 0):
            return (f"The input '{spec.name}' holds token id {int(a.max())}, but its embedding has "
                    f"{spec.vocab} rows (ids 0 to {spec.vocab - 1}).")
    text = " ".join(message.split())
    for spec in input_specs(model):
        if re.search(rf"(?<![\w.]){re.escape(spec.name)}(?![\w.])", text):
            reason = re.sub(r"^(?:\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*)", "", text)
            reason = reason.split(" Please fix")[0].rstrip(". ")
            return f"The input '{spec.name}' was not accepted ({reason})."
    return None
