"""Format-agnostic model IR: every loader produces it, every view and runtime reads it.

Objects are frozen dataclasses. A `Graph` builds producer/consumer indexes once, at
construction. Weight tensors load lazily through a loader callable, so opening a model whose
weights are gigabytes touches none of them until one is viewed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

#: A dimension: an int when known, a symbolic name (e.g. "batch"), or None when unknown.
Dim = int | str | None


def format_shape(shape: tuple[Dim, ...] | None) -> str:
    """Render a shape as `1x3x224x224`, with `?` for unknown dims and names for symbolic ones."""
    if shape is None:
        return "?"
    if len(shape) == 0:
        return "scalar"
    return "x".join("?" if d is None else str(d) for d in shape)


@dataclass(frozen=True, eq=False)
class Tensor:
    """A weight or constant tensor whose data loads only when `numpy()` is called.

    `kind` says where it came from: "initializer", "constant" (an ONNX Constant node),
    "sparse", "external" (ONNX external data), "keras" (a Keras variable).
    `location` is a human-readable source (external file name, HDF5 path) or "".
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    loader: Callable[[], np.ndarray] = field(repr=False)
    kind: str = "initializer"
    location: str = ""
    doc: str = ""

    @property
    def size(self) -> int:
        """Number of elements (product of the shape; 1 for a scalar)."""
        return int(math.prod(self.shape)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        """Bytes the tensor takes once loaded (0 when the dtype has no fixed size)."""
        try:
            return self.size * np.dtype(self.dtype).itemsize
        except TypeError:
            return 0

    def numpy(self) -> np.ndarray:
        """Load and return the data (not cached: callers keep what they need)."""
        return self.loader()


@dataclass(frozen=True, eq=False)
class Value:
    """A tensor flowing along an edge: a node output or a graph input.

    `shape` is None when even the rank is unknown. `dtype` is a numpy-style name
    ("float32", "int64", "bfloat16") or a structured type ("sequence<float32>",
    "map<int64,float32>", "optional<float32>"), or None when unknown.
    """

    name: str
    shape: tuple[Dim, ...] | None = None
    dtype: str | None = None
    doc: str = ""

    @property
    def type_label(self) -> str:
        """E.g. `float32[1x3x224x224]`, used on edges and in the sidebar."""
        return f"{self.dtype or '?'}[{format_shape(self.shape)}]"


@dataclass(frozen=True)
class Attribute:
    """A node attribute. `value` is a Python value, a `Tensor`, a `Graph`, or a list of them.

    `type` is the attribute's kind as the format names it ("int", "floats", "tensor",
    "graph", "string", ...; for Keras the config value's JSON type).
    """

    name: str
    value: Any
    type: str = ""


@dataclass(frozen=True)
class Weight:
    """A weight attached to a node: its role name (ONNX schema input name such as "W", or the
    Keras variable name such as "kernel") and its lazily loaded tensor."""

    name: str
    tensor: Tensor


@dataclass(frozen=True, eq=False)
class Node:
    """An operator (ONNX) or a layer call (Keras).

    `inputs` and `outputs` are value names of data edges; weights (initializers, Keras
    variables) are not edges but `weights`. `input_names` keeps the operator's full ordered
    input list (data and weights, "" for an omitted optional) for runtimes that need it.
    `group` is the hierarchy path from outermost to innermost (name scopes, nested Keras
    models). `subgraphs` are graphs owned by the node (If/Loop/Scan bodies, function bodies),
    keyed by attribute name. `source` is the format's own description the node was read from,
    for runtimes that lower it and never shown (Keras: the layer's class, module and full config,
    and the call's arguments with tensors in `inputs` order); None where there is none.
    """

    name: str
    op_type: str
    category: str = "other"
    domain: str = ""
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    attributes: tuple[Attribute, ...] = ()
    weights: tuple[Weight, ...] = ()
    input_names: tuple[str, ...] = ()
    group: tuple[str, ...] = ()
    subgraphs: tuple[tuple[str, Graph], ...] = ()
    doc: str = ""
    source: Any = field(default=None, repr=False)

    def attr(self, name: str, default: Any = None) -> Any:
        """The value of attribute `name`, or `default`."""
        for a in self.attributes:
            if a.name == name:
                return a.value
        return default

    def weight(self, name: str) -> Weight | None:
        """The weight with role name `name`, or None."""
        for w in self.weights:
            if w.name == name:
                return w
        return None

    @property
    def parameter_count(self) -> int:
        """Total elements in this node's weights."""
        return sum(w.tensor.size for w in self.weights)


@dataclass(frozen=True, eq=False)
class Graph:
    """Nodes (in topological order where the format gives one), the values between them,
    the graph's inputs and outputs (value names) and its initializers by name."""

    name: str
    nodes: tuple[Node, ...]
    values: Mapping[str, Value]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    initializers: Mapping[str, Tensor] = field(default_factory=dict)
    doc: str = ""

    def __post_init__(self) -> None:
        producers: dict[str, Node] = {}
        consumers: dict[str, list[Node]] = {}
        by_name: dict[str, Node] = {}
        for node in self.nodes:
            by_name.setdefault(node.name, node)
            for out in node.outputs:
                if out:
                    producers[out] = node
            for inp in node.inputs:
                if inp:
                    consumers.setdefault(inp, []).append(node)
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))
        object.__setattr__(self, "initializers", MappingProxyType(dict(self.initializers)))
        object.__setattr__(self, "_producers", producers)
        object.__setattr__(
            self, "_consumers", {k: tuple(v) for k, v in consumers.items()}
        )
        object.__setattr__(self, "_by_name", by_name)

    def producer(self, value_name: str) -> Node | None:
        """The node that outputs `value_name`, or None for graph inputs and unknown names."""
        return self._producers.get(value_name)  # type: ignore[attr-defined]

    def consumers(self, value_name: str) -> tuple[Node, ...]:
        """The nodes that take `value_name` as a data input."""
        return self._consumers.get(value_name, ())  # type: ignore[attr-defined]

    def node(self, name: str) -> Node:
        """The node called `name` (KeyError if there is none)."""
        return self._by_name[name]  # type: ignore[attr-defined]

    def value(self, name: str) -> Value:
        """The value called `name`, or an untyped Value when the loader knew nothing of it."""
        return self.values.get(name) or Value(name)

    def walk(self) -> Iterator[tuple[Graph, Node]]:
        """Every (graph, node) pair here and in nested subgraphs, depth first."""
        for node in self.nodes:
            yield self, node
            for _, sub in node.subgraphs:
                yield from sub.walk()

    def op_type_counts(self) -> dict[str, int]:
        """{op type: count} over this graph's own nodes (not subgraphs)."""
        counts: dict[str, int] = {}
        for node in self.nodes:
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
        return counts


def count_parameters(graph: Graph) -> dict[str, int]:
    """Weight elements of `graph` by where they are kept.

    "initializers": the graph's own initializers (every one, used or not, as before);
    "Constant nodes": floating-point tensors held in Constant nodes (PP-OCR and exported
    control flow keep conv weights there); "subgraph initializers": the floating-point
    initializers of If/Loop/Scan bodies; "subgraphs": how many subgraphs were walked.
    Outside the top-level initializers only weights count: integer tensors are shapes and
    axes, and one-element floats are arithmetic constants (1.0, sqrt(d), an epsilon) that
    PyTorch and tf2onnx exports hold by the dozen. Each tensor object is counted once.
    """
    seen: set[int] = set()
    out = {"initializers": 0, "Constant nodes": 0, "subgraph initializers": 0, "subgraphs": 0}

    def add(key: str, t: Tensor) -> None:
        if id(t) not in seen:
            seen.add(id(t))
            out[key] += t.size

    for t in graph.initializers.values():
        add("initializers", t)
    graphs_seen: set[int] = {id(graph)}

    def visit(g: Graph) -> None:
        for node in g.nodes:
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                for w in node.weights:
                    if _is_weight(w.tensor):
                        add("Constant nodes", w.tensor)
            for key, sub in node.subgraphs:
                if key == "function" or id(sub) in graphs_seen:
                    continue
                graphs_seen.add(id(sub))
                out["subgraphs"] += 1
                for t in sub.initializers.values():
                    if _is_weight(t):
                        add("subgraph initializers", t)
                visit(sub)

    visit(graph)
    return out


def _is_weight(t: Tensor) -> bool:
    return t.size > 1 and _is_float(t.dtype)


def _is_float(name: str) -> bool:
    if name in ("bfloat16", "float8e4m3fn", "float8e5m2"):  # names numpy does not know
        return True
    try:
        return np.dtype(name).kind in "fc"
    except TypeError:
        return False


@dataclass(frozen=True, eq=False)
class Model:
    """A loaded model file.

    `format` is "onnx" or "keras". `producer` names what wrote the file ("pytorch 2.3",
    "keras 3.15"). `format_version` is e.g. "ONNX IR v8" or "Keras 3 .keras". `opsets` maps
    domain to version (ONNX). `functions` are ONNX model-local functions as graphs.
    `parameters`, when set by the loader, overrides the sum over node weights (ONNX counts
    every initializer element, including ones no node uses).
    """

    format: str
    path: str
    graph: Graph
    producer: str = ""
    format_version: str = ""
    opsets: Mapping[str, int] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)
    doc: str = ""
    functions: tuple[Graph, ...] = ()
    parameters: int | None = None
    warnings: tuple[str, ...] = ()
    #: Where the parameters were counted, e.g. {"initializers": 1000, "Constant nodes": 234}
    #: (see `count_parameters`); empty when the loader gave none.
    parameter_sources: Mapping[str, int] = field(default_factory=dict)

    def parameter_text(self) -> str:
        """The count and how it was made: "1,234 (initializers 1,000 + Constant nodes 234,
        subgraphs included)"; just "1,234" when it all comes from one obvious place."""
        total = f"{self.parameter_count:,}"
        src = self.parameter_sources
        parts = [(k, v) for k, v in src.items() if v and k != "subgraphs"]
        subs = src.get("subgraphs", 0)
        if not src.get("subgraph initializers") and not src.get("Constant nodes"):
            if not subs:
                return total
            what = "its subgraph holds" if subs == 1 else f"its {subs} subgraphs hold"
            return f"{total} (initializers; {what} no weights)"
        inner = " + ".join(f"{k} {v:,}" for k, v in parts)
        return f"{total} ({inner}{', subgraphs included' if subs else ''})"

    @property
    def parameter_count(self) -> int:
        """Total weight elements in the model."""
        if self.parameters is not None:
            return self.parameters
        seen: set[int] = set()
        total = 0
        for _, node in self.graph.walk():
            for w in node.weights:
                if id(w.tensor) not in seen:
                    seen.add(id(w.tensor))
                    total += w.tensor.size
        return total

    def summary(self) -> dict[str, Any]:
        """The facts `model-inspector info --json` prints."""

        def io(names: tuple[str, ...]) -> list[dict[str, Any]]:
            out = []
            for n in names:
                v = self.graph.value(n)
                out.append(
                    {
                        "name": n,
                        "shape": None if v.shape is None else list(v.shape),
                        "dtype": v.dtype,
                    }
                )
            return out

        return {
            "path": self.path,
            "format": self.format,
            "format_version": self.format_version,
            "producer": self.producer,
            "opset": dict(self.opsets),
            "nodes": len(self.graph.nodes),
            "op_types": self.graph.op_type_counts(),
            "parameters": self.parameter_count,
            "parameter_sources": dict(self.parameter_sources),
            "inputs": io(self.graph.inputs),
            "outputs": io(self.graph.outputs),
            "metadata": dict(self.metadata),
            "warnings": list(self.warnings),
        }
