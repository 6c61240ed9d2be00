"""VJP rules for ONNX matrix products, softmax and the normalisations."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inspector.autodiff.rules.registry import (
    Grad,
    NotDifferentiable,
    OpCtx,
    first_grad,
    norm_axis,
    unbroadcast,
    vjp_rule,
)


@vjp_rule("MatMul")
def _matmul(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    a, b = ctx.x
    g = first_grad(ctx, gys)
    if a.ndim >= 2 and b.ndim == 2:
        # Activations times a weight matrix (every dense layer): one 2-D product each way,
        # rather than a batched product summed over the batch afterwards.
        k, n = b.shape
        g2 = np.asarray(g).reshape(-1, n)
        return [(g2 @ b.T).reshape(a.shape), a.reshape(-1, k).T @ g2]
    # numpy/ONNX promote 1-D operands to matrices; undo that around the batch product.
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = np.asarray(g)
    if b.ndim == 1:
        g2 = g2[..., None]
    if a.ndim == 1:
        g2 = g2[..., None, :]
    da = g2 @ np.swapaxes(b2, -1, -2)
    db = np.swapaxes(a2, -1, -2) @ g2
    da = unbroadcast(da, a2.shape).reshape(a.shape)
    db = unbroadcast(db, b2.shape).reshape(b.shape)
    return [da, db]


@vjp_rule("Gemm")
def _gemm(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    a, b = ctx.x[0], ctx.x[1]
    c = ctx.inp(2)
    alpha, beta = ctx.attr("alpha", 1.0), ctx.attr("beta", 1.0)
    ta, tb = ctx.attr("transA", 0), ctx.attr("transB", 0)
    g = first_grad(ctx, gys)
    am = a.T if ta else a
    bm = b.T if tb else b
    dam = alpha * g @ bm.T
    dbm = alpha * am.T @ g
    out: list[Grad] = [dam.T if ta else dam, dbm.T if tb else dbm]
    if len(ctx.x) > 2:
        out.append(None if c is None else unbroadcast(beta * g, np.shape(c)))
    return out


def _softmax_axes(ctx: OpCtx, x: np.ndarray) -> tuple[np.ndarray, int]:
    """The input as the op sees it and the softmax axis; before opset 13 the input was
    coerced to 2-D at `axis` (default 1) and normalised over the flattened tail."""
    if ctx.opset < 13:
        axis = norm_axis(ctx.attr("axis", 1), x.ndim)
        lead = int(np.prod(x.shape[:axis]))
        return x.reshape(lead, -1), 1
    return x, norm_axis(ctx.attr("axis", -1), x.ndim)


@vjp_rule("Softmax")
def _softmax(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    x = ctx.x[0]
    y, axis = _softmax_axes(ctx, ctx.y[0])
    g, _ = _softmax_axes(ctx, first_grad(ctx, gys))
    dx = y * (g - (g * y).sum(axis=axis, keepdims=True))
    return [dx.reshape(x.shape)]


@vjp_rule("LogSoftmax")
def _log_softmax(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    x = ctx.x[0]
    y, axis = _softmax_axes(ctx, ctx.y[0])
    g, _ = _softmax_axes(ctx, first_grad(ctx, gys))
    dx = g - np.exp(y) * g.sum(axis=axis, keepdims=True)
    return [dx.reshape(x.shape)]


@vjp_rule("BatchNormalization")
def _batch_norm(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    if ctx.attr("training_mode", 0):
        raise NotDifferentiable("BatchNormalization in training mode has no gradient rule")
    x, scale, bias, mean, var = ctx.x[:5]
    eps = ctx.attr("epsilon", 1e-5)
    g = first_grad(ctx, gys)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    red = tuple(i for i in range(x.ndim) if i != 1)
    inv = 1.0 / np.sqrt(var + eps)
    xc = x - mean.reshape(shape)
    dscale = (g * xc).sum(axis=red) * inv
    dbias = g.sum(axis=red)
    dx = g * (scale * inv).reshape(shape)
    dmean = -dbias * scale * inv
    dvar = -0.5 * (g * xc).sum(axis=red) * scale * inv**3
    return [dx, dscale, dbias, dmean, dvar]


@vjp_rule("InstanceNormalization")
def _instance_norm(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    x, scale, bias = ctx.x
    eps = ctx.attr("epsilon", 1e-5)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    axes = tuple(range(2, x.ndim))
    dx, dxhat, xhat = _normalize_backward(x, axes, eps, first_grad(ctx, gys), scale.reshape(shape))
    red = (0,) + axes
    g = first_grad(ctx, gys)
    return [dx, (g * xhat).sum(axis=red), g.sum(axis=red)]


def _normalize_backward(
    x: np.ndarray, axes: tuple[int, ...], eps: float, g: np.ndarray, scale: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward of `(x - mean) / sqrt(var + eps) * scale` over `axes`: (dx, dxhat, xhat)."""
    mu = x.mean(axis=axes, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=axes, keepdims=True)
    inv = 1.0 / np.sqrt(var + eps)
    xhat = xc * inv
    dxhat = g * scale
    dx = inv * (
        dxhat
        - dxhat.mean(axis=axes, keepdims=True)
        - xhat * (dxhat * xhat).mean(axis=axes, keepdims=True)
    )
    return dx, dxhat, xhat


@vjp_rule("LayerNormalization")
def _layer_norm(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    x, scale = ctx.x[0], ctx.x[1]
    bias = ctx.inp(2)
    axis = norm_axis(ctx.attr("axis", -1), x.ndim)
    eps = ctx.attr("epsilon", 1e-5)
    axes = tuple(range(axis, x.ndim))
    g = first_grad(ctx, gys)
    dx, _, xhat = _normalize_backward(x, axes, eps, g, scale)
    dscale = unbroadcast(g * xhat, scale.shape)
    out: list[Grad] = [dx, dscale]
    if len(ctx.x) > 2:
        out.append(None if bias is None else unbroadcast(g, bias.shape))
    return out
