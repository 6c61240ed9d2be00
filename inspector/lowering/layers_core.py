"""Rules for dense layers, activation layers, identity-at-inference layers, reshaping and merging."""

from __future__ import annotations

import numpy as np

from inspector.lowering.activations import SIMPLE, apply_activation, is_linear
from inspector.lowering.rules import LayerCall, NotLowered, rule


def fused_activation(c: LayerCall, y: str) -> str:
    """Apply the layer's `activation=`; the value before it becomes `<key>/preact`."""
    act = c.config.get("activation")
    if is_linear(act):
        return y
    c.preact = y
    return apply_activation(c.b, y, act, c.name)


@rule("Dense")
def dense(c: LayerCall) -> list[str]:
    y = c.b.op("MatMul", [c.inputs[0], c.weight("kernel")], c.name)
    if c.has_weight("bias"):
        y = c.b.op("Add", [y, c.weight("bias")], c.name)
    return [fused_activation(c, y)]


# --- layers that are the identity at inference (training=False) -----------------------------
@rule(
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Masking", "InputLayer",
    "Identity",
)
def identity(c: LayerCall) -> list[str]:
    if c.cls == "Masking":
        raise NotLowered("Masking changes later layers through its mask, which is not lowered")
    return [c.inputs[0]]


# --- activation layers ------------------------------------------------------------------------
@rule("Activation")
def activation(c: LayerCall) -> list[str]:
    return [apply_activation(c.b, c.inputs[0], c.config.get("activation"), c.name)]


@rule("ReLU")
def relu(c: LayerCall) -> list[str]:
    b, x = c.b, c.inputs[0]
    max_value = c.config.get("max_value")
    slope = float(c.cfg("negative_slope", 0.0))
    threshold = float(c.cfg("threshold", 0.0))
    if slope == 0.0 and threshold == 0.0:
        y = b.op("Relu", [x], c.name)
    else:
        # keras.src.activations.relu: x >= threshold -> x, else slope * (x - threshold)
        neg = b.op("Mul", [b.op("Sub", [x, b.const(np.float32(threshold))], c.name), b.const(np.float32(slope))], c.name)
        y = b.op("Where", [b.op("GreaterOrEqual", [x, b.const(np.float32(threshold))], c.name), x, neg], c.name)
    if max_value is not None:
        y = b.op("Min", [y, b.const(np.float32(max_value))], c.name)
    return [y]


@rule("LeakyReLU")
def leaky_relu(c: LayerCall) -> list[str]:
    slope = c.config.get("negative_slope", c.config.get("alpha", 0.3))
    return [c.b.op("LeakyRelu", [c.inputs[0]], c.name, alpha=float(slope))]


@rule("ELU")
def elu(c: LayerCall) -> list[str]:
    return [c.b.op("Elu", [c.inputs[0]], c.name, alpha=float(c.cfg("alpha", 1.0)))]


@rule("PReLU")
def prelu(c: LayerCall) -> list[str]:
    # Keras: relu(x) - alpha * relu(-x), alpha shaped like the input without the batch axis
    # (shared_axes collapsed to 1); ONNX PRelu broadcasts alpha the same way.
    return [c.b.op("PRelu", [c.inputs[0], c.weight("alpha")], c.name)]


@rule("Softmax")
def softmax(c: LayerCall) -> list[str]:
    axis = c.cfg("axis", -1)
    if isinstance(axis, list):
        if len(axis) != 1:
            raise NotLowered("Softmax over several axes is not lowered")
        axis = axis[0]
    return [c.b.op("Softmax", [c.inputs[0]], c.name, axis=int(axis))]


# --- reshaping ----------------------------------------------------------------------------------
@rule("Flatten")
def flatten(c: LayerCall) -> list[str]:
    x = c.inputs[0]
    if c.cfg("data_format", "channels_last") == "channels_first" and c.rank() > 2:
        perm = [0, *range(2, c.rank()), 1]
        x = c.b.op("Transpose", [x], c.name, perm=perm)
    return [c.b.op("Flatten", [x], c.name, axis=1)]


@rule("Reshape")
def reshape(c: LayerCall) -> list[str]:
    target = [int(d) for d in c.cfg("target_shape", [])]
    return [c.b.op("Reshape", [c.inputs[0], c.b.ints([0, *target])], c.name)]


@rule("Permute")
def permute(c: LayerCall) -> list[str]:
    dims = [int(d) for d in c.cfg("dims", [])]
    return [c.b.op("Transpose", [c.inputs[0]], c.name, perm=[0, *dims])]


@rule("RepeatVector")
def repeat_vector(c: LayerCall) -> list[str]:
    n = int(c.cfg("n", 1))
    x = c.b.op("Unsqueeze", [c.inputs[0], c.b.ints([1])], c.name)
    return [c.b.op("Tile", [x, c.b.ints([1, n, 1])], c.name)]


# --- merging ------------------------------------------------------------------------------------
def _fold(c: LayerCall, op: str) -> str:
    y = c.inputs[0]
    for x in c.inputs[1:]:
        y = c.b.op(op, [y, x], c.name)
    return y


@rule("Add")
def add(c: LayerCall) -> list[str]:
    return [_fold(c, "Add")]


@rule("Subtract")
def subtract(c: LayerCall) -> list[str]:
    if len(c.inputs) != 2:
        raise NotLowered("Subtract takes exactly two inputs")
    return [c.b.op("Sub", c.inputs, c.name)]


@rule("Multiply")
def multiply(c: LayerCall) -> list[str]:
    return [_fold(c, "Mul")]


@rule("Maximum")
def maximum(c: LayerCall) -> list[str]:
    return [c.b.op("Max", c.inputs, c.name)]


@rule("Minimum")
def minimum(c: LayerCall) -> list[str]:
    return [c.b.op("Min", c.inputs, c.name)]


@rule("Average")
def average(c: LayerCall) -> list[str]:
    return [c.b.op("Mul", [_fold(c, "Add"), c.b.const(np.float32(1.0 / len(c.inputs)))], c.name)]


@rule("Concatenate")
def concatenate(c: LayerCall) -> list[str]:
    return [c.b.op("Concat", c.inputs, c.name, axis=int(c.cfg("axis", -1)))]


@rule("Dot")
def dot(c: LayerCall) -> list[str]:
    axes = c.cfg("axes", -1)
    a, bb = c.inputs[0], c.inputs[1]
    ra, rb = c.rank(0), c.rank(1)
    ax = list(axes) if isinstance(axes, list) else [axes, axes]
    ax = [int(x) % r for x, r in zip(ax, (ra, rb), strict=True)]
    if c.cfg("normalize", False):
        a = c.b.op("LpNormalization", [a], c.name, axis=ax[0], p=2)
        bb = c.b.op("LpNormalization", [bb], c.name, axis=ax[1], p=2)
    if ra == 2 and rb == 2:
        y = c.b.op("ReduceSum", [c.b.op("Mul", [a, bb], c.name), c.b.ints([1])], c.name, keepdims=1)
        return [y]
    if ra != 3 or rb != 3:
        raise NotLowered("Dot is lowered for rank 2 and rank 3 inputs")
    # batch_dot on rank 3: contract axis ax[0] of a with ax[1] of b
    if ax[0] == 1:
        a = c.b.op("Transpose", [a], c.name, perm=[0, 2, 1])
    if ax[1] == 2:
        bb = c.b.op("Transpose", [bb], c.name, perm=[0, 2, 1])
    return [c.b.op("MatMul", [a, bb], c.name)]


# Activation layers named after their function (keras.layers.* classes with no config).
for _cls, _fn in (("Sigmoid", "sigmoid"), ("Tanh", "tanh")):
    if _fn in SIMPLE:
        rule(_cls)(lambda c, _f=_fn: [SIMPLE[_f](c.b, c.inputs[0], c.name)])
