"""VJP rules for element-wise ONNX ops: arithmetic with broadcasting and activations."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from inspector.autodiff.rules.registry import (
    Grad,
    OpCtx,
    first_grad,
    is_float,
    unbroadcast,
    vjp_rule,
)
from inspector.autodiff.sums import dot_f64

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _erf(x: np.ndarray) -> np.ndarray:
    """Error function, vectorised (math.erf per element is exact; numpy has no erf)."""
    return np.vectorize(math.erf, otypes=[x.dtype])(x) if x.size else x.copy()


def _unary(ctx: OpCtx, gys: Sequence[Grad], dydx: np.ndarray) -> list[Grad]:
    return [first_grad(ctx, gys) * dydx]


@vjp_rule("Add")
def _add(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    g = first_grad(ctx, gys)
    return [unbroadcast(g, np.shape(ctx.x[0])), unbroadcast(g, np.shape(ctx.x[1]))]


@vjp_rule("Sub")
def _sub(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    g = first_grad(ctx, gys)
    return [unbroadcast(g, np.shape(ctx.x[0])), unbroadcast(-g, np.shape(ctx.x[1]))]


@vjp_rule("Mul")
def _mul(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    g = first_grad(ctx, gys)
    a, b = ctx.x
    return [_sum_product(g, b, np.shape(a)), _sum_product(g, a, np.shape(b))]


def _sum_product(g: np.ndarray, other: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """unbroadcast(g * other, shape). When it is one number (a scale such as GELU's 0.5),
    the sum is taken without the product array and accumulated in float64."""
    if math.prod(shape) == 1 and np.shape(other) == np.shape(g) and g.size > 1 \
            and is_float(g) and is_float(other):
        dtype = np.result_type(g, other)
        return np.asarray(dot_f64(g, other), dtype=dtype).reshape(shape)
    return unbroadcast(g * other, shape)


@vjp_rule("Div")
def _div(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    g = first_grad(ctx, gys)
    a, b = ctx.x
    if not (is_float(a) and is_float(b)):
        return [None, None]  # integer division has no gradient
    # d/db = -sum(g * a) / b^2 over b's broadcast axes, where b is constant: one summed
    # product (a scalar divisor such as GELU's sqrt 2 or attention's sqrt d: no product array).
    return [unbroadcast(g / b, np.shape(a)), -_sum_product(g, a, np.shape(b)) / (b * b)]


@vjp_rule("Pow")
def _pow(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    g = first_grad(ctx, gys)
    a, b = ctx.x
    b = np.asarray(b).astype(a.dtype)
    da = unbroadcast(g * b * np.power(a, b - 1), np.shape(a))
    db = None
    if is_float(ctx.x[1]):
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0)
        db = unbroadcast(g * ctx.y[0] * logs, np.shape(ctx.x[1]))
    return [da, db]


@vjp_rule("Sum", "Mean")
def _sum(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    g = first_grad(ctx, gys)
    if ctx.op_type == "Mean":
        g = g / len(ctx.x)
    return [unbroadcast(g, np.shape(x)) for x in ctx.x]


@vjp_rule("Max", "Min")
def _maxmin(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    # Ties route the gradient to the first operand that attains the extreme, as TF does.
    g = first_grad(ctx, gys)
    y = ctx.y[0]
    taken = np.zeros(y.shape, dtype=bool)
    out: list[Grad] = []
    for x in ctx.x:
        hit = (np.broadcast_to(x, y.shape) == y) & ~taken
        taken |= hit
        out.append(unbroadcast(np.where(hit, g, 0), np.shape(x)))
    return out


@vjp_rule("Neg")
def _neg(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    return [-first_grad(ctx, gys)]


@vjp_rule("Abs")
def _abs(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    return _unary(ctx, gys, np.sign(ctx.x[0]))


@vjp_rule("Exp")
def _exp(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    return _unary(ctx, gys, ctx.y[0])


@vjp_rule("Log")
def _log(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    return [first_grad(ctx, gys) / ctx.x[0]]


@vjp_rule("Sqrt")
def _sqrt(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    return [first_grad(ctx, gys) * 0.5 / ctx.y[0]]


@vjp_rule("Reciprocal")
def _reciprocal(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    return _unary(ctx, gys, -ctx.y[0] * ctx.y[0])


@vjp_rule("Sin")
def _sin(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    return _unary(ctx, gys, np.cos(ctx.x[0]))


@vjp_rule("Cos")
def _cos(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    return _unary(ctx, gys, -np.sin(ctx.x[0]))


@vjp_rule("Erf")
def _erf_rule(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    x = ctx.x[0]
    return _unary(ctx, gys, (2.0 / math.sqrt(math.pi)) * np.exp(-x * x))


@vjp_rule("Floor", "Ceil", "Round", "Sign")
def _step(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    return [np.zeros_like(ctx.x[0])]  # piecewise constant: zero almost everywhere


@vjp_rule("Identity", "Dropout")
def _identity(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    # Dropout at inference (the only mode a model file is run in) is the identity.
    return [first_grad(ctx, gys)]


@vjp_rule("Cast", "CastLike")
def _cast(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    if not (is_float(ctx.x[0]) and is_float(ctx.y[0])):
        return [None]  # a cast to an integer or bool stops the gradient
    return [first_grad(ctx, gys).astype(ctx.x[0].dtype)]


@vjp_rule("Relu")
def _relu(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    return _unary(ctx, gys, (ctx.x[0] > 0).astype(ctx.x[0].dtype))


@vjp_rule("LeakyRelu")
def _leaky(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    alpha = ctx.attr("alpha", 0.01)
    return _unary(ctx, gys, np.where(ctx.x[0] > 0, 1.0, alpha).astype(ctx.x[0].dtype))


@vjp_rule("PRelu")
def _prelu(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    g = first_grad(ctx, gys)
    x, slope = ctx.x
    pos = x > 0
    dx = np.where(pos, g, g * slope)
    dslope = unbroadcast(np.where(pos, 0, g * x), np.shape(slope))
    return [dx, dslope]


@vjp_rule("Elu")
def _elu(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    alpha = ctx.attr("alpha", 1.0)
    x = ctx.x[0]
    return _unary(ctx, gys, np.where(x > 0, 1.0, ctx.y[0] + alpha).astype(x.dtype))


@vjp_rule("Selu")
def _selu(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    alpha = ctx.attr("alpha", 1.67326319217681884765625)
    gamma = ctx.attr("gamma", 1.05070102214813232421875)
    x = ctx.x[0]
    return _unary(ctx, gys, np.where(x > 0, gamma, gamma * alpha * np.exp(x)).astype(x.dtype))


@vjp_rule("Celu")
def _celu(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    alpha = ctx.attr("alpha", 1.0)
    x = ctx.x[0]
    return _unary(ctx, gys, np.where(x > 0, 1.0, np.exp(x / alpha)).astype(x.dtype))


@vjp_rule("Sigmoid")
def _sigmoid(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    y = ctx.y[0]
    return _unary(ctx, gys, y * (1 - y))


@vjp_rule("HardSigmoid")
def _hard_sigmoid(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    alpha, beta = ctx.attr("alpha", 0.2), ctx.attr("beta", 0.5)
    z = alpha * ctx.x[0] + beta
    return _unary(ctx, gys, np.where((z > 0) & (z < 1), alpha, 0.0).astype(ctx.x[0].dtype))


@vjp_rule("HardSwish")
def _hard_swish(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    x = ctx.x[0]
    d = np.where(x < -3, 0.0, np.where(x > 3, 1.0, x / 3 + 0.5))
    return _unary(ctx, gys, d.astype(x.dtype))


@vjp_rule("Tanh")
def _tanh(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    y = ctx.y[0]
    return _unary(ctx, gys, 1 - y * y)


@vjp_rule("Softplus")
def _softplus(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    x = ctx.x[0]
    return _unary(ctx, gys, 0.5 * (1 + np.tanh(0.5 * x)))  # the logistic, overflow-free


@vjp_rule("Softsign")
def _softsign(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    x = ctx.x[0]
    return _unary(ctx, gys, 1 / (1 + np.abs(x)) ** 2)


@vjp_rule("Mish")
def _mish(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    x = ctx.x[0]
    sp = np.logaddexp(0, x)
    t = np.tanh(sp)
    sig = 0.5 * (1 + np.tanh(0.5 * x))
    return _unary(ctx, gys, t + x * (1 - t * t) * sig)


@vjp_rule("Gelu")
def _gelu(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    x = ctx.x[0]
    if ctx.attr("approximate", "none") == "tanh":
        u = _SQRT_2_OVER_PI * (x + 0.044715 * x**3)
        t = np.tanh(u)
        du = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du
    else:
        cdf = 0.5 * (1 + _erf(x / math.sqrt(2.0)))
        d = cdf + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return _unary(ctx, gys, d.astype(x.dtype))


@vjp_rule("Clip")
def _clip(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    x = ctx.x[0]
    if ctx.opset < 11 or len(ctx.x) == 1:
        lo, hi = ctx.attr("min", -np.inf), ctx.attr("max", np.inf)
    else:
        lo = ctx.inp(1) if ctx.inp(1) is not None else -np.inf
        hi = ctx.inp(2) if ctx.inp(2) is not None else np.inf
    # Gradient passes where the input is strictly inside the range (TF's ReLU6 convention).
    inside = (x > lo) & (x < hi)
    return [first_grad(ctx, gys) * inside, None, None][: len(ctx.x)]


@vjp_rule("Where")
def _where(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    g = first_grad(ctx, gys)
    c, a, b = ctx.x
    return [
        None,
        unbroadcast(np.where(c, g, 0), np.shape(a)),
        unbroadcast(np.where(c, 0, g), np.shape(b)),
    ]


@vjp_rule("Shape", "Size", "ArgMax", "ArgMin", "Equal", "Less", "Greater", "LessOrEqual",
          "GreaterOrEqual", "Not", "And", "Or", "Xor", "NonZero", "IsNaN", "IsInf",
          "ConstantOfShape", "Range", "EyeLike", "RandomNormalLike", "RandomUniformLike")
def _no_grad(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    # Outputs are integers, booleans or independent of the input values.
    return [None] * len(ctx.x)
