"""Numbers behind the panels, Qt-free: summaries, histograms, downsampling, activation
functions as numpy formulas, and which activation a node applies.

Everything here takes plain numpy arrays (and IR nodes for `activation_kind`), so the
panels stay thin and these facts are testable without a display.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from inspector.ir import Node

#: Above this many elements, histograms are built from an even subsample (exact min/max kept).
HISTOGRAM_SAMPLE = 1 << 20

#: |pre-activation| beyond which sigmoid-like and tanh units sit in their flat tails
#: (sigmoid(4) = 0.982, tanh(4) = 0.9993: the gradient there is under 2% of its peak).
SATURATION_LOGIT = 4.0

_RELU_LIKE = {"relu", "relu6", "thresholded_relu"}
_SQUASHING = {"sigmoid", "tanh", "hard_sigmoid", "softsign"}


@dataclass(frozen=True)
class Summary:
    """Min, max, mean, std, share of exact zeros, element count, dtype and shape of an array."""

    shape: tuple[int, ...]
    dtype: str
    size: int
    min: float
    max: float
    mean: float
    std: float
    zeros: float
    finite: bool = True

    def lines(self) -> list[str]:
        """Human-readable `key: value` lines for a stats label."""
        return [
            f"shape {self.shape}  {self.dtype}  ({self.size:,} values)",
            f"min {self.min:.4g}   max {self.max:.4g}",
            f"mean {self.mean:.4g}   std {self.std:.4g}",
            f"zeros {self.zeros:.1%}" + ("" if self.finite else "   (has NaN/inf)"),
        ]


def summarize(array: np.ndarray) -> Summary:
    """Summary statistics over every element; NaN/inf are left out of min/max/mean/std."""
    a = np.asarray(array)
    if a.dtype.kind not in "biuf":
        a = a.astype(np.float64)
    flat = a.reshape(-1)
    size = int(flat.size)
    if size == 0:
        return Summary(tuple(a.shape), str(a.dtype), 0, math.nan, math.nan, math.nan, math.nan, 0.0)
    finite = True
    if flat.dtype.kind == "f":
        mask = np.isfinite(flat)
        finite = bool(mask.all())
        if not finite:
            flat = flat[mask]
    if flat.size == 0:
        return Summary(tuple(a.shape), str(a.dtype), size, math.nan, math.nan, math.nan, math.nan,
                       0.0, False)
    # float64 accumulation: float32 sums over millions of values drift visibly.
    mean = float(flat.mean(dtype=np.float64))
    std = _std(flat, mean)
    zeros = float(np.count_nonzero(flat == 0)) / size
    return Summary(tuple(a.shape), str(a.dtype), size, float(flat.min()), float(flat.max()),
                   mean, std, zeros, finite)


def _std(flat: np.ndarray, mean: float, chunk: int = 1 << 20) -> float:
    """Standard deviation in chunks: `ndarray.std` makes a float64 copy of the whole array
    (128 MB and ~45 ms for a 4096x4096 matrix); per-chunk dot products need neither."""
    if flat.dtype.kind != "f":
        return float(flat.std(dtype=np.float64))
    m = flat.dtype.type(mean)
    acc = 0.0
    for start in range(0, flat.size, chunk):
        d = flat[start:start + chunk] - m
        acc += float(np.dot(d, d))
    return math.sqrt(acc / flat.size)


def subsample(array: np.ndarray, limit: int = HISTOGRAM_SAMPLE) -> np.ndarray:
    """At most about `limit` elements of `array`, flattened, taken at an even stride."""
    flat = np.asarray(array).reshape(-1)
    if flat.size <= limit:
        return flat
    step = int(math.ceil(flat.size / limit))
    return flat[::step]


def histogram(array: np.ndarray, bins: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(counts, edges) over the finite values (subsampled past `HISTOGRAM_SAMPLE`)."""
    flat = subsample(array).astype(np.float64, copy=False)
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return np.zeros(bins, dtype=np.int64), np.linspace(0.0, 1.0, bins + 1)
    lo, hi = float(flat.min()), float(flat.max())
    if hi <= lo:  # a constant array: one bin of unit width around the value
        lo, hi = lo - 0.5, hi + 0.5
    return np.histogram(flat, bins=bins, range=(lo, hi))


def downsample_1d(values: np.ndarray, limit: int = 512) -> tuple[np.ndarray, int]:
    """Means of equal consecutive bins so at most `limit` remain; returns (values, bin size)."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size <= limit:
        return v, 1
    factor = int(math.ceil(v.size / limit))
    pad = (-v.size) % factor
    if pad:
        # NaN padding keeps the last partial bin an honest mean of its real members.
        v = np.concatenate([v, np.full(pad, np.nan)])
    return np.nanmean(v.reshape(-1, factor), axis=1), factor


def downsample_2d(matrix: np.ndarray, max_side: int = 1024) -> tuple[np.ndarray, int]:
    """Block means so neither side exceeds `max_side`; returns (image, block size)."""
    m = np.asarray(matrix)
    rows, cols = m.shape
    factor = int(math.ceil(max(rows, cols) / max_side))
    if factor <= 1:
        return m, 1
    r, c = rows // factor * factor, cols // factor * factor
    # Dropping the last partial block row/column loses under 1/max_side of the picture.
    m = np.ascontiguousarray(m[:r, :c], dtype=np.float32)
    # Rows first (adding whole contiguous rows), then columns: 3x faster than one
    # mean over axes (1, 3) of the 4-D block view.
    rows_summed = m.reshape(r // factor, factor, c).sum(axis=1)
    blocks = rows_summed.reshape(r // factor, c // factor, factor).sum(axis=2)
    return blocks / np.float32(factor * factor), factor


def symmetric_levels(array: np.ndarray) -> tuple[float, float]:
    """(-m, m) with m the largest finite |value|, so a diverging map centres on 0."""
    flat = subsample(array)
    flat = flat[np.isfinite(flat)] if flat.dtype.kind == "f" else flat
    m = float(np.abs(flat).max()) if flat.size else 1.0
    return (-m, m) if m > 0 else (-1.0, 1.0)


def finite_levels(array: np.ndarray) -> tuple[float, float]:
    """(min, max) over the finite values, widened when they are equal."""
    flat = np.asarray(array).reshape(-1)
    if flat.dtype.kind == "f":
        flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return 0.0, 1.0
    lo, hi = float(flat.min()), float(flat.max())
    return (lo - 0.5, hi + 0.5) if hi <= lo else (lo, hi)


# ---------------------------------------------------------------- activation functions


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free form of 1 / (1 + e^-x)


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _erf(x: np.ndarray) -> np.ndarray:
    # numpy has no erf; math.erf is exact, and curves have at most a few thousand points.
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def apply_activation(kind: str, x: np.ndarray, params: dict[str, Any] | None = None) -> np.ndarray:
    """The activation `kind` applied to `x` (float64), with ONNX/Keras default parameters.

    Softmax is taken over the last axis. Raises KeyError for an unknown kind.
    """
    p = params or {}
    x = np.asarray(x, dtype=np.float64)
    if kind == "relu":
        y = np.maximum(x, 0.0)
        if p.get("max_value") is not None:
            y = np.minimum(y, float(p["max_value"]))
        return y
    if kind == "relu6":
        return np.clip(x, 0.0, 6.0)
    if kind in ("leaky_relu", "prelu"):
        a = float(p.get("alpha", p.get("slope", 0.01 if kind == "leaky_relu" else 0.25)))
        return np.where(x >= 0, x, a * x)
    if kind == "thresholded_relu":
        return np.where(x > float(p.get("alpha", 1.0)), x, 0.0)
    if kind == "elu":
        a = float(p.get("alpha", 1.0))
        return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0.0)))
    if kind == "selu":
        a = float(p.get("alpha", 1.6732632423543772))
        g = float(p.get("gamma", 1.0507009873554805))
        return g * np.where(x > 0, x, a * np.expm1(np.minimum(x, 0.0)))
    if kind == "celu":
        a = float(p.get("alpha", 1.0))
        return np.maximum(x, 0.0) + np.minimum(0.0, a * np.expm1(np.minimum(x, 0.0) / a))
    if kind == "sigmoid":
        return _sigmoid(x)
    if kind == "hard_sigmoid":
        # ONNX defaults alpha 0.2, beta 0.5; Keras 3 uses 1/6 and 0.5 (passed as params).
        return np.clip(float(p.get("alpha", 0.2)) * x + float(p.get("beta", 0.5)), 0.0, 1.0)
    if kind == "tanh":
        return np.tanh(x)
    if kind == "softmax":
        if x.ndim == 0:
            return np.ones_like(x)
        z = x - np.max(x, axis=-1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)
    if kind == "softplus":
        return _softplus(x)
    if kind == "softsign":
        return x / (1.0 + np.abs(x))
    if kind == "gelu":
        if p.get("approximate") in (True, "tanh"):
            return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
        return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))
    if kind == "hard_swish":
        return x * np.clip(x / 6.0 + 0.5, 0.0, 1.0)
    if kind == "mish":
        return x * np.tanh(_softplus(x))
    if kind == "swish":
        return x * _sigmoid(x)
    if kind == "exponential":
        return np.exp(np.minimum(x, 700.0))
    if kind == "linear":
        return x.copy()
    raise KeyError(kind)


#: Every kind `apply_activation` knows.
ACTIVATION_KINDS: tuple[str, ...] = (
    "relu", "relu6", "leaky_relu", "prelu", "thresholded_relu", "elu", "selu", "celu",
    "sigmoid", "hard_sigmoid", "tanh", "softmax", "softplus", "softsign", "gelu",
    "hard_swish", "mish", "swish", "exponential", "linear",
)

_ALIASES = {
    "hardswish": "hard_swish", "silu": "swish", "hardsigmoid": "hard_sigmoid",
    "leakyrelu": "leaky_relu", "none": "linear", "relu6": "relu6", "log_softmax": "softmax",
}

_ONNX_OPS = {
    "Relu": "relu", "LeakyRelu": "leaky_relu", "PRelu": "prelu", "Elu": "elu", "Selu": "selu",
    "Celu": "celu", "Sigmoid": "sigmoid", "HardSigmoid": "hard_sigmoid", "Tanh": "tanh",
    "Softmax": "softmax", "Softplus": "softplus", "Softsign": "softsign", "Gelu": "gelu",
    "HardSwish": "hard_swish", "Mish": "mish", "ThresholdedRelu": "thresholded_relu",
    "FastGelu": "gelu", "QuickGelu": "swish",
}


def normalize_kind(name: str) -> str | None:
    """A canonical kind for an activation name ("ReLU", "silu", "hardswish"), or None."""
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    return key if key in ACTIVATION_KINDS else None


def _keras_activation_name(value: Any) -> str | None:
    # Keras 3 serializes activations as a plain string; some configs nest {"class_name": ...}.
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        cfg = value.get("config")
        if isinstance(cfg, dict) and isinstance(cfg.get("name"), str):
            return cfg["name"]
        if isinstance(cfg, str):
            return cfg
        if isinstance(value.get("class_name"), str):
            return value["class_name"]
    return None


def activation_kind(node: Node | None) -> tuple[str, dict[str, Any]] | None:
    """(kind, params) for the activation `node` applies, or None.

    ONNX activation ops map directly; Keras `Activation` layers use their `activation`
    attribute, `ReLU`/`LeakyReLU`/`ELU`/`Softmax`/`PReLU` layers their class, and Dense/Conv
    layers their fused `activation` attribute (None when that is linear).
    """
    if node is None:
        return None
    op = node.op_type
    if op in _ONNX_OPS and node.attr("activation") is None:
        kind = _ONNX_OPS[op]
        params: dict[str, Any] = {}
        for key in ("alpha", "gamma", "beta"):
            if node.attr(key) is not None:
                params[key] = node.attr(key)
        if op == "Gelu" and node.attr("approximate") is not None:
            params["approximate"] = node.attr("approximate")
        if op == "HardSigmoid" and "alpha" not in params:
            params.update(alpha=0.2, beta=0.5)
        return kind, params
    if op == "ReLU":
        params = {}
        if node.attr("max_value") is not None:
            params["max_value"] = node.attr("max_value")
        slope = node.attr("negative_slope", 0.0) or 0.0
        if slope:
            return "leaky_relu", {"alpha": float(slope)}
        return "relu", params
    if op == "LeakyReLU":
        # Keras 3 names it negative_slope (default 0.3); Keras 2 alpha (default 0.3).
        return "leaky_relu", {"alpha": float(node.attr("negative_slope", node.attr("alpha", 0.3)))}
    if op == "ELU":
        return "elu", {"alpha": float(node.attr("alpha", 1.0))}
    if op == "PReLU":
        return "prelu", {}
    if op == "Softmax":
        return "softmax", {}
    name = _keras_activation_name(node.attr("activation"))
    if name is None:
        return None
    kind = normalize_kind(name)
    if kind is None or (kind == "linear" and op != "Activation"):
        return None
    params = {}
    if kind == "hard_sigmoid":
        params = {"alpha": 1.0 / 6.0, "beta": 0.5}  # Keras 3's hard_sigmoid is relu6(x+3)/6
    return kind, params


def dead_count(post: np.ndarray, kind: str) -> int | None:
    """Units whose output is <= 0 after a ReLU-like activation (None for other kinds)."""
    if kind not in _RELU_LIKE:
        return None
    return int(np.count_nonzero(np.asarray(post) <= 0))


def saturated_count(kind: str, pre: np.ndarray | None = None, post: np.ndarray | None = None,
                    params: dict[str, Any] | None = None) -> int | None:
    """Units in a flat tail of a squashing activation, or at a ReLU6/clip ceiling.

    Uses |pre| > `SATURATION_LOGIT` when pre-activations are known, otherwise the output
    value the same logit would give. None for kinds without flat tails.
    """
    if kind in ("sigmoid", "tanh", "softsign") and pre is not None:
        return int(np.count_nonzero(np.abs(np.asarray(pre)) > SATURATION_LOGIT))
    if kind in _SQUASHING and post is not None:
        y = np.asarray(post, dtype=np.float64)
        if kind == "tanh":
            return int(np.count_nonzero(np.abs(y) > math.tanh(SATURATION_LOGIT)))
        if kind == "softsign":
            t = SATURATION_LOGIT / (1 + SATURATION_LOGIT)
            return int(np.count_nonzero(np.abs(y) > t))
        if kind == "hard_sigmoid":
            return int(np.count_nonzero((y <= 0) | (y >= 1)))
        t = float(_sigmoid(np.float64(SATURATION_LOGIT)))
        return int(np.count_nonzero((y > t) | (y < 1 - t)))
    if kind == "hard_sigmoid" and pre is not None:
        y = apply_activation(kind, np.asarray(pre), params)
        return int(np.count_nonzero((y <= 0) | (y >= 1)))
    if kind == "relu6" or (kind == "relu" and (params or {}).get("max_value") is not None):
        cap = 6.0 if kind == "relu6" else float((params or {})["max_value"])
        src = post if post is not None else (None if pre is None else np.asarray(pre))
        return None if src is None else int(np.count_nonzero(np.asarray(src) >= cap))
    return None
