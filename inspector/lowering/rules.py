"""The rule registry: one function per Keras layer class (or functional op), by family module.

A rule receives a `LayerCall` and returns the ONNX value names of the call's outputs, in order.
Weights go in as initializers in Keras's own layout (`call.weight`), and the rule transforms
them with ONNX ops (Transpose, Split, ...): onnxruntime folds those at session creation, and
the gradient engine then gives each weight's gradient in the layout Keras stores it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inspector.ir import Dim, Node
from inspector.lowering.builder import GraphBuilder


class NotLowered(Exception):
    """A layer (or one configuration of it) that has no ONNX rule; the message says why."""


@dataclass
class LayerCall:
    """One call of a Keras layer, as a rule sees it."""

    b: GraphBuilder
    node: Node
    inputs: list[str]  # ONNX names of the call's tensor inputs, in IR order
    in_shapes: list[tuple[Dim, ...] | None]
    out_shapes: list[tuple[Dim, ...] | None]
    weight_names: dict[str, str]  # Keras weight name -> initializer name
    preact: str | None = None  # set by rules with a fused activation
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cls(self) -> str:
        return self.node.op_type

    @property
    def config(self) -> dict[str, Any]:
        src = self.node.source or {}
        return src.get("config") or {}

    @property
    def module(self) -> str:
        return str((self.node.source or {}).get("module") or "")

    @property
    def name(self) -> str:
        """The layer's own name (a hint for value names)."""
        return str(self.node.attr("layer", self.node.name))

    def cfg(self, key: str, default: Any = None) -> Any:
        v = self.config.get(key, default)
        return default if v is None else v

    def weight(self, name: str) -> str:
        """The initializer holding weight `name` (Keras layout)."""
        if name not in self.weight_names:
            raise NotLowered(f"weight {name!r} is missing from the file")
        return self.weight_names[name]

    def weight_array(self, name: str) -> np.ndarray:
        w = self.node.weight(name)
        if w is None:
            raise NotLowered(f"weight {name!r} is missing from the file")
        return w.tensor.numpy()

    def has_weight(self, name: str) -> bool:
        return name in self.weight_names

    def rank(self, i: int = 0) -> int:
        s = self.in_shapes[i] if i < len(self.in_shapes) else None
        if s is None:
            raise NotLowered("the input's rank is unknown")
        return len(s)

    def call_args(self) -> tuple[list[Any], dict[str, Any]]:
        """The call's positional and keyword arguments from the config, each Keras tensor
        replaced by its ONNX value name (tensors appear in `inputs` order)."""
        call = (self.node.source or {}).get("call") or {}
        it: Iterator[str] = iter(self.inputs)

        def sub(obj: Any) -> Any:
            if isinstance(obj, dict):
                if obj.get("class_name") == "__keras_tensor__":
                    return next(it, "")
                return {k: sub(v) for k, v in obj.items()}
            if isinstance(obj, list):
                return [sub(v) for v in obj]
            return obj

        args = sub(call.get("args", []))
        kwargs = sub(call.get("kwargs", {}))
        return (args if isinstance(args, list) else [args]), (kwargs if isinstance(kwargs, dict) else {})


Rule = Callable[[LayerCall], list[str]]
RULES: dict[str, Rule] = {}
OP_RULES: dict[str, Rule] = {}  # keras.src.ops.* functional operations, by class name


def rule(*classes: str, ops: bool = False) -> Callable[[Rule], Rule]:
    """Register a rule for Keras layer classes (or, with `ops=True`, functional ops)."""

    def register(fn: Rule) -> Rule:
        table = OP_RULES if ops else RULES
        for c in classes:
            table[c] = fn
        return fn

    return register


def is_op(node: Node) -> bool:
    """Whether a node is a keras.src.ops functional operation rather than a layer."""
    module = str((node.source or {}).get("module") or "")
    return module.startswith(("keras.src.ops", "keras.ops"))


def find_rule(node: Node) -> Rule | None:
    if is_op(node):
        return OP_RULES.get(node.op_type)
    return RULES.get(node.op_type)
