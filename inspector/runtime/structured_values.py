"""Values onnxruntime returns that are not one tensor: sequences, maps, optionals.

ONNX allows four kinds of value (onnx.proto `TypeProto`): tensor, sequence, map and optional,
nested (a scikit-learn classifier's ZipMap output is a sequence of maps, one map per sample,
class -> probability). onnxruntime hands them back as a list, a dict or None. This module
turns each into a `StructuredValue` that

- flattens into named arrays for an `.npz` (`flatten`), keyed under the value's name:

  =====================  ====================================================================
  tensor                 ``name``
  sequence of tensors    ``name/0``, ``name/1``, ... (nested sequences: ``name/0/1``)
  empty sequence         ``name/empty``: a zero-length float32 array
  map                    ``name/keys`` and ``name/values``, in onnxruntime's order
  sequence of maps       ``name/labels`` (the keys, sorted) and ``name/probabilities``
  (ZipMap)               (samples x labels, float; NaN where a sample's map lacks a key)
  empty optional         ``name/none``: a zero-length float32 array
  present optional       as the value it holds
  =====================  ====================================================================

- and gives the Output tab a class -> probability table (`class_table`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Kinds of StructuredValue, from the ONNX type system.
KINDS = ("sequence", "map", "sequence_of_maps", "optional_empty")


@dataclass(frozen=True)
class StructuredValue:
    """One non-tensor value: its ONNX kind and what onnxruntime returned (list, dict, None)."""

    name: str
    kind: str
    raw: Any

    def flatten(self) -> dict[str, np.ndarray]:
        """The value as named arrays, keyed as the module docstring's table says."""
        return flatten_value(self.name, self.raw)

    def summary(self) -> dict[str, Any]:
        """A JSON-able description: kind, length or keys, and the npz keys it writes."""
        out: dict[str, Any] = {"kind": self.kind, "keys": sorted(self.flatten())}
        if self.kind in ("sequence", "sequence_of_maps"):
            out["length"] = len(self.raw)
        if self.kind == "sequence_of_maps":
            out["labels"] = [_label(k) for k in _labels(self.raw)]
        return out

    def class_table(self, sample: int = 0) -> list[tuple[str, float]]:
        """Rows (class label, probability) for one sample, most probable first.

        For a sequence of maps (ZipMap) or a single map; empty for other kinds.
        """
        if self.kind == "sequence_of_maps":
            if not 0 <= sample < len(self.raw):
                return []
            entry = self.raw[sample]
        elif self.kind == "map":
            entry = self.raw
        else:
            return []
        rows = [(_label(k), float(np.asarray(v).reshape(-1)[0])) for k, v in entry.items()]
        return sorted(rows, key=lambda r: -r[1])


def _label(key: Any) -> str:
    if isinstance(key, bytes):
        return key.decode("utf-8", "replace")
    return str(key.item() if isinstance(key, np.generic) else key)


def _labels(maps: list[Mapping[Any, Any]]) -> list[Any]:
    keys: set[Any] = set()
    for m in maps:
        keys.update(m.keys())
    try:
        return sorted(keys)
    except TypeError:  # mixed key types cannot happen in ONNX, but never fail on it
        return sorted(keys, key=str)


def _is_map_sequence(raw: Any) -> bool:
    return isinstance(raw, list | tuple) and len(raw) > 0 and all(
        isinstance(m, Mapping) for m in raw
    )


def kind_of(raw: Any) -> str:
    """The StructuredValue kind of an onnxruntime result, or "tensor" for an array."""
    if raw is None:
        return "optional_empty"
    if isinstance(raw, Mapping):
        return "map"
    if _is_map_sequence(raw):
        return "sequence_of_maps"
    if isinstance(raw, list | tuple):
        return "sequence"
    return "tensor"


def _array(x: Any) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype == object:
        # Strings come back as object arrays; np.load would need allow_pickle for them.
        a = a.astype(str)
    return a


def flatten_value(name: str, raw: Any) -> dict[str, np.ndarray]:
    """Named arrays for one value (see the module docstring); a tensor gives {name: array}."""
    kind = kind_of(raw)
    if kind == "tensor":
        return {name: _array(raw)}
    if kind == "optional_empty":
        return {f"{name}/none": np.zeros(0, np.float32)}
    if kind == "map":
        keys = list(raw.keys())
        return {
            f"{name}/keys": _array(keys),
            f"{name}/values": _array([raw[k] for k in keys]),
        }
    if kind == "sequence_of_maps":
        labels = _labels(raw)
        probs = np.full((len(raw), len(labels)), np.nan, dtype=np.float64)
        for i, m in enumerate(raw):
            for j, k in enumerate(labels):
                if k in m:
                    probs[i, j] = float(np.asarray(m[k]).reshape(-1)[0])
        first = next(iter(raw[0].values()))
        dtype = np.asarray(first).dtype
        if np.issubdtype(dtype, np.floating):
            probs = probs.astype(dtype)
        return {f"{name}/labels": _array(labels), f"{name}/probabilities": probs}
    # sequence
    if len(raw) == 0:
        return {f"{name}/empty": np.zeros(0, np.float32)}
    out: dict[str, np.ndarray] = {}
    for i, item in enumerate(raw):
        out.update(flatten_value(f"{name}/{i}", item))
    return out


def split_values(
    raw: Mapping[str, Any],
) -> tuple[dict[str, np.ndarray], dict[str, StructuredValue]]:
    """Split onnxruntime results into (plain arrays, structured values) by what came back."""
    arrays: dict[str, np.ndarray] = {}
    structured: dict[str, StructuredValue] = {}
    for name, value in raw.items():
        kind = kind_of(value)
        if kind == "tensor":
            arrays[name] = value if isinstance(value, np.ndarray) else np.asarray(value)
        else:
            structured[name] = StructuredValue(name, kind, value)
    return arrays, structured


def flatten_all(structured: Mapping[str, StructuredValue]) -> dict[str, np.ndarray]:
    """Every structured value flattened, for one `.npz`."""
    out: dict[str, np.ndarray] = {}
    for value in structured.values():
        out.update(value.flatten())
    return out


def class_table(value: Any, sample: int = 0) -> list[tuple[str, float]]:
    """(label, probability) rows for a ZipMap output, a map, or a 1-D/2-D probability array.

    The Output tab calls this with whatever the run gave for an output; an array row is
    labelled by class index. Empty when the value is not a class distribution.
    """
    if isinstance(value, StructuredValue):
        return value.class_table(sample)
    kind = kind_of(value)
    if kind in ("map", "sequence_of_maps"):
        return StructuredValue("", kind, value).class_table(sample)
    if kind != "tensor":
        return []
    a = np.asarray(value)
    if a.ndim == 2 and 0 <= sample < a.shape[0]:
        a = a[sample]
    if a.ndim != 1 or not np.issubdtype(a.dtype, np.number):
        return []
    rows = [(str(i), float(v)) for i, v in enumerate(a)]
    return sorted(rows, key=lambda r: -r[1])


__all__ = [
    "KINDS",
    "StructuredValue",
    "class_table",
    "flatten_all",
    "flatten_value",
    "kind_of",
    "split_values",
]
