"""Reverse-mode gradients of an ONNX model in numpy.

The forward values come from one onnxruntime run of the probe model (`ProbeSession`); the
backward pass walks the nodes in reverse topological order, applies each op's VJP rule
(`rules`) and accumulates gradients for values and initializers. If, Loop and Scan
nodes re-execute their bodies with onnxruntime and are differentiated through every
branch or iteration (`rules.control`, `rules.scan`); weights read inside a body are also keyed by the
body node that reads them. A node without a rule stops the gradient there and is listed in
`uncovered` with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inspector.autodiff.losses import class_targets, loss_and_grad
from inspector.autodiff.results import GradientResult, norms_by_block
from inspector.autodiff.rules import NotDifferentiable, accumulate, env_of, node_inputs, node_vjp
from inspector.ir import Graph, Model, Node
from inspector.progress import NO_TASK, Task
from inspector.runtime.errors import InputError, RunError

#: Ops after which the model's output is already a probability (cross entropy uses it as is).
PROBABILITY_OPS = ("Softmax", "Sigmoid")
#: Ops that pass a value through unchanged, looked through when finding the last real op.
_PASS_THROUGH = ("Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Dropout", "Cast")


#: The last model's proto and initializer arrays, keyed by (path, mtime, size): a second
#: backprop of the same file (another target or input) skips reading and converting its
#: weights (BERT-base: 0.25 s). One entry, so at most one model's weights are held twice.
_WEIGHTS: dict[tuple[str, int, int], tuple[object, dict[str, np.ndarray]]] = {}


def _load_proto(path: str) -> tuple[object, dict[str, np.ndarray]]:
    """The model's proto (with external data: the backward pass needs the weights) and its
    initializers as arrays. The arrays are shared between calls: rules never write to inputs."""
    import onnx
    from onnx import numpy_helper

    from inspector.runtime.cache import file_identity

    p = Path(path).resolve()
    try:
        key = file_identity(p)
        if key in _WEIGHTS:
            return _WEIGHTS[key]
        proto = onnx.load(str(p))
        arrays = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    except FileNotFoundError:
        raise RunError(f"{path}: no such file") from None
    except Exception as e:  # noqa: BLE001 - corrupt protobuf or unreadable external data
        raise RunError(f"{Path(path).name}: not a readable ONNX model ({type(e).__name__})") from None
    for a in arrays.values():
        a.flags.writeable = False  # shared between calls: a rule writing to one would fail loudly
    _WEIGHTS.clear()
    _WEIGHTS[key] = (proto, arrays)
    return proto, arrays


def _is_float(a: np.ndarray | None) -> bool:
    return a is not None and np.issubdtype(np.asarray(a).dtype, np.floating)


def last_real_op(proto_graph: object, value: str) -> str | None:
    """The op type producing `value`, looking back through pass-through ops."""
    producers = {o: n for n in proto_graph.node for o in n.output}  # type: ignore[attr-defined]
    seen = 0
    while value in producers and seen < 64:
        node = producers[value]
        if node.op_type not in _PASS_THROUGH or not node.input:
            return node.op_type
        value = node.input[0]
        seen += 1
    return None


def _forward(model: Model, weights: Mapping[str, np.ndarray], feeds: Mapping[str, np.ndarray],
             task: Task) -> tuple[dict[str, np.ndarray], set[str]]:
    """Every forward value (float16 widened to float32) and the names that were widened.

    The values of the last run of this file on equal feeds (the Activations run before a
    backprop in the app) are reused as they are; otherwise the model runs once here. Rules
    get read-only views either way: those arrays may be on screen.
    """
    from inspector.runtime import last_run
    from inspector.runtime.activations import session_for

    captured = last_run.recall(model.path, feeds)
    if captured is None:
        # The session cache the activation runs use: a backprop after a run (or a second
        # target) skips shape inference and session creation (ResNet50: 0.65 s of 1.4 s).
        captured = session_for(model.path).run(dict(feeds), task)
    else:
        task.check()
    values = {k: _read_only(v) for k, v in captured.items()}
    for name, arr in weights.items():
        if name not in values:
            values[name] = arr
    widened = set()
    for k, v in values.items():
        # Half-precision backward passes lose the signal: differentiate in float32.
        if isinstance(v, np.ndarray) and v.dtype == np.float16:
            values[k] = v.astype(np.float32)
            widened.add(k)
    return values, widened


def _read_only(v: Any) -> Any:
    """A read-only view of an array (no copy), anything else as it is."""
    if not isinstance(v, np.ndarray) or not v.flags.writeable:
        return v
    view = v.view()
    view.flags.writeable = False
    return view


def _weight_slots(node: Node) -> list[tuple[str, str]]:
    """(IR weight name, tensor value name) for each weight of an IR node, in input order."""
    if node.op_type == "Constant":
        return [(w.name, node.outputs[0]) for w in node.weights[:1] if node.outputs]
    data = set(node.inputs)
    names = [n for n in node.input_names if n and n not in data]
    return [(w.name, n) for w, n in zip(node.weights, names, strict=False)]


@dataclass
class Sweep:
    """One backward pass over an ONNX graph, before its gradients are keyed for display.

    `grads`: value/initializer name -> gradient; `needs`: values that carry a gradient and are
    not upstream of an uncovered node (their missing gradient is truly zero); `uncovered`:
    label -> reason; `contributions`: initializer read by several nodes -> {ONNX node name:
    that node's part of its gradient}.
    """

    proto: Any
    values: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]
    needs: set[str]
    uncovered: dict[str, str]
    contributions: dict[str, dict[str, np.ndarray]]
    lv: Any
    out_name: str


def backward(
    model: Model,
    feeds: Mapping[str, np.ndarray],
    target: int | float | None = None,
    loss: str = "ce",
    output: str | None = None,
    task: Task = NO_TASK,
    labeller: Any = None,
) -> Sweep:
    """The reverse sweep of `loss` on `output` over the ONNX model at `model.path`.

    `labeller(graph proto)` returns `label(node)`, which names a node in `uncovered`
    (default: its IR node's name).
    """
    proto, weights = _load_proto(model.path)
    graph = proto.graph  # type: ignore[attr-defined]
    task.report(0.0, "forward pass")
    values, widened = _forward(model, weights, feeds, task.part(0.0, 0.3))
    env = env_of(proto, task.check, widened)
    opset = env.opset
    label = labeller(graph) if labeller else (lambda n: _label(model, n))

    out_name = output or (graph.output[0].name if graph.output else "")
    if out_name not in values:
        raise InputError(f"'{out_name}' is not a value of this model that a loss can be taken on")
    y = values[out_name]
    probs = last_real_op(graph, out_name) in PROBABILITY_OPS
    lv = loss_and_grad(y, loss, target, probabilities=probs)

    # Only values computed from a graph input or a float weight can carry a gradient.
    produced = _produced(graph)  # once: per value it made this step quadratic in nodes
    needs = {n for n, v in values.items() if _is_float(v) and n not in produced}
    for node in graph.node:
        if any(i in needs for i in node_inputs(node)):
            needs.update(o for o in node.output if o and _is_float(values.get(o)))
    # Initializers read by more than one node: each reader's contribution is kept as well.
    readers: dict[str, int] = {}
    inits = {i.name for i in graph.initializer}
    for node in graph.node:
        for i in dict.fromkeys(node_inputs(node)):
            if i in inits:
                readers[i] = readers.get(i, 0) + 1
    multi = {i for i, c in readers.items() if c > 1}
    contributions: dict[str, dict[str, np.ndarray]] = {}

    grads: dict[str, np.ndarray] = {out_name: np.asarray(lv.grad)}
    uncovered: dict[str, str] = {}
    nodes = list(graph.node)
    fused = _softmax_seed(graph, out_name, y, loss, target, opset)
    if fused is not None:
        softmax_node, logits_grad = fused
        grads[softmax_node.input[0]] = logits_grad
    for k, node in enumerate(reversed(nodes)):
        if k % 16 == 0:
            task.report(0.3 + 0.65 * k / max(1, len(nodes)), f"backward: {node.op_type}")
        if fused is not None and node is fused[0]:
            continue  # its input's gradient was seeded exactly, from the logits
        gys = [grads.get(o) if o else None for o in node.output]
        if all(g is None for g in gys):
            continue
        if not any(i in needs for i in node_inputs(node)):
            continue  # constant sub-expressions: nothing upstream to differentiate
        try:
            gxs = node_vjp(node, values, gys, env)
        except NotDifferentiable as e:
            uncovered[label(node)] = str(e)
            continue
        except (ValueError, IndexError, TypeError) as e:  # a rule cannot handle this case
            uncovered[label(node)] = f"{node.op_type}: {type(e).__name__}: {e}"
            continue
        for name, g in gxs.items():
            if name in needs:
                accumulate(grads, name, g)
                if name in multi:
                    accumulate(contributions.setdefault(name, {}), node.name or node.op_type,
                               np.array(g, copy=True))

    blocked = _upstream(graph, {i for n in nodes if label(n) in uncovered
                                for i in node_inputs(n)})
    return Sweep(proto, values, grads, needs - blocked, uncovered, contributions, lv, out_name)


def onnx_gradients(
    model: Model,
    feeds: Mapping[str, np.ndarray],
    target: int | float | None = None,
    loss: str = "ce",
    output: str | None = None,
    task: Task = NO_TASK,
) -> GradientResult:
    """Gradients of `loss` on `output` at every value, weight and graph input of an ONNX model."""
    sw = backward(model, feeds, target, loss, output, task)
    grads = sw.grads
    task.report(0.97, "collecting gradients")
    result = _collect(model, sw.values, grads, sw.needs)
    norms, norm = {}, norms_by_block()
    for node in model.graph.nodes:
        gs = [grads[o] for o in node.outputs if o in grads]
        if gs:
            norms[node.name] = float(np.sqrt(sum(norm(g) ** 2 for g in gs)))
    shared = _shared_keys(model, sw, result)
    task.report(1.0, "done")
    return GradientResult(result, sw.lv.loss, sw.lv.target, loss, sw.out_name, sw.uncovered,
                          norms, reduction=sw.lv.reduction, engine="onnx", shared=shared)


def _shared_keys(model: Model, sw: Sweep, result: dict[str, np.ndarray]) -> dict[str, list[str]]:
    """Add "<weight key>@<reader>" for each reader of a shared initializer; weight key -> them."""
    shared: dict[str, list[str]] = {}
    for node in model.graph.nodes:
        for wname, vname in _weight_slots(node):
            parts = sw.contributions.get(vname)
            key = f"{node.name}/{wname}"
            if not parts or key not in result or any(key in v for v in shared.values()):
                continue
            keys = []
            for reader, g in parts.items():
                result[f"{key}@{reader}"] = g
                keys.append(f"{key}@{reader}")
            shared[key] = keys
    return shared


def _upstream(graph: object, names: set[str]) -> set[str]:
    """`names` and every value they are computed from (their gradient is incomplete)."""
    producers = {o: n for n in graph.node for o in n.output}  # type: ignore[attr-defined]
    seen: set[str] = set()
    stack = list(names)
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        node = producers.get(v)
        if node is not None:
            stack.extend(node_inputs(node))
    return seen


def _produced(graph: object) -> set[str]:
    return {o for n in graph.node for o in n.output}  # type: ignore[attr-defined]


def _label(model: Model, node: object) -> str:
    for o in node.output:  # type: ignore[attr-defined]
        ir = model.graph.producer(o)
        if ir is not None:
            return ir.name
    return node.name or node.op_type  # type: ignore[attr-defined]


def _collect(model: Model, values: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray],
             needs: set[str]) -> dict[str, np.ndarray]:
    """Keys as `run -o` has them: node outputs, `<node>/<weight>`, and graph inputs.

    Values with no gradient get zeros only when the gradient is truly zero (in `needs` and
    not upstream of a node the gradient could not pass); otherwise they are left out.
    """
    out: dict[str, np.ndarray] = {}
    for name in model.graph.inputs:
        if name in grads:
            out[name] = grads[name]
        elif name in needs:
            out[name] = np.zeros_like(values[name])
    for node in model.graph.nodes:
        reached = any(o in grads for o in node.outputs)
        for o in node.outputs:
            if o in grads:
                out[o] = grads[o]
            elif o in needs and o in values:
                out[o] = np.zeros_like(values[o])  # downstream of the loss: truly zero
        if node.op_type == "Constant":
            continue
        for wname, vname in _weight_slots(node):
            if vname in grads:
                out[f"{node.name}/{wname}"] = grads[vname]
            elif not reached and vname in needs:
                out[f"{node.name}/{wname}"] = np.zeros_like(values[vname])
    for node in model.graph.nodes:
        for _, sub in node.subgraphs:
            _collect_body_weights(sub, values, grads, needs, out, set())
    return out


def _collect_body_weights(graph: Graph, values: Mapping[str, np.ndarray],
                          grads: Mapping[str, np.ndarray], needs: set[str],
                          out: dict[str, np.ndarray], local: set[str]) -> None:
    """`<body node>/<weight>` for outer-scope weights read inside If/Loop/Scan bodies.

    The gradient is the weight's total (summed over iterations and uses), as for a weight
    shared by two main-graph nodes. Body-local constants have no single gradient: left out.
    Main-graph keys win when a body node has the same name.
    """
    local = local | set(graph.initializers) | set(graph.inputs)
    local.update(o for n in graph.nodes for o in n.outputs)
    for node in graph.nodes:
        if node.op_type != "Constant":
            for wname, vname in _weight_slots(node):
                key = f"{node.name}/{wname}"
                if vname in local or key in out:
                    continue
                if vname in grads:
                    out[key] = grads[vname]
                elif vname in needs and vname in values:
                    out[key] = np.zeros_like(values[vname])  # e.g. the branch not taken
        for _, sub in node.subgraphs:
            _collect_body_weights(sub, values, grads, needs, out, local)


def _softmax_seed(graph: Any, out_name: str, y: np.ndarray, loss: str,
                  target: int | float | None, opset: int) -> tuple[Any, np.ndarray] | None:
    """For cross entropy on a 2-D Softmax output, d loss / d logits = (p - onehot) / n exactly.

    Going through the clipped probability instead (as Keras does) gives exactly zero gradients
    whenever the target class's probability is below the clip epsilon, which is common for a
    confident classifier asked "why not class 3?"; the seed at the logits avoids that.
    """
    if loss != "ce" or y.ndim != 2 or y.shape[1] < 2:
        return None
    producer = next((n for n in graph.node if out_name in n.output), None)
    if producer is None or producer.op_type != "Softmax" or not producer.input:
        return None
    axis = next((a.i for a in producer.attribute if a.name == "axis"), -1 if opset >= 13 else 1)
    if axis not in (-1, 1):
        return None
    n = y.shape[0]
    t = class_targets(target, y.argmax(axis=1), y.shape[1])
    onehot = np.zeros_like(y, dtype=np.float64)
    onehot[np.arange(n), t] = 1.0
    return producer, ((y.astype(np.float64) - onehot) / n).astype(y.dtype)
