"""Rules for convolutions (Conv, ConvTranspose, DepthwiseConv, SeparableConv) and EinsumDense.

ONNX convolutions are channels-first: a channels_last layer is lowered as
Transpose -> Conv -> Transpose, and onnxruntime's layout optimizer removes the pairs between
consecutive convolutions. Kernels stay in Keras's layout (spatial-first) and are transposed
by ONNX ops, which onnxruntime folds at session creation.
"""

from __future__ import annotations

import math
from typing import Any

from inspector.ir import Dim
from inspector.lowering.layers_core import fused_activation
from inspector.lowering.rules import LayerCall, NotLowered, rule


def tup(v: Any, n: int, name: str = "value") -> list[int]:
    """A Keras int-or-tuple argument as `n` ints."""
    if isinstance(v, int | float):
        return [int(v)] * n
    vals = [int(x) for x in v]
    if len(vals) == 1 and n > 1:
        vals = vals * n
    if len(vals) != n:
        raise NotLowered(f"{name} {v!r} does not have {n} entries")
    return vals


def channels_first(c: LayerCall) -> bool:
    return c.cfg("data_format", "channels_last") == "channels_first"


def to_first(c: LayerCall, x: str, rank: int) -> str:
    """x in NC... layout (a Transpose for channels_last)."""
    if channels_first(c):
        return x
    return c.b.op("Transpose", [x], c.name, perm=[0, rank - 1, *range(1, rank - 1)])


def to_last(c: LayerCall, x: str, rank: int) -> str:
    """Back from NC... to the layer's own layout."""
    if channels_first(c):
        return x
    return c.b.op("Transpose", [x], c.name, perm=[0, *range(2, rank), 1])


def spatial_dims(c: LayerCall, i: int = 0) -> list[Dim]:
    shape = c.in_shapes[i]
    if shape is None:
        raise NotLowered("the input's rank is unknown")
    return list(shape[2:]) if channels_first(c) else list(shape[1:-1])


def same_pads(sizes: list[Dim], kernel: list[int], strides: list[int], dilations: list[int]) -> list[int] | None:
    """ONNX pads (all begins, then all ends) for TF's 'same': the odd pixel goes at the end.
    None when a spatial size is unknown (then auto_pad SAME_UPPER, the same rule)."""
    begins, ends = [], []
    for n, k, s, d in zip(sizes, kernel, strides, dilations, strict=True):
        if not isinstance(n, int):
            return None
        total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
        begins.append(total // 2)
        ends.append(total - total // 2)
    return begins + ends


def conv_padding(c: LayerCall, kernel: list[int], strides: list[int], dilations: list[int]) -> dict[str, Any]:
    """Conv/Pool attributes for the layer's `padding` ('valid', 'same', 'causal')."""
    padding = str(c.cfg("padding", "valid")).lower()
    n = len(kernel)
    if padding == "valid":
        return {"pads": [0] * (2 * n)}
    if padding == "same":
        pads = same_pads(spatial_dims(c), kernel, strides, dilations)
        return {"auto_pad": "SAME_UPPER"} if pads is None else {"pads": pads}
    if padding == "causal" and n == 1:
        return {"pads": [(kernel[0] - 1) * dilations[0], 0]}
    raise NotLowered(f"padding {padding!r} is not lowered")


def _onnx_kernel(c: LayerCall, w: str, n: int) -> str:
    """(k..., in, out) -> (out, in, k...)."""
    return c.b.op("Transpose", [w], c.name, perm=[n + 1, n, *range(n)])


def _conv(c: LayerCall, x: str, w: str, bias: str | None, n: int, *, groups: int = 1,
          strides: list[int] | None = None, dilations: list[int] | None = None,
          padding: dict[str, Any] | None = None) -> str:
    kernel = tup(c.cfg("kernel_size", 1), n, "kernel_size")
    strides = strides or tup(c.cfg("strides", 1), n, "strides")
    dilations = dilations or tup(c.cfg("dilation_rate", 1), n, "dilation_rate")
    pad = padding if padding is not None else conv_padding(c, kernel, strides, dilations)
    ins = [x, w] + ([bias] if bias else [])
    return c.b.op("Conv", ins, c.name, kernel_shape=kernel, strides=strides, dilations=dilations,
                  group=groups, **pad)


def _bias(c: LayerCall) -> str | None:
    return c.weight("bias") if c.cfg("use_bias", True) and c.has_weight("bias") else None


@rule("Conv1D", "Conv2D", "Conv3D")
def conv(c: LayerCall) -> list[str]:
    rank = c.rank()
    n = rank - 2
    x = to_first(c, c.inputs[0], rank)
    w = _onnx_kernel(c, c.weight("kernel"), n)
    y = _conv(c, x, w, _bias(c), n, groups=int(c.cfg("groups", 1)))
    return [fused_activation(c, to_last(c, y, rank))]


def _depthwise_kernel(c: LayerCall, name: str, n: int) -> str:
    """(k..., in, mult) -> (in*mult, 1, k...): output channel in*mult + m, as Keras orders it."""
    kernel = tup(c.cfg("kernel_size", 1), n, "kernel_size")
    w = c.b.op("Reshape", [c.weight(name), c.b.ints([*kernel, 1, -1])], c.name)
    return _onnx_kernel(c, w, n)


def _channels(c: LayerCall) -> int:
    shape = c.in_shapes[0] or ()
    ch = shape[1] if channels_first(c) else shape[-1]
    if not isinstance(ch, int):
        raise NotLowered("the input's channel count is unknown")
    return ch


@rule("DepthwiseConv1D", "DepthwiseConv2D")
def depthwise_conv(c: LayerCall) -> list[str]:
    rank = c.rank()
    n = rank - 2
    x = to_first(c, c.inputs[0], rank)
    name = "kernel" if c.has_weight("kernel") else "depthwise_kernel"
    w = _depthwise_kernel(c, name, n)
    y = _conv(c, x, w, _bias(c), n, groups=_channels(c))
    return [fused_activation(c, to_last(c, y, rank))]


@rule("SeparableConv1D", "SeparableConv2D")
def separable_conv(c: LayerCall) -> list[str]:
    rank = c.rank()
    n = rank - 2
    x = to_first(c, c.inputs[0], rank)
    dw = _depthwise_kernel(c, "depthwise_kernel", n)
    y = _conv(c, x, dw, None, n, groups=_channels(c))
    pw = _onnx_kernel(c, c.weight("pointwise_kernel"), n)
    y = c.b.op("Conv", [y, pw] + ([_bias(c)] if _bias(c) else []), c.name, kernel_shape=[1] * n)
    return [fused_activation(c, to_last(c, y, rank))]


def _transpose_out_size(n: int, k: int, s: int, d: int, padding: str, out_pad: int | None) -> int:
    """keras.src.backend.common.backend_utils._get_output_shape_given_tf_padding."""
    dk = (k - 1) * d + 1
    if padding == "valid":
        out_pad = max(dk, s) - dk if out_pad is None else out_pad
        return (n - 1) * s + dk + out_pad
    if out_pad is None:
        return n * s
    return (n - 1) * s + dk % 2 + out_pad


@rule("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
def conv_transpose(c: LayerCall) -> list[str]:
    # TF computes the transpose as the gradient of a Conv whose output is this layer's input:
    # the full (n-1)*s + dk result is cropped by that Conv's 'same' pads (extra pixel at the
    # end), and zero-extended at the end when Keras asks for more (ONNX output_padding).
    rank = c.rank()
    n = rank - 2
    kernel = tup(c.cfg("kernel_size", 1), n, "kernel_size")
    strides = tup(c.cfg("strides", 1), n, "strides")
    dilations = tup(c.cfg("dilation_rate", 1), n, "dilation_rate")
    padding = str(c.cfg("padding", "valid")).lower()
    op = c.config.get("output_padding")
    out_pads = [None] * n if op is None else tup(op, n, "output_padding")
    begins, ends, extra = [], [], []
    for size, k, s, d, o in zip(spatial_dims(c), kernel, strides, dilations, out_pads, strict=True):
        if not isinstance(size, int):
            raise NotLowered("Conv transpose needs known spatial sizes")
        out = _transpose_out_size(size, k, s, d, padding, o)
        full = (size - 1) * s + (k - 1) * d + 1
        before = 0
        if padding == "same":
            before = max((math.ceil(out / s) - 1) * s + (k - 1) * d + 1 - out, 0) // 2
        end = full - out - before
        begins.append(before)
        ends.append(max(end, 0))
        extra.append(max(-end, 0))
    x = to_first(c, c.inputs[0], rank)
    # (k..., out, in) -> (in, out, k...)
    w = c.b.op("Transpose", [c.weight("kernel")], c.name, perm=[n + 1, n, *range(n)])
    b = _bias(c)
    y = c.b.op("ConvTranspose", [x, w] + ([b] if b else []), c.name, kernel_shape=kernel,
               strides=strides, dilations=dilations, pads=begins + ends,
               output_padding=extra if any(extra) else None)
    return [fused_activation(c, to_last(c, y, rank))]


@rule("EinsumDense")
def einsum_dense(c: LayerCall) -> list[str]:
    eq = str(c.cfg("equation", "")).replace(" ", "")
    if "->" not in eq:
        raise NotLowered(f"equation {eq!r} has no output")
    y = c.b.op("Einsum", [c.inputs[0], c.weight("kernel")], c.name, equation=eq)
    if c.cfg("bias_axes") and c.has_weight("bias"):
        # Keras shapes the bias like the output's trailing axes from the first bias axis on
        # (1 where an axis has no bias), so plain trailing broadcasting applies.
        y = c.b.op("Add", [y, c.weight("bias")], c.name)
    return [fused_activation(c, y)]


from inspector.lowering import ops_minimal_conv as _ops_minimal_conv  # noqa: E402,F401 - registers
