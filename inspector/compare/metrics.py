"""Per-value error metrics between two arrays, after aligning their layouts."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from inspector.ir import Dim

# onnxruntime's qdq_loss_debug floors both norms at this, so our SNR equals its SQNR.
_EPS = float(np.finfo(float).eps)


@dataclass(frozen=True)
class ValueDiff:
    """How B's value departs from A's: `max_rel` is the max abs error over A's largest
    magnitude (elementwise ratios explode on ReLU zeros); `snr_db` is
    20·log10(‖a‖/‖a−b‖), onnxruntime's SQNR."""

    a: str
    b: str
    shape: tuple[int, ...]
    max_abs: float
    max_rel: float
    cosine: float
    snr_db: float

    def as_dict(self) -> dict[str, object]:
        """The JSON form the CLI prints (DESIGN.md, `compare --json`)."""
        return {
            "a": self.a, "b": self.b, "shape": list(self.shape), "max_abs": self.max_abs,
            "max_rel": self.max_rel, "cosine": self.cosine, "snr_db": self.snr_db,
        }


def _squeezed(shape: tuple[Dim, ...]) -> list[Dim]:
    return [d for d in shape if d != 1]


def _channel_moves(ndim: int) -> list[tuple[int, int]]:
    # tf2onnx runs convolutions channels-first while Keras keeps channels last.
    return [(-1, 1), (1, -1)] if ndim >= 3 else []


def _dims_equal(x: tuple[Dim, ...], y: tuple[Dim, ...]) -> bool:
    if len(x) != len(y):
        return False
    return all(not isinstance(p, int) or not isinstance(q, int) or p == q for p, q in zip(x, y, strict=True))


def shapes_compatible(sa: tuple[Dim, ...] | None, sb: tuple[Dim, ...] | None) -> bool:
    """Whether values of these (possibly partly unknown) shapes can be aligned."""
    if sa is None or sb is None:
        return True
    if _dims_equal(sa, sb) or _dims_equal(tuple(_squeezed(sa)), tuple(_squeezed(sb))):
        return True
    if len(sa) == len(sb):
        for src, dst in _channel_moves(len(sa)):
            moved = list(sa)
            moved.insert(dst % len(sa), moved.pop(src))
            if _dims_equal(tuple(moved), sb):
                return True
    return False


def align(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """B's array laid out as A's (same shape, channels moved, or size-1 axes dropped),
    or None when no such layout exists."""
    if a.shape == b.shape:
        return b
    if a.size != b.size:
        return None
    if a.ndim == b.ndim:
        for src, dst in _channel_moves(b.ndim):
            moved = np.moveaxis(b, src, dst)
            if moved.shape == a.shape:
                return moved
    if _squeezed(a.shape) == _squeezed(b.shape):
        return b.reshape(a.shape)
    return None


def snr_db(a: np.ndarray, b: np.ndarray) -> float:
    """20·log10(‖a‖/‖a−b‖) with both norms floored at machine epsilon (onnxruntime's SQNR)."""
    tensor_norm = max(float(np.linalg.norm(a)), _EPS)
    diff_norm = max(float(np.linalg.norm(a - b)), _EPS)
    return 20.0 * math.log10(tensor_norm / diff_norm)


def value_diff(a_name: str, b_name: str, a: np.ndarray, b: np.ndarray,
               cross_layout: bool = False) -> ValueDiff | None:
    """The metrics of `b` against reference `a`, or None when their layouts cannot align.

    `cross_layout` (A and B in different formats): when moving the channel axis leaves the
    shape unchanged (NHWC 1x24x24x24 against NCHW), both readings are measured and the
    closer one kept, since the shapes cannot tell them apart."""
    b2 = align(a, b)
    if b2 is None:
        return None
    if cross_layout and a.shape == b.shape and a.ndim >= 3:
        plain = _diff(a_name, b_name, a, b)
        for src, dst in _channel_moves(a.ndim):
            moved = np.moveaxis(b, src, dst)
            if moved.shape == a.shape:
                other = _diff(a_name, b_name, a, moved)
                if other.max_abs < plain.max_abs:
                    plain = other
        return plain
    return _diff(a_name, b_name, a, b2)


def _diff(a_name: str, b_name: str, a: np.ndarray, b2: np.ndarray) -> ValueDiff:
    # float32 throughout, as onnxruntime's SQNR computes it (and 3x faster than float64).
    fa = np.ascontiguousarray(a, dtype=np.float32).ravel()
    fb = np.ascontiguousarray(b2, dtype=np.float32).ravel()
    shape = tuple(int(x) for x in a.shape)
    if fa.size == 0:
        return ValueDiff(a_name, b_name, shape, 0.0, 0.0, 1.0, snr_db(fa, fb))
    diff = fa - fb
    max_abs = float(np.max(np.abs(diff)))
    if not math.isfinite(max_abs):
        max_abs = math.inf
    peak = float(np.max(np.abs(fa)))
    max_rel = max_abs / peak if peak > 0 else (0.0 if max_abs == 0 else math.inf)
    na, nb = math.sqrt(float(np.dot(fa, fa))), math.sqrt(float(np.dot(fb, fb)))
    nd = math.sqrt(float(np.dot(diff, diff)))
    if na == 0 and nb == 0:
        cosine = 1.0
    elif na == 0 or nb == 0:
        cosine = 0.0
    else:
        cosine = float(np.dot(fa, fb)) / (na * nb)
    snr = 20.0 * math.log10(max(na, _EPS) / max(nd, _EPS)) if math.isfinite(nd) else -math.inf
    return ValueDiff(a_name, b_name, shape, max_abs, max_rel, cosine, snr)


def dequantize(q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None,
               axis: int | None = None) -> np.ndarray:
    """(q − zero_point)·scale, per tensor or per `axis` (ONNX DequantizeLinear)."""
    qf = q.astype(np.float32)
    zp = np.zeros(1, np.float32) if zero_point is None else np.asarray(zero_point, np.float32)
    sc = np.asarray(scale, np.float32)
    if sc.size > 1:
        ax = (axis if axis is not None else 0) % q.ndim
        shape = [1] * q.ndim
        shape[ax] = sc.size
        sc = sc.reshape(shape)
        zp = zp.reshape(shape) if zp.size == sc.size else zp
    return ((qf - zp) * sc).astype(np.float32)
