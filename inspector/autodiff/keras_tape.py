"""Gradients of a Keras model with TensorFlow's GradientTape on the original model.

The functional graph is replayed call by call in eager mode inside the tape (nested models
recursively, with `keras_convert`'s recorder, so keys match `run -o`), so every layer's
output is on the tape. A multi-output probe model would be simpler but gave zero gradients
for a layer feeding a nested model (NOTES.md), so the original layers are called.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from inspector.autodiff.losses import loss_and_grad
from inspector.autodiff.results import GradientResult, l2_norm
from inspector.ir import Model, Node
from inspector.progress import NO_TASK, Task
from inspector.runtime.errors import ConversionUnavailable, InputError, RunError

_PROB_ACTIVATIONS = ("softmax", "sigmoid")
_cache_lock = threading.Lock()
_cache: dict[str, tuple[float, Any]] = {}


def import_tf() -> tuple[Any, Any]:
    """(tensorflow, keras), imported with oneDNN off; ConversionUnavailable when missing."""
    # oneDNN corrupted memory computing a 1x1 stride-2 Conv2D gradient (NOTES.md); the switch
    # only works before TensorFlow's first import.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import keras
        import tensorflow as tf
    except ImportError:
        raise ConversionUnavailable("Gradients of a Keras model") from None
    return tf, keras


def load_keras_cached(path: str) -> Any:
    """The Keras model at `path` (safe_mode, no compile), reused while the file is unchanged."""
    from inspector.runtime.keras_convert import load_keras

    p = Path(path)
    try:
        mtime = p.stat().st_mtime
    except OSError:
        raise RunError(f"{p}: no such file") from None
    key = str(p.resolve())
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == mtime:
            return hit[1]
    kmodel = load_keras(p)
    with _cache_lock:
        _cache.clear()  # one model at a time: Keras models are large
        _cache[key] = (mtime, kmodel)
    return kmodel


def is_probability_node(node: Node | None) -> bool:
    """Whether a Keras layer's output is already a probability (softmax/sigmoid activation)."""
    if node is None:
        return False
    if node.op_type == "Softmax":
        return True
    act = node.attr("activation")
    if isinstance(act, dict):  # Keras 3 may serialise a built-in as {"config": "softmax", ...}
        act = act.get("config", act.get("class_name"))
    return isinstance(act, str) and act.lower() in _PROB_ACTIVATIONS


def layer_index(kmodel: Any, keras: Any) -> dict[str, Any]:
    """Layer objects by IR node name: the plain name, and "outer/inner" inside nested models."""
    out: dict[str, Any] = {}

    def walk(m: Any, prefix: str) -> None:
        for layer in m.layers:
            out.setdefault(layer.name, layer)
            out.setdefault(prefix + layer.name, layer)
            if isinstance(layer, keras.Model):
                walk(layer, f"{prefix}{layer.name}/")

    walk(kmodel, "")
    return out


def replay_on_tape(kmodel: Any, inputs: Mapping[str, np.ndarray], tape: Any) -> tuple[
    dict[str, Any], list[str], list[Any], list[str]
]:
    """Call every layer eagerly (inside `tape`): ({key: tensor}, input names, input tensors,
    keys of the model's outputs)."""
    import tensorflow as tf

    from inspector.runtime.keras_convert import LayerRecorder, functional_graph

    _, keras = import_tf()
    fn = functional_graph(kmodel, keras)
    names = []
    for i, t in enumerate(fn.inputs):
        hist = getattr(t, "_keras_history", None)
        names.append(hist[0].name if hist is not None else f"input_{i}")
    missing = [n for n in names if n not in inputs]
    if missing:
        raise InputError(f"missing input(s): {', '.join(missing)}")
    xs = [tf.convert_to_tensor(np.asarray(inputs[n]), dtype=t.dtype)
          for n, t in zip(names, fn.inputs, strict=True)]
    for x in xs:
        tape.watch(x)
    # "<layer>/preact" tensors come from a second call, off the path to the loss: left out.
    rec = LayerRecorder(keras, preact=False)
    rec.used.update(names)
    try:
        finals = rec.replay(fn, xs)
    except (ValueError, TypeError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise InputError(f"the input does not fit the model ({first})") from None
    index = {id(t): k for k, t in zip(rec.keys, rec.tensors, strict=True)}
    tensors = dict(zip(rec.keys, rec.tensors, strict=True))
    return tensors, names, xs, [index.get(id(t), "") for t in finals]


def keras_gradients(
    model: Model,
    feeds: Mapping[str, np.ndarray],
    target: int | float | None = None,
    loss: str = "ce",
    output: str | None = None,
    task: Task = NO_TASK,
) -> GradientResult:
    """Gradients of `loss` on a Keras model's `output` layer at every layer, weight and input."""
    tf, keras = import_tf()
    task.report(0.0, "loading the Keras model")
    kmodel = load_keras_cached(model.path)
    task.report(0.2, "forward pass")
    kvars = list(kmodel.weights)
    # Keras 3 variables wrap a tf.Variable, which is what the tape can watch.
    variables = [getattr(v, "value", v) for v in kvars]
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        for v in variables:  # non-trainable ones too: BN statistics shape the output as well
            tape.watch(v)
        tensors, in_names, xs, finals = replay_on_tape(kmodel, feeds, tape)
    task.check()
    out_key = output or (finals[0] if finals else "")
    if out_key not in tensors:
        raise InputError(f"'{out_key}' is not a layer output that a loss can be taken on")
    y = tensors[out_key]
    node = _ir_node(model, out_key)
    lv = loss_and_grad(y.numpy(), loss, target, probabilities=is_probability_node(node))

    task.report(0.5, "backward pass")
    keys = list(tensors)
    sources = [tensors[k] for k in keys] + xs + variables
    grads = tape.gradient(y, sources, output_gradients=tf.constant(lv.grad, dtype=y.dtype),
                         unconnected_gradients=tf.UnconnectedGradients.ZERO)
    task.check()
    values: dict[str, np.ndarray] = {}
    for k, g in zip(keys, grads[: len(keys)], strict=True):
        values[k] = np.asarray(g)
    for n, g in zip(in_names, grads[len(keys): len(keys) + len(xs)], strict=True):
        values[n] = np.asarray(g)
    vgrads = {id(v): np.asarray(g) for v, g in zip(kvars, grads[len(keys) + len(xs):],
                                                    strict=True)}
    values.update(_weight_grads(model, kmodel, keras, vgrads))
    norms = {}
    for n in model.graph.nodes:
        gs = [values[k] for k in (n.name, *n.outputs) if k in values][:1]
        if gs:
            norms[n.name] = l2_norm(gs[0])
    task.report(1.0, "done")
    return GradientResult(values, lv.loss, lv.target, loss, out_key, {}, norms,
                          reduction=lv.reduction, engine="gradienttape")


def _ir_node(model: Model, key: str) -> Node | None:
    try:
        return model.graph.node(key)
    except KeyError:
        return model.graph.producer(key)


def _weight_grads(model: Model, kmodel: Any, keras: Any,
                  vgrads: Mapping[int, np.ndarray]) -> dict[str, np.ndarray]:
    """`<IR node name>/<IR weight name>` -> gradient, matching IR weights to `layer.weights`
    in order (the loader lists them in that order), falling back to the variable's own name."""
    layers = layer_index(kmodel, keras)
    out: dict[str, np.ndarray] = {}
    for node in model.graph.nodes:
        if not node.weights:
            continue
        base = node.name.split(":")[0]
        layer = layers.get(base) or layers.get(base.rsplit("/", 1)[-1])
        if layer is None:
            continue
        kvars = list(layer.weights)
        for i, w in enumerate(node.weights):
            var = kvars[i] if i < len(kvars) and len(kvars) == len(node.weights) else None
            if var is None:
                var = next((v for v in kvars if v.name == w.name), None)
            if var is not None and id(var) in vgrads:
                out[f"{node.name}/{w.name}"] = vgrads[id(var)]
    return out
