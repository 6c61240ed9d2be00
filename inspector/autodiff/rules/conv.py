"""VJP rules for ONNX convolutions and pooling, any number of spatial dims.

Windows are gathered with one strided slice per kernel offset (K slices of the padded
input), so the heavy work is a few batched matrix products: fast enough for MobileNetV2.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from inspector.autodiff.rules.registry import (
    Grad,
    NotDifferentiable,
    OpCtx,
    first_grad,
    vjp_rule,
)


def _geometry(
    ctx: OpCtx, in_sp: tuple[int, ...], out_sp: tuple[int, ...], kernel: tuple[int, ...]
) -> tuple[list[int], list[int], list[int], list[int]]:
    """Strides, dilations, begin pads and end pads for a sliding window op."""
    n = len(in_sp)
    strides = list(ctx.attr("strides") or [1] * n)
    dil = list(ctx.attr("dilations") or [1] * n)
    auto = ctx.attr("auto_pad", "NOTSET")
    if isinstance(auto, bytes):
        auto = auto.decode()
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        begin, end = [], []
        for i in range(n):
            total = max(0, (out_sp[i] - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1 - in_sp[i])
            small = total // 2
            b = small if auto == "SAME_UPPER" else total - small
            begin.append(b)
            end.append(total - b)
    elif auto == "VALID":
        begin, end = [0] * n, [0] * n
    else:
        pads = list(ctx.attr("pads") or [0] * (2 * n))
        begin, end = pads[:n], pads[n:]
    # ceil_mode pools can place a last window past the end pad: widen so every window fits.
    for i in range(n):
        need = (out_sp[i] - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1
        end[i] = max(end[i], need - in_sp[i] - begin[i])
    return strides, dil, begin, end


def _windows(
    xp: np.ndarray, kernel: Sequence[int], strides: Sequence[int], dil: Sequence[int],
    out_sp: Sequence[int],
) -> list[tuple[slice, ...]]:
    """For each kernel offset, the spatial slices of the padded input it reads."""
    lead = (slice(None), slice(None))
    out = []
    for off in itertools.product(*(range(k) for k in kernel)):
        sl = tuple(
            slice(o * d, o * d + (n - 1) * s + 1, s)
            for o, d, n, s in zip(off, dil, out_sp, strides, strict=True)
        )
        out.append(lead + sl)
    return out


def _pad(x: np.ndarray, begin: Sequence[int], end: Sequence[int], value: float) -> np.ndarray:
    widths = [(0, 0), (0, 0)] + [(max(b, 0), max(e, 0)) for b, e in zip(begin, end, strict=True)]
    return np.pad(x, widths, constant_values=value)


def _unpad(xp: np.ndarray, begin: Sequence[int], shape: tuple[int, ...]) -> np.ndarray:
    sl = (slice(None), slice(None)) + tuple(
        slice(max(b, 0), max(b, 0) + n) for b, n in zip(begin, shape[2:], strict=True)
    )
    return xp[sl]


@vjp_rule("Conv")
def _conv(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    x, w = ctx.x[0], ctx.x[1]
    g = first_grad(ctx, gys)
    if min(ctx.attr("pads") or [0]) < 0:
        raise NotDifferentiable("Conv with negative pads has no gradient rule")
    groups = int(ctx.attr("group", 1))
    n, c = x.shape[:2]
    m, cg = w.shape[:2]
    kernel = w.shape[2:]
    out_sp = g.shape[2:]
    strides, dil, begin, end = _geometry(ctx, x.shape[2:], out_sp, kernel)
    xp = _pad(x, begin, end, 0.0)
    wins = _windows(xp, kernel, strides, dil, out_sp)
    k, p, mg = len(wins), int(np.prod(out_sp)), m // groups
    if cg == 1 and mg == 1:
        # Depthwise: G tiny matmuls are slow; per kernel offset it is element-wise work.
        wk = w.reshape(m, k)
        dw = np.empty_like(wk)
        dxp = np.zeros_like(xp)
        red = (0, *range(2, g.ndim))
        bshape = (1, m) + (1,) * len(out_sp)
        for i, s in enumerate(wins):
            dw[:, i] = (g * xp[s]).sum(axis=red)
            dxp[s] += g * wk[:, i].reshape(bshape)
        return [_unpad(dxp, begin, x.shape), dw.reshape(w.shape), *_bias_grad(ctx, g)]
    if groups == 1 and k == 1 and max(begin + end) == 0 and max(dil) == 1:
        return [*_pointwise(x, w, g, strides), *_bias_grad(ctx, g)]
    # cols: (G, Cg*K, N*P) in the weight's (c, kernel...) order so dW is one batched matmul.
    cols = np.stack([xp[s] for s in wins], axis=0)  # (K, N, C, *out)
    cols = cols.reshape(k, n, groups, cg, p).transpose(2, 3, 0, 1, 4).reshape(groups, cg * k, n * p)
    gy = g.reshape(n, groups, mg, p).transpose(1, 2, 0, 3).reshape(groups, mg, n * p)
    wg = w.reshape(groups, mg, cg * k)
    # One 2-D product per group: numpy's batched matmul skips BLAS on transposed operands.
    dw = np.stack([gy[i] @ cols[i].T for i in range(groups)]).reshape(w.shape)
    dcols = np.stack([wg[i].T @ gy[i] for i in range(groups)]).reshape(
        groups, cg, k, n, *out_sp
    )
    dxp = np.zeros_like(xp)
    for i, s in enumerate(wins):
        dxp[s] += dcols[:, :, i].transpose(2, 0, 1, *range(3, 3 + len(out_sp))).reshape(
            n, c, *out_sp
        )
    return [_unpad(dxp, begin, x.shape), dw, *_bias_grad(ctx, g)]


def _bias_grad(ctx: OpCtx, g: np.ndarray) -> list[Grad]:
    """The bias input's gradient (sum over batch and space) when the node has that slot."""
    if len(ctx.x) <= 2:
        return []
    return [g.sum(axis=(0, *range(2, g.ndim))) if ctx.x[2] is not None else None]


def _pointwise(x: np.ndarray, w: np.ndarray, g: np.ndarray,
               strides: Sequence[int]) -> list[Grad]:
    """A 1x1 convolution (any stride, no pad) is a matrix product per example: no window
    copies (ResNet50: 36 of its 53 convolutions)."""
    n, c = x.shape[:2]
    m = w.shape[0]
    sl = (slice(None), slice(None)) + tuple(slice(None, None, s) for s in strides)
    xs = x[sl][(slice(None), slice(None)) + tuple(slice(0, d) for d in g.shape[2:])]
    p = int(np.prod(g.shape[2:]))
    gy = g.reshape(n, m, p)
    xm = np.ascontiguousarray(xs).reshape(n, c, p)
    wm = w.reshape(m, c)
    dw = sum(gy[i] @ xm[i].T for i in range(n)).reshape(w.shape)
    dxs = np.stack([wm.T @ gy[i] for i in range(n)]).reshape(xs.shape)
    if all(s == 1 for s in strides) and xs.shape == x.shape:
        dx = dxs
    else:
        dx = np.zeros_like(x)
        dx[sl][(slice(None), slice(None)) + tuple(slice(0, d) for d in g.shape[2:])] = dxs
    return [dx, dw]


@vjp_rule("ConvTranspose")
def _conv_transpose(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    x, w = ctx.x[0], ctx.x[1]
    g = first_grad(ctx, gys)
    auto = ctx.attr("auto_pad", "NOTSET")
    if ctx.attr("output_shape") or auto not in ("NOTSET", b"NOTSET", "VALID", b"VALID"):
        raise NotDifferentiable("ConvTranspose with output_shape or auto_pad has no rule")
    groups = int(ctx.attr("group", 1))
    n, c = x.shape[:2]
    mg = w.shape[1]
    cg = c // groups
    kernel, in_sp = w.shape[2:], x.shape[2:]
    nd = len(in_sp)
    strides = list(ctx.attr("strides") or [1] * nd)
    dil = list(ctx.attr("dilations") or [1] * nd)
    pads = list(ctx.attr("pads") or [0] * (2 * nd))
    if auto in ("VALID", b"VALID"):
        pads = [0] * (2 * nd)
    full = [(i - 1) * s + (kk - 1) * d + 1 for i, s, kk, d in zip(in_sp, strides, kernel, dil,
                                                               strict=True)]
    # The gradient of the uncropped output: the output is full[pads_begin:...] (+ output_padding).
    gp = np.zeros((n, g.shape[1], *full), dtype=g.dtype)
    dst, src = [], []
    for a in range(nd):
        b = pads[a]
        hi = min(full[a], b + g.shape[2 + a])
        dst.append(slice(b, hi))
        src.append(slice(0, hi - b))
    gp[(slice(None), slice(None), *dst)] = g[(slice(None), slice(None), *src)]
    wins = _windows(gp, kernel, strides, dil, in_sp)
    k, p = len(wins), int(np.prod(in_sp))
    cols = np.stack([gp[s] for s in wins], axis=0)  # (K, N, M, *in)
    cols = cols.reshape(k, n, groups, mg, p).transpose(2, 3, 0, 1, 4).reshape(groups, mg * k, n * p)
    xg = x.reshape(n, groups, cg, p).transpose(1, 2, 0, 3).reshape(groups, cg, n * p)
    dw = np.stack([xg[i] @ cols[i].T for i in range(groups)]).reshape(w.shape)
    wg = w.reshape(groups, cg, mg * k)
    dx = np.stack([wg[i] @ cols[i] for i in range(groups)])
    dx = dx.reshape(groups, cg, n, p).transpose(2, 0, 1, 3).reshape(x.shape)
    return [dx, dw, *_bias_grad(ctx, g)]


@vjp_rule("MaxPool")
def _max_pool(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    x = ctx.x[0]
    g = first_grad(ctx, gys)
    kernel = tuple(ctx.attr("kernel_shape"))
    out_sp = g.shape[2:]
    strides, dil, begin, end = _geometry(ctx, x.shape[2:], out_sp, kernel)
    xp = _pad(x, begin, end, -np.inf)
    y = ctx.y[0]
    dxp = np.zeros_like(xp)
    taken = np.zeros(y.shape, dtype=bool)
    # Each window's gradient goes to its first maximum, as onnxruntime's Indices output does.
    for s in _windows(xp, kernel, strides, dil, out_sp):
        hit = (xp[s] == y) & ~taken
        taken |= hit
        dxp[s] += np.where(hit, g, 0)
    return [_unpad(dxp, begin, x.shape)]


@vjp_rule("AveragePool")
def _avg_pool(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    x = ctx.x[0]
    g = first_grad(ctx, gys)
    kernel = tuple(ctx.attr("kernel_shape"))
    out_sp = g.shape[2:]
    strides, dil, begin, end = _geometry(ctx, x.shape[2:], out_sp, kernel)
    nd = len(out_sp)
    explicit = list(ctx.attr("pads") or [0] * (2 * nd))
    ones = np.ones((1, 1, *x.shape[2:]), dtype=x.dtype)
    if ctx.attr("count_include_pad", 0):
        # Pads count, but not the overhang a ceil_mode window adds past them.
        inner = _pad(ones, begin, explicit[nd:], 1.0)
        mask = _pad(inner, [0] * nd, [e - p for e, p in zip(end, explicit[nd:], strict=True)], 0.0)
    else:
        mask = _pad(ones, begin, end, 0.0)
    wins = _windows(mask, kernel, strides, dil, out_sp)
    count = sum(mask[s] for s in wins)
    gd = g / np.maximum(count, 1)
    dxp = np.zeros((x.shape[0], x.shape[1], *mask.shape[2:]), dtype=x.dtype)
    for s in wins:
        dxp[s] += gd
    return [_unpad(dxp, begin, x.shape)]


@vjp_rule("GlobalAveragePool")
def _global_avg(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    x = ctx.x[0]
    size = int(np.prod(x.shape[2:]))
    return [np.broadcast_to(first_grad(ctx, gys) / size, x.shape).copy()]


@vjp_rule("GlobalMaxPool")
def _global_max(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    x = ctx.x[0]
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    idx = flat.argmax(axis=-1)
    d = np.zeros_like(flat)
    np.put_along_axis(d, idx[..., None], first_grad(ctx, gys).reshape(idx.shape + (1,)), -1)
    return [d.reshape(x.shape)]
