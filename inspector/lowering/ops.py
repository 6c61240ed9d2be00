"""Rules: ops, the keras.src.ops.* functional operations Keras 3 records in a config.

Their settings are in the node's config (axis, keepdims, ...) and their operands in the call's
args, where a non-tensor operand (the `1.0` of `x + 1.0`, a GetItem key) stays a plain value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from inspector.lowering.builder import ONNX_DTYPES
from inspector.lowering.rules import LayerCall, NotLowered, rule


def _operand(c: LayerCall, v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool | int | float):
        return c.b.const(np.float32(v))
    raise NotLowered(f"operand {v!r} is neither a tensor nor a number")


def _binary(onnx_op: str):
    def f(c: LayerCall) -> list[str]:
        args, kwargs = c.call_args()
        vals = [*args, *kwargs.values()][:2]
        if len(vals) != 2:
            raise NotLowered(f"{c.cls} expects two operands")
        return [c.b.op(onnx_op, [_operand(c, v) for v in vals], c.name)]

    return f


for _cls, _op in (
    ("Add", "Add"), ("Subtract", "Sub"), ("Multiply", "Mul"), ("Divide", "Div"),
    ("TrueDivide", "Div"), ("Matmul", "MatMul"), ("Maximum", "Max"), ("Minimum", "Min"),
    ("Power", "Pow"), ("Greater", "Greater"), ("Less", "Less"), ("Equal", "Equal"),
    ("GreaterEqual", "GreaterOrEqual"), ("LessEqual", "LessOrEqual"),
):
    rule(_cls, ops=True)(_binary(_op))

_UNARY = {
    "Sqrt": "Sqrt", "Exp": "Exp", "Log": "Log", "Absolute": "Abs", "Abs": "Abs",
    "Negative": "Neg", "Tanh": "Tanh", "Sigmoid": "Sigmoid", "Relu": "Relu", "Erf": "Erf",
    "Floor": "Floor", "Ceil": "Ceil", "Sin": "Sin", "Cos": "Cos", "Sign": "Sign",
    "Softplus": "Softplus", "Softsign": "Softsign", "Reciprocal": "Reciprocal",
}
for _cls, _op in _UNARY.items():
    rule(_cls, ops=True)(lambda c, _o=_op: [c.b.op(_o, [c.inputs[0]], c.name)])


@rule("Square", ops=True)
def square(c: LayerCall) -> list[str]:
    return [c.b.op("Mul", [c.inputs[0], c.inputs[0]], c.name)]


@rule("Rsqrt", ops=True)
def rsqrt(c: LayerCall) -> list[str]:
    return [c.b.op("Reciprocal", [c.b.op("Sqrt", [c.inputs[0]], c.name)], c.name)]


@rule("Silu", "Swish", ops=True)
def silu(c: LayerCall) -> list[str]:
    x = c.inputs[0]
    return [c.b.op("Mul", [x, c.b.op("Sigmoid", [x], c.name)], c.name)]


@rule("Gelu", ops=True)
def gelu(c: LayerCall) -> list[str]:
    b, x, h = c.b, c.inputs[0], c.name
    half = b.op("Mul", [x, b.const(np.float32(0.5))], h)
    if c.cfg("approximate", True):
        x3 = b.op("Mul", [b.op("Mul", [x, x], h), x], h)
        inner = b.op("Add", [x, b.op("Mul", [x3, b.const(np.float32(0.044715))], h)], h)
        t = b.op("Tanh", [b.op("Mul", [inner, b.const(np.float32(np.sqrt(2 / np.pi)))], h)], h)
    else:
        t = b.op("Erf", [b.op("Mul", [x, b.const(np.float32(1 / np.sqrt(2)))], h)], h)
    return [b.op("Mul", [half, b.op("Add", [t, b.const(np.float32(1.0))], h)], h)]


@rule("Softmax", "LogSoftmax", ops=True)
def softmax(c: LayerCall) -> list[str]:
    axis = c.cfg("axis", -1)
    if isinstance(axis, list | tuple):
        if len(axis) != 1:
            raise NotLowered("softmax over several axes")
        axis = axis[0]
    return [c.b.op(c.cls, [c.inputs[0]], c.name, axis=int(axis))]


@rule("Cast", ops=True)
def cast(c: LayerCall) -> list[str]:
    dtype = c.cfg("dtype")
    if isinstance(dtype, dict):
        dtype = (dtype.get("config") or {}).get("name")
    if dtype not in ONNX_DTYPES:
        raise NotLowered(f"cast to {dtype!r}")
    return [c.b.op("Cast", [c.inputs[0]], c.name, to=ONNX_DTYPES[dtype])]


@rule("Clip", ops=True)
def clip(c: LayerCall) -> list[str]:
    lo, hi = c.cfg("x_min"), c.cfg("x_max")
    return [c.b.op("Clip", [c.inputs[0], c.b.const(np.float32(lo)), c.b.const(np.float32(hi))], c.name)]


@rule("Where", ops=True)
def where(c: LayerCall) -> list[str]:
    args, _ = c.call_args()
    if len(args) != 3:
        raise NotLowered("where(condition) without x and y")
    cond = c.b.op("Cast", [args[0]], c.name, to=ONNX_DTYPES["bool"])
    return [c.b.op("Where", [cond, _operand(c, args[1]), _operand(c, args[2])], c.name)]


def _reduce(onnx_op: str):
    def f(c: LayerCall) -> list[str]:
        axis = c.config.get("axis")
        keep = int(bool(c.cfg("keepdims", False)))
        if c.config.get("initial") is not None:
            raise NotLowered("reductions with initial= are not lowered")
        axes = None if axis is None else [int(a) for a in (axis if isinstance(axis, list) else [axis])]
        if onnx_op == "ReduceSum":  # opset 17: ReduceSum alone takes axes as an input
            ins = [c.inputs[0]] + ([c.b.ints(axes)] if axes is not None else [])
            return [c.b.op(onnx_op, ins, c.name, keepdims=keep)]
        return [c.b.op(onnx_op, [c.inputs[0]], c.name, axes=axes, keepdims=keep)]

    return f


for _cls, _op in (("Mean", "ReduceMean"), ("Sum", "ReduceSum"), ("Max", "ReduceMax"),
                  ("Min", "ReduceMin"), ("Prod", "ReduceProd")):
    rule(_cls, ops=True)(_reduce(_op))


@rule("Concatenate", ops=True)
def concatenate(c: LayerCall) -> list[str]:
    return [c.b.op("Concat", c.inputs, c.name, axis=int(c.cfg("axis", 0)))]


@rule("Stack", ops=True)
def stack(c: LayerCall) -> list[str]:
    axis = int(c.cfg("axis", 0))
    parts = [c.b.op("Unsqueeze", [x, c.b.ints([axis])], c.name) for x in c.inputs]
    return [c.b.op("Concat", parts, c.name, axis=axis)]


@rule("Reshape", ops=True)
def reshape(c: LayerCall) -> list[str]:
    shape = [int(d) for d in c.cfg("newshape", [])]
    if 0 in shape:
        raise NotLowered("reshape to a zero-size axis")
    return [c.b.op("Reshape", [c.inputs[0], c.b.ints(shape)], c.name)]


@rule("Transpose", ops=True)
def transpose(c: LayerCall) -> list[str]:
    axes = c.config.get("axes")
    perm = None if axes is None else [int(a) % c.rank() for a in axes]
    return [c.b.op("Transpose", [c.inputs[0]], c.name, perm=perm)]


@rule("ExpandDims", ops=True)
def expand_dims(c: LayerCall) -> list[str]:
    axis = c.cfg("axis", 0)
    axes = axis if isinstance(axis, list) else [axis]
    return [c.b.op("Unsqueeze", [c.inputs[0], c.b.ints([int(a) for a in axes])], c.name)]


@rule("Squeeze", ops=True)
def squeeze(c: LayerCall) -> list[str]:
    axis = c.config.get("axis")
    if axis is None:
        return [c.b.op("Squeeze", [c.inputs[0]], c.name)]
    axes = axis if isinstance(axis, list) else [axis]
    return [c.b.op("Squeeze", [c.inputs[0], c.b.ints([int(a) for a in axes])], c.name)]


@rule("Einsum", ops=True)
def einsum(c: LayerCall) -> list[str]:
    return [c.b.op("Einsum", c.inputs, c.name, equation=str(c.cfg("subscripts")))]


@rule("Split", ops=True)
def split(c: LayerCall) -> list[str]:
    axis = int(c.cfg("axis", 0)) % c.rank()
    dim = c.in_shapes[0][axis] if c.in_shapes[0] else None
    if not isinstance(dim, int):
        raise NotLowered("split along an axis of unknown size")
    spec = c.cfg("indices_or_sections")
    bounds = [round(dim * k / spec) for k in range(spec + 1)] if isinstance(spec, int) else [0, *spec, dim]
    sizes = [bounds[k + 1] - bounds[k] for k in range(len(bounds) - 1)]
    return c.b.op("Split", [c.inputs[0], c.b.ints(sizes)], c.name, n_out=len(sizes), axis=axis)


@rule("GetItem", ops=True)
def get_item(c: LayerCall) -> list[str]:
    args, _ = c.call_args()
    key = args[1] if len(args) > 1 else None
    items = key if isinstance(key, list) else [key]
    r = c.rank()
    n_real = sum(1 for k in items if k is not None and not _is(k, "__ellipsis__"))
    expanded: list[Any] = []
    for k in items:
        if _is(k, "__ellipsis__"):
            expanded += [{"class_name": "__slice__", "config": {}}] * (r - n_real)
        else:
            expanded.append(k)
    b, x = c.b, c.inputs[0]
    starts, ends, axes, steps, drop, new = [], [], [], [], [], []
    in_axis = out_axis = 0
    for k in expanded:
        if k is None:
            new.append(out_axis)
            out_axis += 1
        elif isinstance(k, int):
            starts.append(k)
            ends.append(k + 1 if k != -1 else 2**62)
            axes.append(in_axis)
            steps.append(1)
            drop.append(in_axis)
            in_axis += 1
        elif _is(k, "__slice__"):
            cfg = k.get("config") or {}
            step = cfg.get("step") or 1
            start = cfg.get("start")
            stop = cfg.get("stop")
            if any(isinstance(v, str) for v in (start, stop, step)):
                raise NotLowered("slice bounds that are tensors")
            if (start, stop, step) != (None, None, 1):
                starts.append(start if start is not None else (0 if step > 0 else -1))
                ends.append(stop if stop is not None else (2**62 if step > 0 else -(2**62)))
                axes.append(in_axis)
                steps.append(step)
            in_axis += 1
            out_axis += 1
        else:
            raise NotLowered(f"GetItem key {k!r}")
    if axes:
        x = b.op("Slice", [x, b.ints(starts), b.ints(ends), b.ints(axes), b.ints(steps)], c.name)
    if drop:
        x = b.op("Squeeze", [x, b.ints(drop)], c.name)
    if new:
        x = b.op("Unsqueeze", [x, b.ints(new)], c.name)
    return [x if x != c.inputs[0] else b.op("Identity", [x], c.name)]


def _is(k: Any, cls: str) -> bool:
    return isinstance(k, dict) and k.get("class_name") == cls
