"""An ONNX graph under construction: nodes, initializers and unique value names.

Rules never build protobufs by hand: they call `op` and `const`, and get value names back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


class GraphBuilder:
    """Collects nodes and initializers; `fresh` hands out names no other value has."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._names: set[str] = set()
        self._consts: dict[tuple[str, bytes, tuple[int, ...]], str] = {}

    def reserve(self, name: str) -> None:
        """Mark `name` as taken (graph inputs, keys the driver will assign)."""
        self._names.add(name)

    def fresh(self, hint: str) -> str:
        """A value or node name based on `hint` that nothing else uses."""
        name, k = hint, 1
        while name in self._names:
            name, k = f"{hint}_{k}", k + 1
        self._names.add(name)
        return name

    def initializer(self, array: np.ndarray, name: str) -> str:
        """A named initializer (weights keep their Keras name so gradients map back)."""
        name = self.fresh(name)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def const(self, value: Any, hint: str = "const", dtype: Any = None) -> str:
        """A constant initializer; equal small constants are shared."""
        arr = np.asarray(value, dtype=dtype)
        if arr.dtype == np.float64 and dtype is None:
            arr = arr.astype(np.float32)
        key = (arr.dtype.str, arr.tobytes(), arr.shape)
        if arr.size <= 64 and key in self._consts:
            return self._consts[key]
        name = self.initializer(arr, hint)
        if arr.size <= 64:
            self._consts[key] = name
        return name

    def ints(self, values: Sequence[int], hint: str = "ints") -> str:
        """An int64 1-D constant (shapes, axes, pads, indices)."""
        return self.const(np.asarray(list(values), dtype=np.int64), hint)

    def op(
        self, op_type: str, inputs: Sequence[str], hint: str | None = None, *,
        n_out: int = 1, outputs: Sequence[str] | None = None, domain: str = "", **attrs: Any,
    ) -> Any:
        """Emit one node; returns its output name, or a list when `n_out` > 1."""
        base = hint or op_type.lower()
        outs = list(outputs) if outputs is not None else [
            self.fresh(base if i == 0 else f"{base}/{i}") for i in range(n_out)
        ]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(
            helper.make_node(
                op_type, list(inputs), outs, name=self.fresh(f"{base}/{op_type}"),
                domain=domain or None, **attrs,
            )
        )
        return outs[0] if n_out == 1 and outputs is None else outs

    def rename_output(self, old: str, new: str, since: int) -> bool:
        """Make the node (emitted at index >= `since`) that produces `old` produce `new`
        instead, and its later consumers read `new`. False if no such node exists."""
        found = False
        for node in self.nodes[since:]:
            for i, o in enumerate(node.output):
                if o == old:
                    node.output[i] = new
                    found = True
            if found:
                for i, x in enumerate(node.input):
                    if x == old:
                        node.input[i] = new
        if found:
            for node in self.nodes[since:]:
                for i, x in enumerate(node.input):
                    if x == old:
                        node.input[i] = new
        return found

    def model(
        self, name: str, inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto]
    ) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.initializers)
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="model-inspector"
        )
        model.ir_version = 8
        return model


ONNX_DTYPES = {
    "float32": TensorProto.FLOAT, "float16": TensorProto.FLOAT16, "float64": TensorProto.DOUBLE,
    "bfloat16": TensorProto.BFLOAT16, "int8": TensorProto.INT8, "uint8": TensorProto.UINT8,
    "int16": TensorProto.INT16, "int32": TensorProto.INT32, "int64": TensorProto.INT64,
    "bool": TensorProto.BOOL, "uint16": TensorProto.UINT16, "uint32": TensorProto.UINT32,
}
