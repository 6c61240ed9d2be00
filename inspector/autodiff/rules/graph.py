"""Backward passes over ONNX graphs: one node's gradients, and a whole (sub)graph's sweep.

`node_vjp` returns gradients for a node's inputs and, for If/Loop/Scan, also for the
outer-scope values their bodies read (weights used inside a recurrent body). `backprop_graph`
runs the reverse sweep over a body's nodes given every forward value; the subgraph rules
(`control`, `scan`) call it once per branch or iteration, so nested control flow recurses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from inspector.autodiff.rules.registry import (
    SUBGRAPH_RULES,
    NotDifferentiable,
    OpCtx,
    backward_node,
)


@dataclass(frozen=True)
class GraphEnv:
    """What re-running a body needs from its model: opsets, IR version and a cancel check."""

    opset: int
    opset_imports: tuple[Any, ...] = ()
    ir_version: int = 8
    check: Callable[[], None] | None = None
    #: Values the engine holds as float32 though the model computed them in float16.
    widened: frozenset[str] = frozenset()


def env_of(proto: Any, check: Callable[[], None] | None = None,
           widened: Iterable[str] = ()) -> GraphEnv:
    """The `GraphEnv` of an onnx ModelProto."""
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 13)
    return GraphEnv(opset, tuple(proto.opset_import), int(proto.ir_version) or 8, check,
                    frozenset(widened))


def node_attrs(node: Any) -> dict[str, Any]:
    """A node's attributes as plain Python values (strings decoded)."""
    from onnx import helper

    out: dict[str, Any] = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


def node_inputs(node: Any) -> list[str]:
    """Explicit inputs plus outer-scope values its subgraphs (Loop/If/Scan bodies) read."""
    names = [i for i in node.input if i]
    for a in node.attribute:
        for g in ([a.g] if a.HasField("g") else []) + list(a.graphs):
            names.extend(outer_refs(g))
    return names


def outer_refs(graph: Any) -> list[str]:
    """Names a (sub)graph reads but does not define: values of its enclosing scopes, in order."""
    local = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    for sub in graph.node:
        local.update(o for o in sub.output if o)
    seen: dict[str, None] = {}
    for sub in graph.node:
        for i in node_inputs(sub):
            if i not in local:
                seen.setdefault(i, None)
    # A body may hand an outer value straight back as one of its outputs.
    for o in graph.output:
        if o.name not in local:
            seen.setdefault(o.name, None)
    return list(seen)


def is_float(a: Any) -> bool:
    """Whether a gradient can flow through this value (a floating numpy array)."""
    return isinstance(a, np.ndarray | np.generic) and np.issubdtype(np.asarray(a).dtype,
                                                                     np.floating)


def float_closure(nodes: Iterable[Any], values: Mapping[str, Any]) -> set[str]:
    """Values that can carry a gradient: float leaves (inputs, weights) and what they feed."""
    nodes = list(nodes)
    produced = {o for n in nodes for o in n.output if o}
    needs = {k for k, v in values.items() if k not in produced and is_float(v)}
    for node in nodes:
        if any(i in needs for i in node_inputs(node)):
            needs.update(o for o in node.output if o and is_float(values.get(o)))
    return needs


def accumulate(grads: dict[str, np.ndarray], name: str, g: np.ndarray) -> None:
    """Add `g` into `grads[name]` (a value used twice gets the sum of both gradients)."""
    prev = grads.get(name)
    grads[name] = g if prev is None else prev + g


def node_vjp(node: Any, values: Mapping[str, Any], gys: list[np.ndarray | None],
             env: GraphEnv) -> dict[str, np.ndarray]:
    """{input or outer-scope name: gradient} for one node, given gradients at its outputs.

    Raises NotDifferentiable (with the reason) when the node has no rule.
    """
    if node.domain not in ("", "ai.onnx"):
        raise NotDifferentiable(f"{node.domain}.{node.op_type} is a custom-domain op with no rule")
    subgraph_rule = SUBGRAPH_RULES.get(node.op_type)
    if subgraph_rule is not None:
        return subgraph_rule(node, values, gys, env)
    missing = [i for i in node.input if i and i not in values]
    if missing:
        raise NotDifferentiable(f"{node.op_type}: forward value '{missing[0]}' unavailable")
    ctx = OpCtx(node.op_type, node_attrs(node), [values[i] if i else None for i in node.input],
                [values.get(o) if o else None for o in node.output], env.opset, node)
    out: dict[str, np.ndarray] = {}
    for name, g in zip(node.input, backward_node(ctx, gys), strict=False):
        if name and g is not None:
            accumulate(out, name, g)
    return out


def backprop_graph(nodes: Iterable[Any], values: Mapping[str, Any],
                   seeds: Mapping[str, np.ndarray], env: GraphEnv) -> dict[str, np.ndarray]:
    """Gradients at every value of a body from `seeds` at some of its values.

    Returns gradients for body inputs, outer-scope values and intermediates. Any node on the
    gradient path without a rule raises NotDifferentiable naming it: a body's gradient is
    either complete or not given.
    """
    nodes = list(nodes)
    needs = float_closure(nodes, values)
    grads: dict[str, np.ndarray] = {}
    for name, g in seeds.items():
        if name in needs:
            accumulate(grads, name, np.asarray(g))
    for node in reversed(nodes):
        gys = [grads.get(o) if o else None for o in node.output]
        if all(g is None for g in gys) or not any(i in needs for i in node_inputs(node)):
            continue
        try:
            gxs = node_vjp(node, values, gys, env)
        except NotDifferentiable as e:
            raise NotDifferentiable(f"{node.name or node.op_type}: {e}") from None
        except (ValueError, IndexError, TypeError) as e:  # a rule cannot handle this case
            raise NotDifferentiable(
                f"{node.name or node.op_type}: {node.op_type}: {type(e).__name__}: {e}"
            ) from None
        for name, g in gxs.items():
            if name in needs:
                accumulate(grads, name, g)
    return grads
