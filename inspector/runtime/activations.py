"""Every layer's activation for one input, for ONNX files and Keras files.

Keras files run through our own lowering to ONNX (keras_lowered); tf2onnx (the `convert`
extra) is the fallback for a model with a layer the lowering does not cover.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inspector.ir import Model
from inspector.progress import NO_TASK, Task
from inspector.runtime import last_run
from inspector.runtime.errors import ConversionUnavailable, InputError, RunError
from inspector.runtime.keras_convert import PREACT_SUFFIX, convert_keras
from inspector.runtime.keras_lowered import KerasLowering, is_code_layer, lower_keras_file
from inspector.runtime.onnx_probe import ProbeSession
from inspector.runtime.structured_values import StructuredValue

# A few sessions stay open so re-running the same model (new input) skips session creation;
# more would hold several models' weights in memory at once.
_MAX_SESSIONS = 4
_SESSIONS: OrderedDict[tuple[str, int, int, bool, bool], ProbeSession] = OrderedDict()


@dataclass
class ActivationResult:
    """Arrays from one run. `values` keys: ONNX value names, or Keras layer names ("layer:k"
    for later calls of a shared layer, "<layer>/preact" before a fused activation).
    `by_node` maps IR node names to their keys in `values`, a dict, or with `lazy=True`
    a CapturedValues that makes each array when first read."""

    values: Mapping[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    by_node: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    #: Sequence, map and optional values (ZipMap's class -> probability maps, an If that
    #: returns a sequence), by value name; see runtime.structured_values.
    structured: dict[str, StructuredValue] = field(default_factory=dict)
    engine: str = "onnxruntime"  # Keras: "lowering", or "tf2onnx" when a layer forced it
    note: str = ""  # why the fallback engine ran, for the UI and CLI to say


def session_for(path: str | Path, *, expose: bool = True, lazy: bool = False) -> ProbeSession:
    """A cached ProbeSession for `path`, rebuilt when the file changes (mtime or size)."""
    from inspector.runtime.cache import file_identity

    p = Path(path).resolve()
    try:
        key = (*file_identity(p), expose, lazy)
    except OSError:
        raise RunError(f"{p}: no such file") from None
    sess = _SESSIONS.get(key)
    if sess is None and not lazy:
        # A lazy session that took the plain path (external weights, or nothing to reorder)
        # is this very session: share it rather than hold the model's weights twice.
        twin_key = (*key[:3], expose, True)
        twin = _SESSIONS.get(twin_key)
        if twin is not None and twin.layout == "plain":
            key, sess = twin_key, twin
    if sess is None:
        # The file changed (a training step rewrote it): its older sessions are stale.
        for old in [k for k in _SESSIONS if k[0] == key[0] and k[1:3] != key[1:3]]:
            del _SESSIONS[old]
        sess = ProbeSession(p, expose=expose, lazy=lazy)
        _SESSIONS[key] = sess
        while len(_SESSIONS) > _MAX_SESSIONS:
            _SESSIONS.popitem(last=False)
    else:
        _SESSIONS.move_to_end(key)
    return sess


def clear_sessions() -> None:
    """Drop every cached session and the note of the last run (frees their memory)."""
    _SESSIONS.clear()
    last_run.forget()




def _run_onnx(
    model: Model, feeds: dict[str, np.ndarray], task: Task, lazy: bool
) -> ActivationResult:
    sess = session_for(model.path, lazy=lazy)
    task.report(0.1, "running every node")
    captured, structured = sess.run_all(feeds, task.part(0.1, 1.0))
    values: Mapping[str, np.ndarray] = captured if lazy else captured.materialize()
    by_node = {
        node.name: [o for o in node.outputs if o in values] for node in model.graph.nodes
    }
    outputs = {n: values[n] for n in sess.output_names if n in values}
    result = ActivationResult(values, outputs, by_node, dict(sess.skipped), structured=structured)
    last_run.remember(model.path, feeds, result)  # a backprop of this input reuses the values
    return result


def keras_feeds(
    model: Model, feeds: dict[str, np.ndarray], onnx_inputs: dict[str, str], order: list[str]
) -> dict[str, np.ndarray]:
    """Feeds keyed by the IR's input names -> keyed by the converted file's input names."""
    ir_inputs = [n for n in model.graph.inputs if n not in model.graph.initializers]
    out: dict[str, np.ndarray] = {}
    for i, name in enumerate(ir_inputs):
        if name not in feeds:
            raise InputError(f"missing input {name!r}")
        target = onnx_inputs.get(name) or (order[i] if i < len(order) else None)
        if target is None:
            raise InputError(f"input {name!r} is not an input of the converted model")
        arr = np.asarray(feeds[name])
        # tf2onnx declares float32 inputs; a float64 .npy or CSV row is cast, not refused.
        out[target] = arr.astype(np.float32) if arr.dtype == np.float64 else arr
    extra = set(feeds) - set(ir_inputs)
    if extra:
        raise InputError(f"unknown input(s): {', '.join(sorted(extra))}")
    return out


def _keras_by_node(model: Model, values: dict[str, np.ndarray]) -> dict[str, list[str]]:
    """IR node -> keys: its layer name (or the last path segment of a nested one), then the
    `/preact` and `/output_i` keys that belong to it."""
    by_node: dict[str, list[str]] = {}
    for node in model.graph.nodes:
        for cand in dict.fromkeys((node.name, node.name.rsplit("/", 1)[-1])):
            if cand in values:
                extra = [k for k in values if k.startswith(cand + "/") and k.count("/") == cand.count("/") + 1]
                by_node[node.name] = [cand, *extra]
                break
        else:
            by_node[node.name] = []
    return by_node


def keras_engine(model: Model, task: Task = NO_TASK) -> tuple[object, str, str]:
    """(conversion, engine, note) for a Keras model: our lowering when it covers every layer,
    else tf2onnx with a note naming the layer that forced it. Raises RunError naming the layer
    when it holds code (never run) or when tf2onnx is not installed."""
    low: KerasLowering = lower_keras_file(model, task.part(0.0, 0.3))
    if low.ok:
        return low, "lowering", ""
    first = low.blocker()
    name = Path(model.path).name
    if is_code_layer(first.cls):
        raise RunError(
            f"{name}: layer {first.node!r} ({first.cls}) holds Python code, which is never run "
            "from a model file; the model can be viewed but not run"
        )
    note = f"layer {first.node!r} ({first.cls}) is not lowered to ONNX ({first.reason})"
    try:
        conv = convert_keras(Path(model.path), task.part(0.3, 0.8))
    except ConversionUnavailable:
        raise RunError(
            f"{name}: {note}; the 'convert' extra (TensorFlow + tf2onnx) would run it: "
            "pip install 'model-inspector[convert]'"
        ) from None
    return conv, "tf2onnx", f"{note}, so tf2onnx ran the model"


def _run_keras(model: Model, feeds: dict[str, np.ndarray], task: Task) -> ActivationResult:
    conv, engine, note = keras_engine(model, task.part(0.0, 0.8))
    sess = session_for(conv.onnx_path, expose=False)  # type: ignore[attr-defined]
    onnx_feeds = keras_feeds(model, feeds, conv.inputs, sess.input_names)  # type: ignore[attr-defined]
    task.report(0.85, "running every layer")
    raw = sess.run(onnx_feeds, task.part(0.85, 1.0))
    # Input layers come first, holding what was fed, as Keras's InputLayer outputs do.
    values: dict[str, np.ndarray] = {}
    for keras_name, onnx_name in conv.inputs.items():  # type: ignore[attr-defined]
        values[keras_name] = raw[onnx_name]
    for onnx_name, key in conv.outputs.items():  # type: ignore[attr-defined]
        values[key] = raw[onnx_name]
    outputs = {k: values[k] for k in conv.final if k in values}  # type: ignore[attr-defined]
    return ActivationResult(
        values, outputs, _keras_by_node(model, values), {}, engine=engine, note=note
    )


def run_activations(
    model: Model, feeds: dict[str, np.ndarray], task: Task = NO_TASK, *, lazy: bool = False
) -> ActivationResult:
    """Run `model` once on `feeds` (keyed by IR input name) and return every activation.

    `lazy=True` (ONNX only) returns sooner and converts each value when first read; use it
    when only a few values will be looked at (see ProbeSession).
    """
    start = time.perf_counter()
    task.report(0.0, "preparing the run")
    if model.format == "onnx":
        result = _run_onnx(model, feeds, task, lazy)
    elif model.format == "keras":
        result = _run_keras(model, feeds, task)
    else:
        raise RunError(f"cannot run {model.format!r} models")
    result.seconds = time.perf_counter() - start
    return result


__all__ = ["PREACT_SUFFIX", "ActivationResult", "clear_sessions", "run_activations", "session_for"]
