"""Activation functions as data: for each kind, its formula, the ONNX ops and the Keras (and
other) names that apply it, and the rules that say which units are dead or saturated.

`activation_kind(node)` reads a node against this table; `apply_activation` evaluates a
kind; `activation_curve` gives a panel everything it draws (the curve over the input's range,
the marked points, the counts) so the widget only paints.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inspector.ir import Node

#: |pre-activation| beyond which sigmoid-like and tanh units sit in their flat tails
#: (sigmoid(4) = 0.982, tanh(4) = 0.9993: the gradient there is under 2% of its peak).
SATURATION_LOGIT = 4.0
#: Points on a drawn curve, and at most this many marked pre-activations (an even subsample).
CURVE_POINTS = 401
MAX_POINTS = 2000

Params = Mapping[str, Any]
Formula = Callable[[np.ndarray, Params], np.ndarray]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free form of 1 / (1 + e^-x)


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _erf(x: np.ndarray) -> np.ndarray:
    # numpy has no erf; math.erf is exact, and curves have at most a few thousand points.
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def _relu(x: np.ndarray, p: Params) -> np.ndarray:
    y = np.maximum(x, 0.0)
    return y if p.get("max_value") is None else np.minimum(y, float(p["max_value"]))


def _leaky(default: float) -> Formula:
    def f(x: np.ndarray, p: Params) -> np.ndarray:
        a = p.get("slope", p.get("alpha", default))
        # PReLU's learned slope is an array broadcast against x (per channel), as ONNX does.
        return np.where(x >= 0, x, np.asarray(a, dtype=np.float64) * x)

    return f


def _elu(x: np.ndarray, p: Params) -> np.ndarray:
    a = float(p.get("alpha", 1.0))
    return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0.0)))


def _selu(x: np.ndarray, p: Params) -> np.ndarray:
    a = float(p.get("alpha", 1.6732632423543772))
    g = float(p.get("gamma", 1.0507009873554805))
    return g * np.where(x > 0, x, a * np.expm1(np.minimum(x, 0.0)))


def _celu(x: np.ndarray, p: Params) -> np.ndarray:
    a = float(p.get("alpha", 1.0))
    return np.maximum(x, 0.0) + np.minimum(0.0, a * np.expm1(np.minimum(x, 0.0) / a))


def _hard_sigmoid(x: np.ndarray, p: Params) -> np.ndarray:
    # ONNX defaults alpha 0.2, beta 0.5; Keras 3 uses 1/6 and 0.5 (passed as params).
    return np.clip(float(p.get("alpha", 0.2)) * x + float(p.get("beta", 0.5)), 0.0, 1.0)


def _softmax(x: np.ndarray, p: Params) -> np.ndarray:
    if x.ndim == 0:
        return np.ones_like(x)
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax(x: np.ndarray, p: Params) -> np.ndarray:
    if x.ndim == 0:
        return np.zeros_like(x)
    z = x - np.max(x, axis=-1, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))


def _gelu(x: np.ndarray, p: Params) -> np.ndarray:
    if p.get("approximate") in (True, "tanh"):
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


@dataclass(frozen=True)
class ActivationFact:
    """One activation kind.

    `dead`: "nonpositive" when a unit with output <= 0 passes no gradient (ReLU family).
    `saturation`: "tails" (flat beyond +-SATURATION_LOGIT: |pre| past it, or an output past
    the formula's value there), "unit_clip" (output clipped to 0 or 1), "cap" (at a ReLU6 or
    max_value ceiling), or None. `over_last_axis`: the output of a unit depends on the other
    units (softmax), so its curve is drawn for one unit with the others fixed.
    """

    formula: Formula
    onnx_ops: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    dead: str | None = None
    saturation: str | None = None
    over_last_axis: bool = False
    defaults: Mapping[str, Any] = field(default_factory=dict)


ACTIVATIONS: dict[str, ActivationFact] = {
    "relu": ActivationFact(_relu, ("Relu",), dead="nonpositive", saturation="cap"),
    "relu6": ActivationFact(lambda x, p: np.clip(x, 0.0, 6.0), dead="nonpositive",
                            saturation="cap"),
    "leaky_relu": ActivationFact(_leaky(0.01), ("LeakyRelu",), ("leakyrelu",)),
    # Without its learned slope (a computed input) PReLU falls back to torch's initial 0.25.
    "prelu": ActivationFact(_leaky(0.25), ("PRelu",)),
    "thresholded_relu": ActivationFact(lambda x, p: np.where(x > float(p.get("alpha", 1.0)),
                                                             x, 0.0),
                                       ("ThresholdedRelu",), dead="nonpositive"),
    "elu": ActivationFact(_elu, ("Elu",)),
    "selu": ActivationFact(_selu, ("Selu",)),
    "celu": ActivationFact(_celu, ("Celu",)),
    "sigmoid": ActivationFact(lambda x, p: _sigmoid(x), ("Sigmoid",), saturation="tails"),
    "hard_sigmoid": ActivationFact(_hard_sigmoid, ("HardSigmoid",), ("hardsigmoid",),
                                   saturation="unit_clip", defaults={"alpha": 0.2, "beta": 0.5}),
    "tanh": ActivationFact(lambda x, p: np.tanh(x), ("Tanh",), saturation="tails"),
    "softmax": ActivationFact(_softmax, ("Softmax",), over_last_axis=True),
    "log_softmax": ActivationFact(_log_softmax, ("LogSoftmax",), ("logsoftmax",),
                                  over_last_axis=True),
    "softplus": ActivationFact(lambda x, p: _softplus(x), ("Softplus",)),
    "softsign": ActivationFact(lambda x, p: x / (1.0 + np.abs(x)), ("Softsign",),
                               saturation="tails"),
    "gelu": ActivationFact(_gelu, ("Gelu", "FastGelu")),
    # Keras 3's hard_silu is x * relu6(x + 3) / 6: the same function as hard_swish.
    "hard_swish": ActivationFact(lambda x, p: x * np.clip(x / 6.0 + 0.5, 0.0, 1.0),
                                 ("HardSwish",), ("hardswish", "hard_silu", "hardsilu")),
    "mish": ActivationFact(lambda x, p: x * np.tanh(_softplus(x)), ("Mish",)),
    # QuickGelu (onnxruntime contrib) is x * sigmoid(alpha x); the default alpha 1.702 is not
    # applied here, as before.
    "swish": ActivationFact(lambda x, p: x * _sigmoid(x), ("QuickGelu",), ("silu",)),
    "exponential": ActivationFact(lambda x, p: np.exp(np.minimum(x, 700.0))),
    "linear": ActivationFact(lambda x, p: x.copy(), names=("none",)),
}

#: Every kind `apply_activation` knows.
ACTIVATION_KINDS: tuple[str, ...] = tuple(ACTIVATIONS)
_BY_NAME = {alias: kind for kind, fact in ACTIVATIONS.items() for alias in fact.names}
_BY_ONNX_OP = {op: kind for kind, fact in ACTIVATIONS.items() for op in fact.onnx_ops}


def apply_activation(kind: str, x: np.ndarray, params: Params | None = None) -> np.ndarray:
    """The activation `kind` applied to `x` (float64), with ONNX/Keras default parameters.

    Softmax and log-softmax are taken over the last axis. Raises KeyError for an unknown kind.
    """
    return ACTIVATIONS[kind].formula(np.asarray(x, dtype=np.float64), params or {})


def normalize_kind(name: str) -> str | None:
    """A canonical kind for an activation name ("ReLU", "silu", "hardswish"), or None."""
    key = name.strip().lower().replace("-", "_")
    key = _BY_NAME.get(key, key)
    return key if key in ACTIVATIONS else None


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


def _learned_slope(node: Node) -> dict[str, Any]:
    """PReLU's slope from its weight (ONNX input "slope", Keras variable "alpha"), if stored."""
    w = node.weight("slope") or node.weight("alpha") or (node.weights[0] if node.weights else None)
    if w is None:
        return {}
    slope = np.asarray(w.tensor.numpy(), dtype=np.float64)
    return {"slope": float(slope.reshape(-1)[0]) if slope.size == 1 else slope}


def _onnx_activation(node: Node) -> tuple[str, dict[str, Any]]:
    kind = _BY_ONNX_OP[node.op_type]
    params: dict[str, Any] = {}
    for key in ("alpha", "gamma", "beta"):
        if node.attr(key) is not None:
            params[key] = node.attr(key)
    if node.op_type == "Gelu" and node.attr("approximate") is not None:
        params["approximate"] = node.attr("approximate")
    if kind == "prelu":
        params.update(_learned_slope(node))
    for key, value in ACTIVATIONS[kind].defaults.items():
        params.setdefault(key, value)
    return kind, params


def activation_kind(node: Node | None) -> tuple[str, dict[str, Any]] | None:
    """(kind, params) for the activation `node` applies, or None.

    ONNX activation ops map directly; Keras `Activation` layers use their `activation`
    attribute, `ReLU`/`LeakyReLU`/`ELU`/`Softmax`/`PReLU` layers their class, and Dense/Conv
    layers their fused `activation` attribute (None when that is linear). PReLU's params carry
    its learned slope (a float, or an array broadcast per channel).
    """
    if node is None:
        return None
    op = node.op_type
    if op in _BY_ONNX_OP and node.attr("activation") is None:
        return _onnx_activation(node)
    if op == "ReLU":
        slope = node.attr("negative_slope", 0.0) or 0.0
        if slope:
            return "leaky_relu", {"alpha": float(slope)}
        max_value = node.attr("max_value")
        return "relu", ({} if max_value is None else {"max_value": max_value})
    if op == "LeakyReLU":
        # Keras 3 names it negative_slope (default 0.3); Keras 2 alpha (default 0.3).
        return "leaky_relu", {"alpha": float(node.attr("negative_slope", node.attr("alpha", 0.3)))}
    if op == "ELU":
        return "elu", {"alpha": float(node.attr("alpha", 1.0))}
    if op == "PReLU":
        return "prelu", _learned_slope(node)
    if op == "Softmax":
        return "softmax", {}
    name = _keras_activation_name(node.attr("activation"))
    kind = None if name is None else normalize_kind(name)
    if kind is None or (kind == "linear" and op != "Activation"):
        return None
    if kind == "hard_sigmoid":
        return kind, {"alpha": 1.0 / 6.0, "beta": 0.5}  # Keras 3's is relu6(x + 3) / 6
    return kind, {}


def dead_count(post: np.ndarray, kind: str) -> int | None:
    """Units whose output is <= 0 after a ReLU-like activation (None for other kinds)."""
    fact = ACTIVATIONS.get(kind)
    if fact is None or fact.dead != "nonpositive":
        return None
    return int(np.count_nonzero(np.asarray(post) <= 0))


def saturated_count(kind: str, pre: np.ndarray | None = None, post: np.ndarray | None = None,
                    params: Params | None = None) -> int | None:
    """Units in a flat tail of a squashing activation, or at a ReLU6/clip ceiling.

    Uses |pre| > `SATURATION_LOGIT` when pre-activations are known, otherwise the output
    value the same logit would give. None for kinds without flat tails.
    """
    fact = ACTIVATIONS.get(kind)
    rule = None if fact is None else fact.saturation
    params = params or {}
    if rule == "tails":
        if pre is not None:
            return int(np.count_nonzero(np.abs(np.asarray(pre)) > SATURATION_LOGIT))
        if post is not None:
            y = np.asarray(post, dtype=np.float64)
            hi = float(apply_activation(kind, np.float64(SATURATION_LOGIT), params))
            lo = float(apply_activation(kind, np.float64(-SATURATION_LOGIT), params))
            return int(np.count_nonzero((y > hi) | (y < lo)))
    if rule == "unit_clip":
        src = post if post is not None else (None if pre is None
                                             else apply_activation(kind, pre, params))
        if src is not None:
            y = np.asarray(src, dtype=np.float64)
            return int(np.count_nonzero((y <= 0) | (y >= 1)))
    if rule == "cap" and (kind == "relu6" or params.get("max_value") is not None):
        cap = 6.0 if kind == "relu6" else float(params["max_value"])
        src = post if post is not None else pre
        return None if src is None else int(np.count_nonzero(np.asarray(src) >= cap))
    return None


@dataclass(frozen=True)
class ActivationCurve:
    """What the activation-function panel draws: the curve, the marked (pre, post) points,
    the dead and saturated counts and notes on what was simplified."""

    kind: str
    xs: np.ndarray
    ys: np.ndarray
    px: np.ndarray
    py: np.ndarray
    units: int
    dead: int | None
    saturated: int | None
    notes: tuple[str, ...]


def _drop_batch(a: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return None
    a = np.asarray(a, dtype=np.float64)
    return a[0] if a.ndim >= 2 and a.shape[0] == 1 else a


def _logsumexp(x: np.ndarray) -> float:
    m = float(np.max(x))
    return m + float(np.log(np.sum(np.exp(x - m))))


def _curve_range(pre: np.ndarray | None) -> tuple[float, float]:
    """[-6, 6], widened to the finite pre-activations plus a 10% margin."""
    lo, hi = -6.0, 6.0
    if pre is not None and pre.size:
        finite = pre[np.isfinite(pre)]
        if finite.size:
            pad = 0.1 * max(1e-6, float(finite.max() - finite.min()))
            lo, hi = min(lo, float(finite.min()) - pad), max(hi, float(finite.max()) + pad)
    return lo, hi


def _curve_ys(kind: str, xs: np.ndarray, pre: np.ndarray | None, params: Params,
              notes: list[str]) -> np.ndarray:
    if ACTIVATIONS[kind].over_last_axis:
        # A unit's probability against its own logit with the other logits fixed is
        # sigmoid(x - log(sum of the others' exp)). Drawn for the top unit; every marked point
        # is the exact (logit, output) pair.
        rest = _logsumexp(np.sort(pre.reshape(-1))[:-1]) if pre is not None and pre.size > 1 \
            else 0.0
        what = "log-probability" if kind == "log_softmax" else "probability"
        notes.append(f"{kind}: curve is the top unit's {what} vs its logit, other logits fixed")
        p = _sigmoid(xs - rest)
        return np.log(p) if kind == "log_softmax" else p
    slope = params.get("slope")
    if slope is not None and np.ndim(slope) > 0:
        s = np.asarray(slope, dtype=np.float64).reshape(-1)
        if np.ptp(s) > 0:
            notes.append(f"slope differs per channel ({s.min():.3g} to {s.max():.3g}): "
                         "curve drawn with the median")
        params = {**params, "slope": float(np.median(s))}
    return apply_activation(kind, xs, params)


def activation_curve(kind: str, pre: np.ndarray | None, post: np.ndarray | None,
                     params: Params | None = None) -> ActivationCurve:
    """The curve of canonical `kind` over this input's range with `pre` marked on it, and how
    many units are dead or saturated. Either array may be None (a leading batch of 1 is
    dropped); without `post` it is computed from `pre`."""
    params = dict(params or {})
    notes: list[str] = []
    pre_f, post_f = _drop_batch(pre), _drop_batch(post)
    if post_f is None and pre_f is not None:
        post_f = apply_activation(kind, pre_f, params)
    xs = np.linspace(*_curve_range(pre_f), CURVE_POINTS)
    ys = _curve_ys(kind, xs, pre_f, params, notes)
    px = py = np.zeros(0)
    if pre_f is not None and pre_f.size:
        px = pre_f.reshape(-1)
        py = post_f.reshape(-1) if post_f is not None and post_f.size == pre_f.size else \
            apply_activation(kind, pre_f, params).reshape(-1)
        if px.size > MAX_POINTS:
            step = -(-px.size // MAX_POINTS)
            px, py = px[::step], py[::step]
            notes.append(f"{pre_f.size} values: every {step}th marked")
    else:
        notes.append("no pre-activation values for this input")
    counted = post_f if post_f is not None else pre_f
    return ActivationCurve(
        kind, xs, ys, px, py, 0 if counted is None else int(counted.size),
        dead_count(post_f, kind) if post_f is not None else None,
        saturated_count(kind, pre=pre_f, post=post_f, params=params), tuple(notes))
