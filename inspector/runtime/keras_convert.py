"""Keras file -> "probe" ONNX whose outputs are every layer's output (the `convert` extra).

tf2onnx fuses layers (BatchNormalization into Conv), so ONNX nodes are not Keras layers. We
therefore convert a probe model, `keras.Model(inputs, [every layer's output])`, whose ONNX
outputs map 1:1 back to layers. Nested models are replayed layer by layer so their inner
layers are outputs too. Layers with a fused activation also get `<layer>/preact`, the value
before the activation, computed by the same layer with its activation switched off.
The file is opened with safe_mode and its config is scanned for Lambda layers first, so no
code stored in a model file is ever run.
"""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspector.progress import NO_TASK, Task
from inspector.runtime import cache
from inspector.runtime.errors import ConversionUnavailable, RunError

PROBE_VERSION = "probe-1"
OPSET = 17
PREACT_SUFFIX = "/preact"
# Layers whose call() ends in `self.activation(x)`, so switching it off gives the pre-activation.
FUSED_ACTIVATION_LAYERS = frozenset(
    {
        "Dense", "EinsumDense", "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose",
        "Conv2DTranspose", "Conv3DTranspose", "DepthwiseConv1D", "DepthwiseConv2D",
        "SeparableConv1D", "SeparableConv2D",
    }
)
# Layer classes whose config carries Python code; Keras would have to run it to call them.
_CODE_LAYERS = frozenset({"Lambda", "TFOpLambda", "SlicingOpLambda"})


@dataclass(frozen=True)
class KerasConversion:
    """A converted probe: the ONNX file, ONNX output name -> Keras key (layer name, "layer:k"
    for later calls of a shared layer, "<layer>/preact"), Keras input name -> ONNX input name."""

    onnx_path: Path
    outputs: dict[str, str]
    inputs: dict[str, str]
    from_cache: bool = False
    seconds: float = 0.0
    versions: dict[str, str] = field(default_factory=dict)
    final: tuple[str, ...] = ()  # keys of the model's own outputs, in order


def _import_frameworks() -> tuple[Any, Any, Any]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import keras
        import tensorflow as tf
        import tf2onnx
    except ImportError:
        raise ConversionUnavailable() from None
    return tf, keras, tf2onnx


def _read_config(path: Path) -> Any:
    """The model config JSON straight from the file (no Keras), or None if not found."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                info = zf.getinfo("config.json")
                if info.file_size > 256 * 2**20:
                    raise RunError(f"{path.name}: config.json is implausibly large")
                return json.loads(zf.read(info))
        import h5py

        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
            if raw is None:
                return None
            return json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    except RunError:
        raise
    except Exception:  # noqa: BLE001 - unreadable here means Keras will say why below
        return None


def _code_layers(config: Any) -> list[str]:
    """Names of Lambda-like layers anywhere in a config tree."""
    found: list[str] = []
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("class_name") in _CODE_LAYERS:
                cfg = item.get("config")
                found.append(str(cfg.get("name") if isinstance(cfg, dict) else item.get("name")))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def load_keras(path: Path) -> Any:
    """Load a Keras file for running: safe_mode, no compile, Lambda layers refused."""
    _, keras, _ = _import_frameworks()
    lambdas = _code_layers(_read_config(path))
    if lambdas:
        raise RunError(
            f"{path.name}: Lambda layer {lambdas[0]!r} holds Python code, which is never run "
            "from a model file; the model can be viewed but not run"
        )
    try:
        return keras.models.load_model(str(path), compile=False, safe_mode=True)
    except Exception as e:  # noqa: BLE001 - Keras raises anything for a bad file
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        if "lambda" in first.lower():
            raise RunError(f"{path.name}: has a Lambda layer, which cannot be run safely") from None
        raise RunError(f"{path.name}: Keras cannot load this model ({first})") from None


def functional_graph(model: Any, keras: Any) -> Any:
    """The Functional graph behind a model (a Sequential keeps one once it is built)."""
    if hasattr(model, "_nodes_by_depth") and hasattr(model, "inputs"):
        return model
    inner = getattr(model, "_functional", None)
    if inner is not None:
        return inner
    raise RunError(f"model {model.name!r} has no input shape, so it cannot be run")


def _is_model(op: Any, keras: Any) -> bool:
    return isinstance(op, keras.Model)


def _make_preact(keras: Any, layer: Any) -> Any:
    """A layer computing `layer` without its activation, sharing its weights."""

    class PreActivation(keras.layers.Layer):
        def __init__(self, inner: Any) -> None:
            super().__init__(name=f"{inner.name}__preact")
            self._inner = [inner]  # a list, so Keras does not track the weights twice

        def call(self, inputs: Any) -> Any:
            inner = self._inner[0]
            act = inner.activation
            inner.activation = keras.activations.linear
            try:
                return inner.call(inputs)
            finally:
                inner.activation = act

    return PreActivation(layer)


class LayerRecorder:
    """Replays a functional graph on new tensors, recording every operation's outputs.

    With `preact`, a layer with a fused activation also records its output before the
    activation, under "<layer>/preact".
    """

    def __init__(self, keras: Any, preact: bool = True) -> None:
        self.keras = keras
        self.preact = preact
        self.keys: list[str] = []
        self.tensors: list[Any] = []
        self.calls: dict[int, int] = {}
        self.used: set[str] = set()
        self.model_nodes: list[Any] = []

    def _key(self, op: Any, prefix: str, node: Any = None) -> str:
        k = self.calls.get(id(op), 0)
        self.calls[id(op)] = k + 1
        # `layer:k` is the call's index among the layer's nodes, as the config (and so the
        # IR) numbers it; the replay runs calls by depth, which can be another order.
        nodes = [n for n in getattr(op, "_inbound_nodes", []) if n in self.model_nodes]
        if node is not None and node in nodes:
            k = nodes.index(node)
        key = op.name if k == 0 else f"{op.name}:{k}"
        if key in self.used:
            key = f"{prefix}{key}"
        self.used.add(key)
        return key

    def record(self, key: str, outputs: Any) -> None:
        flat = self.keras.tree.flatten(outputs)
        for i, t in enumerate(flat):
            self.keys.append(key if i == 0 else f"{key}/output_{i}")
            self.tensors.append(t)

    def replay(self, model: Any, inputs: list[Any], prefix: str = "") -> list[Any]:
        fn = functional_graph(model, self.keras)
        tensor_dict = {id(x): y for x, y in zip(fn.inputs, inputs, strict=True)}
        self.model_nodes = [n for d in fn._nodes_by_depth.values() for n in d]  # noqa: SLF001
        for depth in sorted(fn._nodes_by_depth, reverse=True):  # noqa: SLF001
            for node in fn._nodes_by_depth[depth]:  # noqa: SLF001
                op = node.operation
                if op is None or node.is_input:
                    continue
                if any(id(x) not in tensor_dict for x in node.input_tensors):
                    continue
                args, kwargs = node.arguments.fill_in(tensor_dict)
                if _is_model(op, self.keras):
                    key = self._key(op, prefix, node)
                    flat = self.keras.tree.flatten(args)
                    outer_nodes = self.model_nodes
                    outputs = self.replay(op, flat, prefix=f"{key}/")
                    self.model_nodes = outer_nodes
                    outputs = self.keras.tree.pack_sequence_as(
                        functional_graph(op, self.keras)._outputs_struct, outputs  # noqa: SLF001
                    )
                else:
                    key = self._key(op, prefix, node)
                    outputs = op(*args, **kwargs)
                self.record(key, outputs)
                act = getattr(op, "activation", None)
                if (
                    self.preact
                    and type(op).__name__ in FUSED_ACTIVATION_LAYERS
                    and act is not None
                    and getattr(act, "__name__", "") != "linear"
                ):
                    self.record(key + PREACT_SUFFIX, _make_preact(self.keras, op)(args[0]))
                for x, y in zip(node.outputs, self.keras.tree.flatten(outputs), strict=False):
                    tensor_dict[id(x)] = y
        return [tensor_dict[id(x)] for x in fn.outputs]


def build_probe(model: Any) -> tuple[Any, list[str], list[str], list[str]]:
    """(probe keras.Model, output keys in order, input names, keys of the model's outputs)."""
    _, keras, _ = _import_frameworks()
    fn = functional_graph(model, keras)
    names = [getattr(t, "name", None) or f"input_{i}" for i, t in enumerate(fn.inputs)]
    # InputLayer names are what the IR calls the model's inputs.
    layer_names = []
    for i, t in enumerate(fn.inputs):
        hist = getattr(t, "_keras_history", None)
        layer_names.append(hist[0].name if hist is not None else names[i])
    new_inputs = [
        keras.Input(batch_shape=t.shape, dtype=t.dtype, name=n)
        for t, n in zip(fn.inputs, layer_names, strict=True)
    ]
    rec = LayerRecorder(keras)
    rec.used.update(layer_names)
    finals = rec.replay(fn, new_inputs)
    probe = keras.Model(new_inputs, rec.tensors, name=f"{model.name}_probe")
    index = {id(t): k for k, t in zip(rec.keys, rec.tensors, strict=True)}
    return probe, rec.keys, layer_names, [index[id(t)] for t in finals]


def _to_onnx(probe: Any, input_names: list[str]) -> Any:
    tf, _, tf2onnx = _import_frameworks()
    spec = [
        tf.TensorSpec(tuple(t.shape), t.dtype, name=n)
        for t, n in zip(probe.inputs, input_names, strict=True)
    ]
    try:
        proto, _ = tf2onnx.convert.from_keras(probe, input_signature=spec, opset=OPSET)
    except Exception as e:  # noqa: BLE001 - converter failures become one line
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        raise RunError(f"tf2onnx could not convert this model ({type(e).__name__}: {first})") from None
    return proto


def _versions() -> dict[str, str]:
    # Read from the installed distributions, not by importing TensorFlow (3-9 s): a cache hit
    # in a new process must not pay for an import it does not need.
    from importlib import metadata

    def version(*dists: str) -> str:
        for d in dists:
            try:
                return metadata.version(d)
            except metadata.PackageNotFoundError:
                continue
        raise ConversionUnavailable()

    return {
        "tensorflow": version("tensorflow-cpu", "tensorflow", "tensorflow-intel"),
        "keras": version("keras"),
        "tf2onnx": version("tf2onnx"),
        "probe": PROBE_VERSION,
        "opset": str(OPSET),
    }


def convert_keras(
    path: str | Path, task: Task = NO_TASK, cache_dir: Path | None = None
) -> KerasConversion:
    """Convert a Keras file to a probe ONNX (cached by file hash and converter versions)."""
    start = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise RunError(f"{path}: no such file")
    task.report(0.0, "loading TensorFlow")
    versions = _versions()
    key = cache.cache_key(path, *(f"{k}={v}" for k, v in sorted(versions.items())))
    hit = cache.read_entry(key, cache_dir)
    if hit is not None:
        onnx_path, meta = hit
        task.report(1.0, "conversion found in cache")
        return KerasConversion(
            onnx_path, dict(meta["outputs"]), dict(meta["inputs"]), True,
            time.perf_counter() - start, versions, tuple(meta["final"]),
        )
    task.report(0.1, "loading the Keras model")
    model = load_keras(path)
    task.report(0.25, "building the probe model")
    probe, keys, input_names, finals = build_probe(model)
    task.report(0.35, f"converting {len(keys)} layer outputs to ONNX (tf2onnx)")
    proto = _to_onnx(probe, input_names)
    task.check()
    onnx_outputs = [o.name for o in proto.graph.output]
    if len(onnx_outputs) != len(keys):
        raise RunError(
            f"{path.name}: tf2onnx produced {len(onnx_outputs)} outputs for {len(keys)} layer outputs"
        )
    outputs = dict(zip(onnx_outputs, keys, strict=True))
    inputs = {n: i.name for n, i in zip(input_names, proto.graph.input, strict=False)}
    task.report(0.9, "caching the converted model")
    buf = io.BytesIO(proto.SerializeToString())
    meta = {
        "source": str(path), "outputs": outputs, "inputs": inputs, "versions": versions,
        "final": finals,
    }
    onnx_path = cache.write_entry(key, buf.getvalue(), meta, cache_dir)
    task.report(1.0, "converted")
    return KerasConversion(
        onnx_path, outputs, inputs, False, time.perf_counter() - start, versions, tuple(finals)
    )
