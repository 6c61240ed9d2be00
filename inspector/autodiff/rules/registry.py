"""The vector-Jacobian-product rule registry shared by the ONNX backward engine.

An op rule takes an `OpCtx` (the node's attributes and its forward inputs and outputs) and the
gradients arriving at its outputs, and returns one gradient per input (None where no
gradient flows: shapes, axes, indices, integer tensors). Rules are plain numpy.

A subgraph rule (If, Loop, Scan) sees the whole node instead, with every forward value and the
model's `GraphEnv`, because it must re-run and differentiate the node's bodies; it returns
{input or outer-scope name: gradient}. Both kinds register here by op type, so the sweep looks
every op up the same way and never names a control-flow op itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Grad = np.ndarray | None


class NotDifferentiable(Exception):
    """A node has no gradient rule for this op or these attributes; the message says why."""


@dataclass
class OpCtx:
    """One node as a rule sees it: op type, attributes (plain Python values), forward
    inputs and outputs (None for an omitted optional), and the model's default-domain opset."""

    op_type: str
    attrs: dict[str, Any] = field(default_factory=dict)
    x: list[np.ndarray | None] = field(default_factory=list)
    y: list[np.ndarray | None] = field(default_factory=list)
    opset: int = 17
    #: The onnx NodeProto, for rules that re-run the op itself (data-movement ops).
    node: Any = None

    def attr(self, name: str, default: Any = None) -> Any:
        """Attribute `name`, or `default` when the node does not set it."""
        return self.attrs.get(name, default)

    def inp(self, i: int) -> np.ndarray | None:
        """Forward input `i`, or None when omitted."""
        return self.x[i] if i < len(self.x) else None

    def ints_input_or_attr(self, i: int, name: str) -> list[int] | None:
        """A list of ints given as attribute `name` (old opsets) or as input `i` (new ones)."""
        if name in self.attrs and self.attrs[name] is not None:
            return [int(v) for v in self.attrs[name]]
        v = self.inp(i)
        if v is None:
            return None
        return [int(t) for t in np.asarray(v).reshape(-1)]


Rule = Callable[[OpCtx, Sequence[Grad]], list[Grad]]
RULES: dict[str, Rule] = {}
#: (node proto, forward values, output gradients, GraphEnv) -> {name: gradient}.
SubgraphRule = Callable[[Any, Mapping[str, Any], Sequence[Grad], Any], dict[str, np.ndarray]]
SUBGRAPH_RULES: dict[str, SubgraphRule] = {}


def vjp_rule(*op_types: str) -> Callable[[Rule], Rule]:
    """Register a rule for one or more op types of the default ONNX domain."""

    def deco(fn: Rule) -> Rule:
        for op in op_types:
            RULES[op] = fn
        return fn

    return deco


def subgraph_rule(*op_types: str) -> Callable[[SubgraphRule], SubgraphRule]:
    """Register a rule for an op with bodies (If, Loop, Scan) of the default ONNX domain."""

    def deco(fn: SubgraphRule) -> SubgraphRule:
        for op in op_types:
            SUBGRAPH_RULES[op] = fn
        return fn

    return deco


def is_float(a: np.ndarray | None) -> bool:
    """Whether a gradient can flow through this array (a floating dtype)."""
    return a is not None and np.issubdtype(np.asarray(a).dtype, np.floating)


def unbroadcast(g: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Sum a gradient of a broadcast result back down to an operand's `shape`."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, d in enumerate(shape) if d == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def like(g: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """`g` in the dtype of `ref`, so float64 models stay float64 and float32 stay float32."""
    return np.asarray(g, dtype=ref.dtype) if is_float(ref) else np.asarray(g)


def first_grad(ctx: OpCtx, gys: Sequence[Grad], i: int = 0) -> np.ndarray:
    """The gradient of output `i`, zeros when none arrived (multi-output ops)."""
    g = gys[i] if i < len(gys) else None
    if g is None:
        y = ctx.y[i]
        if y is None:
            raise NotDifferentiable("an output has neither a value nor a gradient")
        return np.zeros_like(y)
    return g


def norm_axis(axis: int, rank: int) -> int:
    """A possibly negative axis as a non-negative index."""
    return axis + rank if axis < 0 else axis


def backward_node(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    """Gradients for every input of one node, given gradients at its outputs."""
    rule = RULES.get(ctx.op_type)
    if rule is None:
        raise NotDifferentiable(f"no gradient rule for {ctx.op_type}")
    grads = rule(ctx, gys)
    out: list[Grad] = []
    for i, xi in enumerate(ctx.x):
        g = grads[i] if i < len(grads) else None
        if g is None or not is_float(xi):
            out.append(None)
            continue
        g = np.asarray(g)
        if g.shape != np.shape(xi):  # a rule bug must not silently corrupt accumulation
            raise NotDifferentiable(
                f"{ctx.op_type}: gradient shape {g.shape} does not match input {np.shape(xi)}"
            )
        out.append(like(g, xi))
    return out
