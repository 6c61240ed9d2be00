"""Gradients of a Keras model through the ONNX engine on its lowering (no TensorFlow).

The Keras file is lowered to ONNX (`inspector.lowering`, cached by `runtime.keras_lowered`),
where every layer call's output is an ONNX value named with its `run -o` key. The numpy
reverse sweep (`sweep.backward`) runs over that graph; its gradients are keyed back to the
Keras names: layer outputs by key, weights as "<layer>/<weight>", inputs by Keras input name.
A shared layer's weight holds its total gradient under "<layer>/<weight>" and each call's
contribution under "<layer>/<weight>@<call key>" (listed in `GradientResult.shared`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from inspector.autodiff.results import GradientResult, norms_by_block
from inspector.ir import Model
from inspector.progress import NO_TASK, Task
from inspector.runtime.errors import InputError

PREACT = "/preact"


def lowered(model: Model, task: Task = NO_TASK) -> Any:
    """The model's `KerasLowering` (`.ok` False when a layer is not lowered)."""
    from inspector.runtime.keras_lowered import lower_keras_file

    return lower_keras_file(model, task)


def call_of(key: str) -> str:
    """The layer call a key belongs to: "dense:1/preact" -> "dense:1", "lstm/output_1" -> "lstm"."""
    if key.endswith(PREACT):
        return key[: -len(PREACT)]
    head, _, tail = key.rpartition("/output_")
    return head if head and tail.isdigit() else key


def segments(proto_graph: Any, keys: Mapping[str, str]) -> dict[str, str]:
    """ONNX node name -> the layer call that emitted it.

    The lowering emits each call's nodes in one run ending with the node that produces the
    call's key, so each node belongs to the next key produced at or after it.
    """
    out: dict[str, str] = {}
    pending: list[str] = []
    for node in proto_graph.node:
        pending.append(node.name or node.op_type)
        key = next((keys[o] for o in node.output if o in keys), None)
        if key is not None:
            call = call_of(key)
            for n in pending:
                out[n] = call
            pending = []
    return out


def lowered_gradients(
    model: Model,
    low: Any,
    feeds: Mapping[str, np.ndarray],
    target: int | float | None = None,
    loss: str = "ce",
    output: str | None = None,
    task: Task = NO_TASK,
) -> GradientResult:
    """Gradients of `loss` on the Keras `output` key, by the ONNX engine on lowering `low`."""
    from inspector.autodiff.sweep import backward
    from inspector.loaders.registry import load_model
    from inspector.runtime.activations import keras_feeds

    onnx_model = load_model(low.onnx_path)
    onnx_in = [n for n in onnx_model.graph.inputs if n not in onnx_model.graph.initializers]
    onnx_feeds = keras_feeds(model, dict(feeds), low.inputs, onnx_in)
    key_of = dict(low.outputs)  # ONNX value -> key
    onnx_of = {k: o for o, k in key_of.items()}
    out_key = output or (low.final[0] if low.final else "")
    if out_key in low.inputs or out_key not in onnx_of:
        raise InputError(f"'{out_key}' is not a layer output that a loss can be taken on")
    calls: dict[str, str] = {}
    alias: dict[str, str] = {}

    def labeller(graph: Any) -> Any:
        calls.update(segments(graph, key_of))
        # A key placed as an Identity of another value (a nested model's output) is the same
        # tensor: its gradient is the source's total, not the alias's own (often zero) part.
        for n in graph.node:
            if n.op_type == "Identity" and n.output and n.output[0] in key_of and n.input:
                alias[n.output[0]] = n.input[0]
        return lambda node: calls.get(node.name or node.op_type, node.name or node.op_type)

    sw = backward(onnx_model, onnx_feeds, target, loss, onnx_of[out_key], task,
                  labeller=labeller)
    task.report(0.97, "collecting gradients")
    grads, needs = sw.grads, sw.needs
    values: dict[str, np.ndarray] = {}
    for kname, oname in low.inputs.items():
        if oname in grads:
            values[kname] = grads[oname]
        elif oname in needs:
            values[kname] = np.zeros_like(sw.values[oname])
    for oname, key in key_of.items():
        src = oname
        while src in alias and src not in low.final:
            src = alias[src]
        if src in grads:
            oname = src
        if key.endswith(PREACT) and oname not in grads:
            continue
        if oname in grads:
            values[key] = grads[oname]
        elif oname in needs and oname in sw.values:
            values[key] = np.zeros_like(sw.values[oname])  # downstream of the loss: truly zero
    shared: dict[str, list[str]] = {}
    for init, (node, wname) in low.weights.items():
        key = f"{node}/{wname}"
        if init in grads:
            values[key] = grads[init]
        elif init in needs and init in sw.values:
            values[key] = np.zeros_like(sw.values[init])
        else:
            continue
        parts: dict[str, np.ndarray] = {}
        for reader, g in sw.contributions.get(init, {}).items():
            call = calls.get(reader, reader)
            parts[call] = parts[call] + g if call in parts else g
        if len(parts) > 1:
            shared[key] = []
            for call, g in parts.items():
                values[f"{key}@{call}"] = g
                shared[key].append(f"{key}@{call}")
    norms, norm = {}, norms_by_block()
    for n in model.graph.nodes:
        if n.name in values:
            norms[n.name] = norm(values[n.name])
    task.report(1.0, "done")
    return GradientResult(values, sw.lv.loss, sw.lv.target, loss, out_key, sw.uncovered, norms,
                          reduction=sw.lv.reduction, engine="lowering", shared=shared)
