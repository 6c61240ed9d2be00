"""Keras activation functions (the `activation=` strings and the activation layers) as ONNX.

Formulas follow keras.src.activations (Keras 3); each is checked against Keras in the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from inspector.lowering.builder import GraphBuilder
from inspector.lowering.rules import NotLowered

Act = Callable[[GraphBuilder, str, str], str]


def _relu6(b: GraphBuilder, x: str, h: str) -> str:
    return b.op("Clip", [x, b.const(np.float32(0)), b.const(np.float32(6))], h)


def _mul(b: GraphBuilder, x: str, c: float, h: str) -> str:
    return b.op("Mul", [x, b.const(np.float32(c))], h)


def _add(b: GraphBuilder, x: str, c: float, h: str) -> str:
    return b.op("Add", [x, b.const(np.float32(c))], h)


def _gelu_exact(b: GraphBuilder, x: str, h: str) -> str:
    # 0.5 * x * (1 + erf(x / sqrt(2)))
    e = b.op("Erf", [_mul(b, x, 1 / np.sqrt(2.0), h)], h)
    return b.op("Mul", [_mul(b, x, 0.5, h), _add(b, e, 1.0, h)], h)


def _gelu_tanh(b: GraphBuilder, x: str, h: str) -> str:
    # 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
    x3 = b.op("Mul", [b.op("Mul", [x, x], h), x], h)
    inner = _mul(b, b.op("Add", [x, _mul(b, x3, 0.044715, h)], h), np.sqrt(2 / np.pi), h)
    return b.op("Mul", [_mul(b, x, 0.5, h), _add(b, b.op("Tanh", [inner], h), 1.0, h)], h)


def _silu(b: GraphBuilder, x: str, h: str) -> str:
    return b.op("Mul", [x, b.op("Sigmoid", [x], h)], h)


def _hard_silu(b: GraphBuilder, x: str, h: str) -> str:
    return b.op("Mul", [x, b.op("HardSigmoid", [x], h, alpha=1 / 6, beta=0.5)], h)


def _softplus(b: GraphBuilder, x: str, h: str) -> str:
    return b.op("Softplus", [x], h)


def _mish(b: GraphBuilder, x: str, h: str) -> str:
    return b.op("Mul", [x, b.op("Tanh", [_softplus(b, x, h)], h)], h)


def _log_sigmoid(b: GraphBuilder, x: str, h: str) -> str:
    return b.op("Neg", [_softplus(b, b.op("Neg", [x], h), h)], h)


def _sparse_plus(b: GraphBuilder, x: str, h: str) -> str:
    # 0 for x <= -1, (x+1)^2/4 for |x| < 1, x for x >= 1
    c = b.op("Clip", [x, b.const(np.float32(-1)), b.const(np.float32(1))], h)
    q = _mul(b, b.op("Mul", [_add(b, c, 1.0, h), _add(b, c, 1.0, h)], h), 0.25, h)
    return b.op("Where", [b.op("GreaterOrEqual", [x, b.const(np.float32(1))], h), x, q], h)


def _squareplus(b: GraphBuilder, x: str, h: str) -> str:
    # (x + sqrt(x^2 + 4)) / 2  (Keras default b = 4)
    s = b.op("Sqrt", [_add(b, b.op("Mul", [x, x], h), 4.0, h)], h)
    return _mul(b, b.op("Add", [x, s], h), 0.5, h)


def _tanh_shrink(b: GraphBuilder, x: str, h: str) -> str:
    return b.op("Sub", [x, b.op("Tanh", [x], h)], h)


def _hard_tanh(b: GraphBuilder, x: str, h: str) -> str:
    return b.op("Clip", [x, b.const(np.float32(-1)), b.const(np.float32(1))], h)


def _threshold_zero(b: GraphBuilder, x: str, h: str) -> str:
    return b.op("Relu", [x], h)


def _glu(b: GraphBuilder, x: str, h: str) -> str:
    # keras.src.backend.tensorflow.nn.glu: halves a, b of the last axis -> a * sigmoid(b)
    a, g = b.op("Split", [x], h, n_out=2, axis=-1)
    return b.op("Mul", [a, b.op("Sigmoid", [g], h)], h)


def _sparse_sigmoid(b: GraphBuilder, x: str, h: str) -> str:
    # 0 for x <= -1, (x + 1) / 2 between, 1 for x >= 1
    half = _mul(b, _add(b, x, 1.0, h), 0.5, h)
    return b.op("Clip", [half, b.const(np.float32(0)), b.const(np.float32(1))], h)


def _sparsemax(b: GraphBuilder, x: str, h: str) -> str:
    # keras.src.backend.tensorflow.nn.sparsemax, op for op (its tau sums the cumulative sums
    # over the support, as Keras does)
    n = b.op("Shape", [x], h, start=-1)
    srt = b.op("TopK", [x, n], h, n_out=2, axis=-1, largest=1, sorted=1)[0]
    cs = b.op("CumSum", [srt, b.const(np.int64(-1))], h)
    one = b.const(np.int64(1))
    last = b.op("Add", [b.op("Squeeze", [n], h), one], h)
    r = b.op("Cast", [b.op("Range", [one, last, one], h)], h, to=1)
    gap = b.op("Sub", [srt, b.op("Div", [_add(b, cs, -1.0, h), r], h)], h)
    support = b.op("Greater", [gap, b.const(np.float32(0))], h)
    safe = b.op("Where", [support, cs, b.const(np.float32(0))], h)
    k = b.op("ReduceSum", [b.op("Cast", [support], h, to=1), b.ints([-1])], h, keepdims=1)
    tau = b.op("Div", [_add(b, b.op("ReduceSum", [safe, b.ints([-1])], h, keepdims=1), -1.0, h), k], h)
    return b.op("Max", [b.op("Sub", [x, tau], h), b.const(np.float32(0))], h)


SIMPLE: dict[str, Act] = {
    "relu": lambda b, x, h: b.op("Relu", [x], h),
    "relu6": _relu6,
    "sigmoid": lambda b, x, h: b.op("Sigmoid", [x], h),
    "tanh": lambda b, x, h: b.op("Tanh", [x], h),
    "softplus": _softplus,
    "softsign": lambda b, x, h: b.op("Softsign", [x], h),
    "elu": lambda b, x, h: b.op("Elu", [x], h, alpha=1.0),
    "selu": lambda b, x, h: b.op("Selu", [x], h, alpha=1.67326324, gamma=1.05070098),
    "celu": lambda b, x, h: b.op("Celu", [x], h, alpha=1.0),
    "exponential": lambda b, x, h: b.op("Exp", [x], h),
    "hard_sigmoid": lambda b, x, h: b.op("HardSigmoid", [x], h, alpha=1 / 6, beta=0.5),
    "silu": _silu, "swish": _silu,
    "hard_silu": _hard_silu, "hard_swish": _hard_silu,
    "gelu": _gelu_exact,
    "mish": _mish,
    "log_sigmoid": _log_sigmoid,
    "leaky_relu": lambda b, x, h: b.op("LeakyRelu", [x], h, alpha=0.2),
    "softmax": lambda b, x, h: b.op("Softmax", [x], h, axis=-1),
    "log_softmax": lambda b, x, h: b.op("LogSoftmax", [x], h, axis=-1),
    "sparse_plus": _sparse_plus,
    "squareplus": _squareplus,
    "tanh_shrink": _tanh_shrink,
    "hard_tanh": _hard_tanh,
    "hard_shrink": lambda b, x, h: b.op("Shrink", [x], h, lambd=0.5, bias=0.0),
    "soft_shrink": lambda b, x, h: b.op("Shrink", [x], h, lambd=0.5, bias=0.5),
    "glu": _glu,
    "sparse_sigmoid": _sparse_sigmoid,
    "sparsemax": _sparsemax,
}


def activation_name(act: Any) -> str:
    """The activation's name from a config value: "relu", or Keras 3's serialized dict."""
    if act is None:
        return "linear"
    if isinstance(act, dict):
        inner = act.get("config")
        if isinstance(inner, str):
            return inner
        if isinstance(inner, dict) and isinstance(inner.get("name"), str):
            return inner["name"]
        return str(act.get("class_name") or "?")
    return str(act)


def is_linear(act: Any) -> bool:
    return activation_name(act) in ("linear", "None", "")


def apply_activation(b: GraphBuilder, x: str, act: Any, hint: str) -> str:
    """`act` applied to `x`; NotLowered names an activation Keras knows and we do not."""
    name = activation_name(act)
    if name in ("linear", "None", ""):
        return x
    fn = SIMPLE.get(name)
    if fn is None:
        raise NotLowered(f"activation {name!r} is not lowered")
    return fn(b, x, hint)
