"""Rules for pooling layers: Max/Average 1D-3D and their Global forms, both data formats."""

from __future__ import annotations

from inspector.lowering.layers_conv import channels_first, conv_padding, to_first, to_last, tup
from inspector.lowering.rules import LayerCall, NotLowered, rule


@rule("MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
      "AveragePooling3D")
def pool(c: LayerCall) -> list[str]:
    rank = c.rank()
    n = rank - 2
    size = tup(c.cfg("pool_size", 2), n, "pool_size")
    strides = c.config.get("strides")
    strides = size if strides is None else tup(strides, n, "strides")
    pad = conv_padding(c, size, strides, [1] * n)
    x = to_first(c, c.inputs[0], rank)
    if c.cls.startswith("Max"):
        y = c.b.op("MaxPool", [x], c.name, kernel_shape=size, strides=strides, **pad)
    else:
        # TF averages over the window's valid pixels only under 'same'
        y = c.b.op("AveragePool", [x], c.name, kernel_shape=size, strides=strides,
                   count_include_pad=0, **pad)
    return [to_last(c, y, rank)]


@rule("GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
      "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D")
def global_pool(c: LayerCall) -> list[str]:
    rank = c.rank()
    axes = list(range(2, rank)) if channels_first(c) else list(range(1, rank - 1))
    if len(c.inputs) > 1:
        raise NotLowered("global pooling with a mask is not lowered")
    op = "ReduceMax" if "Max" in c.cls else "ReduceMean"
    keep = 1 if c.cfg("keepdims", False) else 0
    return [c.b.op(op, [c.inputs[0]], c.name, axes=axes, keepdims=keep)]
