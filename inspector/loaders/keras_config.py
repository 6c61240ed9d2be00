"""Keras model config (JSON) -> graph IR: one node per layer call, nested models flattened.

Reads Keras 3 (`{"args": [{"class_name": "__keras_tensor__", ...}]}`) and Keras 2
(`[[["layer", 0, 0, {}]]]`) inbound-node formats. Nothing in the config is executed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from inspector.ir import Attribute, Graph, Node, Value, Weight, category_of
from inspector.loaders.keras_docs import layer_doc
from inspector.loaders.keras_shapes import output_shapes
from inspector.loaders.registry import ModelLoadError
from inspector.progress import NO_TASK, Task

Ref = tuple[str, int, int]  # (layer name, node index, tensor index) as keras_history has it
MODEL_CLASSES = ("Functional", "Sequential", "Model")
# Config keys that only restate Keras defaults or bookkeeping; not worth a sidebar row.
_SKIP_ATTRS = {"name", "trainable", "dtype", "build_config", "compile_config"}
_CUSTOM_WARN = {"Lambda", "TFOpLambda", "SlicingOpLambda"}


class WeightSource(Protocol):
    """Finds a layer's weights in the file (see keras_weights)."""

    def root(self) -> str: ...
    def child(self, scope: str, layer: str) -> str: ...
    def weights(self, scope: str, layer: str, cls: str, cfg: dict[str, Any]) -> list[Weight]: ...


def _is_model(layer: dict[str, Any]) -> bool:
    return layer.get("class_name") in MODEL_CLASSES and isinstance(
        (layer.get("config") or {}).get("layers"), list
    )


def _name(layer: dict[str, Any]) -> str:
    return str(layer.get("name") or (layer.get("config") or {}).get("name") or "?")


def _dtype(cfg: dict[str, Any]) -> str:
    d = cfg.get("dtype")
    if isinstance(d, dict):  # a DTypePolicy: compute dtype is what flows out
        d = (d.get("config") or {}).get("name")
    if isinstance(d, str):
        return {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}.get(d, d)
    return "float32"


def _shape(v: Any) -> tuple[int | None, ...] | None:
    if not isinstance(v, list | tuple):
        return None
    return tuple(d if isinstance(d, int) else None for d in v)


def _attr_value(v: Any) -> Any:
    if isinstance(v, dict) and "class_name" in v:  # initializer, regularizer, wrapped layer
        return v["class_name"]
    return v


def _attr_type(v: Any) -> str:
    for t, name in ((bool, "bool"), (int, "int"), (float, "float"), (str, "string")):
        if isinstance(v, t):
            return name
    return "list" if isinstance(v, list) else "object"


def _attributes(layer_name: str, cfg: dict[str, Any]) -> tuple[Attribute, ...]:
    attrs = [Attribute("layer", layer_name, "string")]
    for k, v in cfg.items():
        if k in _SKIP_ATTRS or v is None:
            continue
        if k == "layer":  # wrappers: the wrapped layer, renamed so "layer" stays our name
            k = "wrapped_layer"
        v = _attr_value(v)
        attrs.append(Attribute(k, v, _attr_type(v)))
    if _dtype(cfg) != "float32":
        attrs.append(Attribute("dtype", _dtype(cfg), "string"))
    return tuple(attrs)


def _tensor_refs(obj: Any, out: list[tuple[Ref, Any]]) -> None:
    """Keras 3: every `__keras_tensor__` in args/kwargs, in order, with its recorded shape."""
    if isinstance(obj, dict):
        if obj.get("class_name") == "__keras_tensor__":
            c = obj.get("config") or {}
            h = c.get("keras_history") or []
            if len(h) >= 3:
                out.append(((str(h[0]), int(h[1]), int(h[2])), c.get("shape")))
            return
        for v in obj.values():
            _tensor_refs(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _tensor_refs(v, out)


def _call_inputs(node: Any) -> list[tuple[Ref, Any]]:
    """The input tensor refs of one inbound node, in either format."""
    out: list[tuple[Ref, Any]] = []
    if isinstance(node, dict):
        _tensor_refs(node.get("args", []), out)
        _tensor_refs(node.get("kwargs", {}), out)
    elif isinstance(node, list):  # Keras 2: [[layer, node_index, tensor_index, kwargs], ...]
        for entry in node:
            if isinstance(entry, list) and len(entry) >= 3 and isinstance(entry[0], str):
                out.append(((entry[0], int(entry[1]), int(entry[2])), None))
    return out


def _io_refs(v: Any) -> list[Ref]:
    if not isinstance(v, list) or not v:
        return []
    if isinstance(v[0], str):  # a single [name, node, tensor]
        v = [v]
    return [(str(r[0]), int(r[1]), int(r[2])) for r in v if isinstance(r, list) and len(r) >= 3]


def _node_fixes(layers: dict[str, dict[str, Any]]) -> tuple[Callable[[Ref], Ref], Callable[[Ref], Ref]]:
    """(fix for inbound refs, fix for output_layers refs): node indices -> our call indices.

    A nested Functional's node 0 is its own construction node, which configs leave out, so
    its calls are numbered from 1: in Keras 2 everywhere (tf_keras functional.py,
    `_should_skip_first_node`: a Functional, or a Sequential starting with an InputLayer);
    in Keras 3 only in `output_layers` (functional.py `get_tensor`: `node_index -= 1`).
    """
    keras2 = any(
        isinstance(n, list) for ly in layers.values() for n in (ly.get("inbound_nodes") or [])
    )
    skip = set()
    for name, ly in layers.items():
        if not _is_model(ly):
            continue
        inner = ly["config"]["layers"]
        first = inner[0].get("class_name") if inner and isinstance(inner[0], dict) else None
        if ly.get("class_name") != "Sequential" or (keras2 and first == "InputLayer"):
            skip.add(name)

    def shift(r: Ref) -> Ref:
        return (r[0], r[1] - 1, r[2]) if r[0] in skip and r[1] > 0 else r

    return (shift if keras2 else lambda r: r), shift


@dataclass
class _Builder:
    weights: WeightSource
    use_recorded_shapes: bool
    task: Task
    total: int
    nodes: list[Node] = field(default_factory=list)
    values: dict[str, Value] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    clashes: set[str] = field(default_factory=set)
    calls: dict[tuple[str, ...], int] = field(default_factory=dict)
    cache: dict[tuple[str, ...], list[Weight]] = field(default_factory=dict)

    def add_input(self, name: str, cfg: dict[str, Any]) -> str:
        shape = _shape(cfg.get("batch_shape") or cfg.get("batch_input_shape"))
        if shape is not None:
            shape = (None, *shape[1:])
        self.values[name] = Value(name, shape, _dtype(cfg) if cfg.get("dtype") else "float32")
        self.inputs.append(name)
        return name

    def model(
        self, layer: dict[str, Any], path: tuple[str, ...], scope: str, bindings: list[str] | None
    ) -> list[str]:
        """Instantiate a (nested) model; returns its output value names."""
        cfg = layer.get("config") or {}
        if layer.get("class_name") == "Sequential":
            return self.sequential(cfg, path, scope, bindings)
        return self.functional(cfg, path, scope, bindings)

    def sequential(
        self, cfg: dict[str, Any], path: tuple[str, ...], scope: str, bindings: list[str] | None
    ) -> list[str]:
        layers = [ly for ly in cfg.get("layers", []) if isinstance(ly, dict)]
        cur: str | None = bindings[0] if bindings else None
        if layers and layers[0].get("class_name") == "InputLayer":
            first = layers.pop(0)
            if cur is None:
                cur = self.add_input(_name(first), first.get("config") or {})
        if cur is None:
            c0 = (layers[0].get("config") or {}) if layers else {}
            shape = c0.get("batch_shape") or c0.get("batch_input_shape") or cfg.get("build_input_shape")
            cur = self.add_input("input", {"batch_shape": shape, "dtype": c0.get("dtype")})
        for ly in layers:
            cur = self.call(ly, path, scope, [cur], None, 1)[0]
        return [cur]

    def functional(
        self, cfg: dict[str, Any], path: tuple[str, ...], scope: str, bindings: list[str] | None
    ) -> list[str]:
        layers = {_name(ly): ly for ly in cfg.get("layers", []) if isinstance(ly, dict)}
        fix, fix_out = _node_fixes(layers)
        refs: dict[Ref, str] = {}
        in_refs = _io_refs(cfg.get("input_layers"))
        for i, r in enumerate(in_refs):
            ly = layers.get(r[0], {})
            if bindings is not None and i < len(bindings):
                refs[(r[0], 0, 0)] = bindings[i]
            else:
                refs[(r[0], 0, 0)] = self.add_input(r[0], ly.get("config") or {})
        calls: dict[tuple[str, int], list[tuple[Ref, Any]]] = {}
        need: dict[tuple[str, int], int] = {}
        raw_calls: dict[tuple[str, int], Any] = {}
        for name, ly in layers.items():
            if ly.get("class_name") == "InputLayer":
                continue
            for k, node in enumerate(ly.get("inbound_nodes") or []):
                raw_calls[(name, k)] = node
                calls[(name, k)] = ins = [(fix(r), shape) for r, shape in _call_inputs(node)]
                for (src, sk, st), _ in ins:
                    need[(src, sk)] = max(need.get((src, sk), 1), st + 1)
        out_refs = [fix_out(r) for r in _io_refs(cfg.get("output_layers"))]
        for src, sk, st in out_refs:
            need[(src, sk)] = max(need.get((src, sk), 1), st + 1)
        recorded = {ref: s for ins in calls.values() for ref, s in ins if s is not None}
        # Config order is topological per layer, not per call (a shared layer lists all of its
        # calls together), so calls are emitted depth first from their inputs.
        done: set[tuple[str, int]] = set()
        for key in calls:
            stack = [key]
            pending: set[tuple[str, int]] = {key}
            while stack:
                cur = stack[-1]
                deps = [
                    (r[0], r[1]) for r, _ in calls[cur]
                    if r not in refs and (r[0], r[1]) in calls
                    and (r[0], r[1]) not in done and (r[0], r[1]) not in pending
                ]
                if deps:
                    stack.append(deps[0])
                    pending.add(deps[0])
                    continue
                stack.pop()
                if cur in done:
                    continue
                done.add(cur)
                ly = layers[cur[0]]
                ins = [refs.get(r, "") for r, _ in calls[cur]]
                for r, _ in calls[cur]:
                    if r in refs:
                        continue
                    # A broken link is drawn unconnected, and said, not silently dropped.
                    if (r[0], r[1]) in calls:
                        why = "which depends on it in turn (a cycle)"
                    else:
                        why = "which the file does not define"
                    self.warnings.append(
                        f"Layer '{cur[0]}' takes its input from '{r[0]}', {why}; "
                        "that input is left unconnected."
                    )
                outs = self.call(
                    ly, path, scope, ins, recorded, need.get(cur, 1), cur, raw_calls.get(cur)
                )
                for t, v in enumerate(outs):
                    refs[(cur[0], cur[1], t)] = v
        return [refs.get(r, "") for r in out_refs]

    def call(
        self, layer: dict[str, Any], path: tuple[str, ...], scope: str, ins: list[str],
        recorded: dict[Ref, Any] | None, n_out: int, key: tuple[str, int] | None = None,
        raw_call: Any = None,
    ) -> list[str]:
        """Emit one call of a layer (or instantiate a nested model); its output value names."""
        name = _name(layer)
        lpath = (*path, name)
        if _is_model(layer):
            return self.model(layer, lpath, self.weights.child(scope, name), ins)
        self.task.report(len(self.nodes) / max(self.total, 1), "Reading layers")
        cls = str(layer.get("class_name") or "?")
        cfg = layer.get("config") or {}
        base = "/".join(lpath) if name in self.clashes else name
        c = self.calls.get(lpath, 0)
        self.calls[lpath] = c + 1
        node_name = base if c == 0 else f"{base}:{c}"
        if lpath not in self.cache:
            self.cache[lpath] = self.weights.weights(scope, name, cls, cfg)
            if cls in _CUSTOM_WARN or category_of(cls, "keras") == "custom":
                self.warnings.append(
                    f"Layer '{name}' ({cls}) is custom code: shown from its config, never run; "
                    "its output shape is unknown."
                )
        in_shapes = [self.values[v].shape if v in self.values else None for v in ins]
        shapes = output_shapes(cls, cfg, in_shapes, n_out)
        outs = []
        for t, shape in enumerate(shapes):
            vname = base if c == 0 and t == 0 else f"{base}:{c}:{t}"
            if shape is None and recorded is not None and self.use_recorded_shapes and key:
                shape = _shape(recorded.get((key[0], key[1], t)))
                shape = None if shape is None else (None, *shape[1:])
            self.values[vname] = Value(vname, shape, _dtype(cfg))
            outs.append(vname)
        self.nodes.append(
            Node(
                name=node_name, op_type=cls, category=category_of(cls, "keras"),
                inputs=tuple(ins), outputs=tuple(outs), attributes=_attributes(name, cfg),
                weights=tuple(self.cache[lpath]), input_names=tuple(ins), group=path,
                doc=layer_doc(cls),
                source={
                    "class_name": cls, "module": str(layer.get("module") or ""), "config": cfg,
                    "call": raw_call if isinstance(raw_call, dict) else None,
                },
            )
        )
        return outs


def _count(layers: list[Any], path: tuple[str, ...], seen: dict[str, set[tuple[str, ...]]]) -> int:
    n = 0
    for ly in layers:
        if not isinstance(ly, dict):
            continue
        name = _name(ly)
        seen.setdefault(name, set()).add((*path, name))
        if _is_model(ly):
            n += _count(ly["config"]["layers"], (*path, name), seen)
        else:
            n += max(1, len(ly.get("inbound_nodes") or []))
    return n


def build_graph(
    model_config: dict[str, Any], weights: WeightSource, task: Task = NO_TASK,
    use_recorded_shapes: bool = True,
) -> tuple[Graph, list[str]]:
    """The graph of a Keras model config plus warnings. `use_recorded_shapes` fills shapes
    our rules do not know from the shapes Keras 3 recorded in the config at save time."""
    if not _is_model(model_config):
        cls = model_config.get("class_name") if isinstance(model_config, dict) else None
        raise ModelLoadError(
            f"the model is a {cls or 'custom'} class whose architecture is Python code, "
            "not a layer graph; it cannot be shown without running that code"
        )
    seen: dict[str, set[tuple[str, ...]]] = {}
    total = _count(model_config["config"]["layers"], (), seen)
    b = _Builder(weights, use_recorded_shapes, task, total)
    b.clashes = {n for n, paths in seen.items() if len(paths) > 1}
    outs = b.model(model_config, (), weights.root(), None)
    name = str((model_config.get("config") or {}).get("name") or "model")
    graph = Graph(
        name=name, nodes=tuple(b.nodes), values=b.values, inputs=tuple(b.inputs),
        outputs=tuple(o for o in outs if o),
    )
    return graph, b.warnings
