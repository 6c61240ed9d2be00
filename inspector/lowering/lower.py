"""Keras IR -> one ONNX model whose values carry the keys `run -o` writes.

Every layer call's output is a graph output named by its key: the IR node name (the layer
name, `layer:k` for later calls of a shared layer, `outer/inner` where nested models reuse a
name), `<key>/output_i` for a layer's further outputs and `<key>/preact` for the value before
a fused activation. The capture is exact by construction: there is no probe model and no
converter fusion to undo.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import helper

from inspector.ir import Dim, Model, Node
from inspector.lowering import families as _families  # noqa: F401 - registers the rules
from inspector.lowering.builder import ONNX_DTYPES, GraphBuilder
from inspector.lowering.rules import LayerCall, NotLowered, find_rule
from inspector.progress import NO_TASK, Task

PREACT_SUFFIX = "/preact"
LOWERING_VERSION = "lower-1"


@dataclass(frozen=True)
class Unlowered:
    """A layer call the lowering has no rule for (or not in this configuration)."""

    node: str
    cls: str
    reason: str

    def message(self) -> str:
        return f"layer {self.node!r} ({self.cls}): {self.reason}"


@dataclass
class Lowering:
    """The lowered model, or (`proto` None) the layers that stopped it.

    `outputs` maps ONNX output name -> key (the same names, kept as a map so callers treat a
    lowering like a converted probe), `inputs` IR input name -> ONNX input name, `final` the
    keys of the model's own outputs, `weights` initializer name -> (IR node, Keras weight name).
    """

    proto: onnx.ModelProto | None
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    final: tuple[str, ...] = ()
    weights: dict[str, tuple[str, str]] = field(default_factory=dict)
    unlowered: tuple[Unlowered, ...] = ()
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.proto is not None


def output_key(node: Node, t: int) -> str:
    return node.name if t == 0 else f"{node.name}/output_{t}"


def _dim(d: Dim, i: int) -> int | str:
    if isinstance(d, int):
        return d
    if isinstance(d, str):
        return d
    return "N" if i == 0 else f"d{i}"


def _input_info(name: str, shape: tuple[Dim, ...] | None, dtype: str | None) -> onnx.ValueInfoProto:
    elem = ONNX_DTYPES.get(dtype or "float32", onnx.TensorProto.FLOAT)
    if elem in (onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16, onnx.TensorProto.DOUBLE):
        elem = onnx.TensorProto.FLOAT
    dims = None if shape is None else [_dim(d, i) for i, d in enumerate(shape)]
    return helper.make_tensor_value_info(name, elem, dims)


def _weight_array(arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind == "f" and arr.dtype != np.float32:
        return arr.astype(np.float32)
    return arr


class _Driver:
    def __init__(self, model: Model, task: Task) -> None:
        self.graph = model.graph
        self.task = task
        self.b = GraphBuilder()
        self.onnx_of: dict[str, str] = {}  # IR value name -> ONNX value name
        self.keys: list[str] = []
        self.weights: dict[str, tuple[str, str]] = {}
        self.weight_init: dict[int, str] = {}  # id(Tensor) -> initializer (shared layers)
        self.unlowered: list[Unlowered] = []
        self.dead: set[str] = set()  # IR values that could not be computed

    def bind_weights(self, node: Node) -> dict[str, str]:
        out: dict[str, str] = {}
        for w in node.weights:
            name = self.weight_init.get(id(w.tensor))
            if name is None:
                name = self.b.initializer(_weight_array(w.tensor.numpy()), f"{node.name}/{w.name}")
                self.weight_init[id(w.tensor)] = name
                self.weights[name] = (node.name, w.name)
            out[w.name] = name
        return out

    def place(self, value: str, key: str, since: int) -> None:
        """Make the ONNX value `value` available under the name `key`."""
        produced_here = any(value in n.output for n in self.b.nodes[since:])
        if produced_here and value not in self.keys and self.b.rename_output(value, key, since):
            return
        self.b.op("Identity", [value], key, outputs=[key])

    def lower_node(self, node: Node) -> None:
        if any(v in self.dead for v in node.inputs if v):
            self.dead.update(node.outputs)
            return
        rule = find_rule(node)
        if rule is None:
            self.fail(node, "no ONNX rule for this layer class")
            return
        g = self.graph
        keys = [output_key(node, t) for t in range(len(node.outputs))]
        for k in keys:
            self.b.reserve(k)
        self.b.reserve(node.name + PREACT_SUFFIX)
        since = len(self.b.nodes)
        n_init = len(self.b.initializers)
        try:
            call = LayerCall(
                self.b, node, [self.onnx_of.get(v, "") for v in node.inputs],
                [g.value(v).shape for v in node.inputs], [g.value(v).shape for v in node.outputs],
                self.bind_weights(node),
            )
            outs = rule(call)
            if len(outs) < len(node.outputs):
                raise NotLowered(f"the rule gave {len(outs)} outputs for {len(node.outputs)}")
        except NotLowered as e:
            del self.b.nodes[since:]
            self.fail(node, str(e))
            return
        except Exception as e:  # noqa: BLE001 - a rule bug must name the layer, not crash
            del self.b.nodes[since:]
            del self.b.initializers[n_init:]
            self.fail(node, f"lowering failed ({type(e).__name__}: {e})")
            return
        if call.preact is not None and call.preact not in outs:
            self.place(call.preact, node.name + PREACT_SUFFIX, since)
            self.keys.append(node.name + PREACT_SUFFIX)
        for v, out, key in zip(node.outputs, outs, keys, strict=False):
            self.place(out, key, since)
            self.onnx_of[v] = key
            self.keys.append(key)

    def place_nested_outputs(self) -> None:
        """Key a flattened nested model's outputs by the model's name (`<model>`,
        `<model>/output_i`), as the probe records them. A nested model is reachable only
        through its outputs, so they are the values its nodes (by `Node.group`) produce that
        a node outside it, or the graph's output list, reads."""
        g = self.graph
        groups = {n.group for n in g.nodes if n.group}
        prefixes = {grp[:k] for grp in groups for k in range(1, len(grp) + 1)}
        for p in sorted(prefixes, key=len, reverse=True):
            inside = [n for n in g.nodes if n.group[: len(p)] == p]
            made = {v for n in inside for v in n.outputs}
            used = [v for n in g.nodes if n.group[: len(p)] != p for v in n.inputs if v in made]
            outs = list(dict.fromkeys([*used, *(o for o in g.outputs if o in made)]))
            for t, v in enumerate(outs):
                key = p[-1] if t == 0 else f"{p[-1]}/output_{t}"
                if key in self.keys or key in g.inputs or v not in self.onnx_of:
                    continue
                self.b.op("Identity", [self.onnx_of[v]], key, outputs=[key])
                self.keys.append(key)

    def fail(self, node: Node, reason: str) -> None:
        self.unlowered.append(Unlowered(node.name, node.op_type, reason))
        self.dead.update(node.outputs)

    def run(self) -> Lowering:
        g = self.graph
        inputs = []
        for name in g.inputs:
            v = g.value(name)
            self.b.reserve(name)
            self.onnx_of[name] = name
            inputs.append(_input_info(name, v.shape, v.dtype))
        # Reserve every key first: a rule's fresh names ("conv2d_1") must not take the key
        # of a later layer with that name.
        for node in g.nodes:
            for t in range(len(node.outputs)):
                self.b.reserve(output_key(node, t))
            self.b.reserve(node.name + PREACT_SUFFIX)
        for i, node in enumerate(g.nodes):
            self.task.report(i / max(len(g.nodes), 1), "lowering layers to ONNX")
            self.lower_node(node)
        if self.unlowered:
            return Lowering(None, unlowered=tuple(self.unlowered))
        self.place_nested_outputs()
        final = tuple(self.onnx_of.get(o, o) for o in g.outputs)
        order = [*g.inputs, *self.keys]
        proto = self.b.model(g.name or "keras", inputs, [])
        types = _value_types(proto)
        outputs = []
        for k in dict.fromkeys(order):
            if k in g.inputs:
                continue
            outputs.append(helper.make_tensor_value_info(k, types.get(k, onnx.TensorProto.FLOAT), None))
        proto.graph.output.extend(outputs)
        return Lowering(
            proto, {n: n for n in g.inputs}, {o.name: o.name for o in outputs}, final,
            dict(self.weights),
        )


def _typed_skeleton(proto: onnx.ModelProto, small: int = 4096) -> onnx.ModelProto:
    """The model with each initializer over `small` elements replaced by a graph input of
    its type and shape: shape inference serialises the model it is given, and ResNet50's
    100 MB of weights made that a quarter of the lowering's time. Small initializers (the
    shapes and axes that Reshape and friends read) keep their values."""
    g = proto.graph
    keep, typed = [], []
    for init in g.initializer:
        if int(np.prod(init.dims)) > small:
            typed.append(helper.make_tensor_value_info(init.name, init.data_type, list(init.dims)))
        else:
            keep.append(init)
    graph = helper.make_graph(list(g.node), g.name, [*g.input, *typed], list(g.output),
                              initializer=keep)
    skeleton = helper.make_model(graph, opset_imports=list(proto.opset_import))
    skeleton.ir_version = proto.ir_version
    return skeleton


def _value_types(proto: onnx.ModelProto) -> dict[str, int]:
    """Element type of every value, from onnx's shape inference (types only are needed)."""
    try:
        inferred = onnx.shape_inference.infer_shapes(_typed_skeleton(proto), strict_mode=False)
    except Exception:  # noqa: BLE001 - missing types default to float
        return {}
    out: dict[str, int] = {}
    for vi in [*inferred.graph.value_info, *inferred.graph.input]:
        if vi.type.HasField("tensor_type") and vi.type.tensor_type.elem_type:
            out[vi.name] = vi.type.tensor_type.elem_type
    return out


def lower_keras(model: Model, task: Task = NO_TASK) -> Lowering:
    """Lower a Keras model's IR to ONNX (see the module doc). Never raises for a layer it
    cannot lower: `Lowering.unlowered` names each one."""
    if model.format != "keras":
        raise ValueError("lower_keras needs a Keras model")
    start = time.perf_counter()
    result = _Driver(model, task).run()
    result.seconds = time.perf_counter() - start
    task.report(1.0, "lowered")
    return result
