"""Rules for normalization layers (Batch, Layer, Group, RMS, Unit), the Normalization and
Rescaling preprocessing layers, and ConvNeXt's LayerScale.

Formulas follow keras.src.ops.nn and the layers' `call` (Keras 3), including their order of
operations (`x * inv + (beta - mean * inv)`), so results agree to float32 rounding.
"""

from __future__ import annotations

import numpy as np

from inspector.lowering.rules import LayerCall, NotLowered, rule

KERAS_EPSILON = 1e-7  # keras.backend.epsilon()


def _axes(c: LayerCall, default: int | list[int] = -1) -> list[int]:
    axis = c.config.get("axis", default)
    axis = [axis] if isinstance(axis, int) else list(axis)
    r = c.rank()
    return sorted(int(a) % r for a in axis)


def _nth(c: LayerCall, names: tuple[str, ...], i: int) -> str:
    """A weight by its name in either layout, else by position: `.keras` files name the
    variables of layers without a known variable list `var_<i>`, and legacy `.h5` files
    name an unnamed `add_weight` "variable" (ConvNeXt's LayerScale)."""
    for n in (*names, f"var_{i}"):
        if c.has_weight(n):
            return c.weight(n)
    if i < len(c.node.weights):
        return c.weight(c.node.weights[i].name)
    raise NotLowered(f"weight {names[0]!r} is missing from the file")


def _broadcast(c: LayerCall, w: str, axes: list[int]) -> str:
    """Reshape a per-`axes` weight so it broadcasts against the input."""
    r = c.rank()
    if axes == [r - 1]:
        return w
    shape = c.in_shapes[0] or ()
    dims = []
    for i in range(r):
        if i in axes:
            d = shape[i]
            if not isinstance(d, int):
                raise NotLowered("a normalized axis has an unknown size")
            dims.append(d)
        else:
            dims.append(1)
    return c.b.op("Reshape", [w, c.b.ints(dims)], c.name)


def _rsqrt(c: LayerCall, v: str, eps: float) -> str:
    s = c.b.op("Sqrt", [c.b.op("Add", [v, c.b.const(np.float32(eps))], c.name)], c.name)
    return c.b.op("Reciprocal", [s], c.name)


def _moments(c: LayerCall, x: str, axes: list[int]) -> tuple[str, str]:
    """Mean and (biased) variance over `axes`, kept as size-1 axes, as ops.moments."""
    b = c.b
    mean = b.op("ReduceMean", [x], c.name, axes=axes, keepdims=1)
    d = b.op("Sub", [x, mean], c.name)
    var = b.op("ReduceMean", [b.op("Mul", [d, d], c.name)], c.name, axes=axes, keepdims=1)
    return mean, var


def _scale_shift(c: LayerCall, x: str, mean: str, inv: str, gamma: str | None, beta: str | None) -> str:
    b = c.b
    if gamma is not None:
        inv = b.op("Mul", [inv, gamma], c.name)
    res = b.op("Neg", [b.op("Mul", [mean, inv], c.name)], c.name)
    if beta is not None:
        res = b.op("Add", [res, beta], c.name)
    return b.op("Add", [b.op("Mul", [x, inv], c.name), res], c.name)


@rule("BatchNormalization")
def batch_norm(c: LayerCall) -> list[str]:
    axes = _axes(c)
    eps = float(c.cfg("epsilon", 1e-3))
    mean = _broadcast(c, c.weight("moving_mean"), axes)
    var = _broadcast(c, c.weight("moving_variance"), axes)
    gamma = _broadcast(c, c.weight("gamma"), axes) if c.cfg("scale", True) else None
    beta = _broadcast(c, c.weight("beta"), axes) if c.cfg("center", True) else None
    return [_scale_shift(c, c.inputs[0], mean, _rsqrt(c, var, eps), gamma, beta)]


@rule("LayerNormalization")
def layer_norm(c: LayerCall) -> list[str]:
    axes = _axes(c)
    eps = float(c.cfg("epsilon", 1e-3))
    x = c.inputs[0]
    rms = bool(c.cfg("rms_scaling", False))
    scale = bool(c.cfg("scale", True))
    # Keras builds no beta under rms_scaling, so `.keras` names the lone weight var_0.
    gamma = _broadcast(c, _nth(c, ("gamma",), 0), axes) if scale else None
    beta = None
    if c.cfg("center", True) and not rms:
        beta = _broadcast(c, _nth(c, ("beta",), int(scale)), axes)
    mean, var = _moments(c, x, axes)
    inv = _rsqrt(c, var, eps)
    if rms:
        # Keras's rms_scaling divides by the centred variance and adds no beta.
        y = c.b.op("Mul", [x, inv], c.name)
        return [c.b.op("Mul", [y, gamma], c.name) if gamma is not None else y]
    return [_scale_shift(c, x, mean, inv, gamma, beta)]


@rule("RMSNormalization")
def rms_norm(c: LayerCall) -> list[str]:
    axes = _axes(c)
    eps = float(c.cfg("epsilon", KERAS_EPSILON))
    x, b = c.inputs[0], c.b
    ms = b.op("ReduceMean", [b.op("Mul", [x, x], c.name)], c.name, axes=axes, keepdims=1)
    y = b.op("Mul", [x, _rsqrt(c, ms, eps)], c.name)
    return [b.op("Mul", [y, _broadcast(c, _nth(c, ("scale",), 0), axes)], c.name)]


@rule("GroupNormalization")
def group_norm(c: LayerCall) -> list[str]:
    r = c.rank()
    axis = int(c.cfg("axis", -1)) % r
    groups = int(c.cfg("groups", 32))
    eps = float(c.cfg("epsilon", 1e-3))
    shape = c.in_shapes[0] or ()
    if any(not isinstance(d, int) for d in shape[1:]):
        raise NotLowered("GroupNormalization needs known non-batch sizes")
    ch = int(shape[axis])
    grouped = [int(d) for d in shape[1:]]
    grouped[axis - 1] = ch // groups
    grouped.insert(axis - 1, groups)
    b = c.b
    x = b.op("Reshape", [c.inputs[0], b.ints([-1, *grouped])], c.name)
    red = [i for i in range(1, r + 1) if i != axis]  # every axis but batch and the group axis
    mean, var = _moments(c, x, red)
    bshape = [1] * (r + 1)
    bshape[axis], bshape[axis + 1] = groups, ch // groups
    gamma = b.op("Reshape", [c.weight("gamma"), b.ints(bshape)], c.name) if c.cfg("scale", True) else None
    beta = b.op("Reshape", [c.weight("beta"), b.ints(bshape)], c.name) if c.cfg("center", True) else None
    y = _scale_shift(c, x, mean, _rsqrt(c, var, eps), gamma, beta)
    return [b.op("Reshape", [y, b.ints([-1, *[int(d) for d in shape[1:]]])], c.name)]


@rule("UnitNormalization")
def unit_norm(c: LayerCall) -> list[str]:
    # ops.normalize(order=2, epsilon=1e-12): x * min(rsqrt(sum(x^2)), 1/eps)
    x, b = c.inputs[0], c.b
    ss = b.op("ReduceSum", [b.op("Mul", [x, x], c.name), b.ints(_axes(c))], c.name, keepdims=1)
    inv = b.op("Reciprocal", [b.op("Sqrt", [ss], c.name)], c.name)
    inv = b.op("Min", [inv, b.const(np.float32(1e12))], c.name)
    return [b.op("Mul", [x, inv], c.name)]


@rule("Normalization")
def normalization(c: LayerCall) -> list[str]:
    r = c.rank()
    keep = _axes(c)
    shape = c.in_shapes[0] or ()
    bshape = []
    for i in range(r):
        d = shape[i] if i in keep else 1
        if not isinstance(d, int):
            raise NotLowered("a kept axis has an unknown size")
        bshape.append(int(d))
    b = c.b
    if c.config.get("mean") is not None:
        # given in the config: broadcast to the kept axes (aligned from the right)
        mean_v, var_v = np.asarray(c.config["mean"], np.float32), np.asarray(c.config["variance"], np.float32)
        expanded = [1] * r
        for i in range(1, mean_v.ndim + 1):
            expanded[keep[-i]] = mean_v.shape[-i]
        mean = b.const(np.broadcast_to(mean_v.reshape(expanded), bshape), c.name)
        var = b.const(np.broadcast_to(var_v.reshape(expanded), bshape), c.name)
    else:
        mean = b.op("Reshape", [_nth(c, ("mean",), 0), b.ints(bshape)], c.name)
        var = b.op("Reshape", [_nth(c, ("variance",), 1), b.ints(bshape)], c.name)
    std = b.op("Max", [b.op("Sqrt", [var], c.name), b.const(np.float32(KERAS_EPSILON))], c.name)
    x = c.inputs[0]
    if c.cfg("invert", False):
        return [b.op("Add", [mean, b.op("Mul", [x, std], c.name)], c.name)]
    return [b.op("Div", [b.op("Sub", [x, mean], c.name), std], c.name)]


@rule("Rescaling")
def rescaling(c: LayerCall) -> list[str]:
    # x * scale + offset; a list broadcasts against the trailing (channel) axis
    b = c.b
    scale, offset = c.cfg("scale", 1.0), c.cfg("offset", 0.0)
    if isinstance(scale, dict) or isinstance(offset, dict):
        raise NotLowered("Rescaling with a serialized tensor scale is not lowered")
    y = b.op("Mul", [c.inputs[0], b.const(np.asarray(scale, np.float32), c.name)], c.name)
    return [b.op("Add", [y, b.const(np.asarray(offset, np.float32), c.name)], c.name)]


@rule("LayerScale")
def layer_scale(c: LayerCall) -> list[str]:
    # keras.src.applications.convnext.LayerScale: x * gamma (gamma over the channel axis)
    return [c.b.op("Mul", [c.inputs[0], _nth(c, ("gamma",), 0)], c.name)]
