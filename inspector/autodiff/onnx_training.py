"""Training steps on a Keras file without TensorFlow: the ONNX engine on the file's lowering.

Each step runs the lowered model with the current weights (onnxruntime), takes the loss's
gradient at every trainable weight by the reverse sweep (`sweep.backward`) and applies
Keras's own SGD or Adam update in numpy. The lowering is the inference graph, so a step is
Keras's `training=False` step: Dropout passes everything and BatchNormalization keeps its
moving statistics (they are not trained, as in Keras; they are not updated either, which
Keras does in `training=True` mode). `TrainingResult.note` says so when the model has such
layers. The file on disk is never written; `write_trained_keras` makes a new file with the
trained weights by copying the source and replacing its weight arrays (h5py, no Keras).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from inspector.ir import Model
from inspector.progress import NO_TASK, Task
from inspector.runtime.errors import InputError, RunError

#: Keras variables that an optimizer never updates (statistics, not parameters).
STATISTICS = frozenset({"moving_mean", "moving_variance", "mean", "variance", "count"})
#: Layers whose inference graph differs from their training step.
_TRAINING_MODE_LAYERS = frozenset({
    "BatchNormalization", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
    "GaussianNoise", "GaussianDropout", "AlphaDropout",
})
#: Keras 3's Adam defaults.
BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-7


class Optimizer:
    """Keras's SGD (no momentum) or Adam update, applied in place to float32 arrays."""

    def __init__(self, kind: str, lr: float) -> None:
        self.kind, self.lr, self.t = kind, float(lr), 0
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}

    def step(self, weights: dict[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        self.t += 1
        for name, g in grads.items():
            w = weights[name]
            g = np.asarray(g, dtype=w.dtype).reshape(w.shape)
            if self.kind == "sgd":
                w -= self.lr * g
                continue
            m = self.m.setdefault(name, np.zeros_like(w))
            v = self.v.setdefault(name, np.zeros_like(w))
            m += (g - m) * (1 - BETA_1)
            v += (g * g - v) * (1 - BETA_2)
            alpha = self.lr * np.sqrt(1 - BETA_2 ** self.t) / (1 - BETA_1 ** self.t)
            w -= (alpha * m / (np.sqrt(v) + EPSILON)).astype(w.dtype)


def trainable_weights(model: Model, weights: Mapping[str, tuple[str, str]]) -> dict[str, str]:
    """Initializer name -> "<layer>/<variable>" for the variables Keras would train: not a
    statistic, not in a layer (or nested model) saved with `trainable: false`."""
    frozen = set()
    for node in model.graph.nodes:
        cfg = (node.source or {}).get("config", {}) if isinstance(node.source, dict) else {}
        if isinstance(cfg, dict) and cfg.get("trainable") is False:
            frozen.add(node.name)
    owner = {n.name: n for n in model.graph.nodes}
    out = {}
    for init, (layer, var) in weights.items():
        node = owner.get(layer)
        if var in STATISTICS or layer in frozen:
            continue
        if node is not None and any(g in frozen for g in node.group):  # a frozen submodel
            continue
        out[init] = f"{layer}/{var}"
    return out


def training_mode_note(model: Model) -> str:
    """One sentence when the model has layers whose training step differs from inference."""
    found = sorted({n.op_type for n in model.graph.nodes if n.op_type in _TRAINING_MODE_LAYERS})
    if not found:
        return ""
    return (f"the ONNX engine takes inference-mode steps: {', '.join(found)} behave as at "
            "inference (no dropout; BatchNormalization's moving statistics are kept)")


class LoweredTrainer:
    """The lowered model, its weights, and one `step()` = forward, loss, backward, update."""

    def __init__(self, model: Model, low: Any, feeds: Mapping[str, np.ndarray],
                 y: np.ndarray, loss: str, optimizer: str, lr: float) -> None:
        import onnx
        from onnx import numpy_helper

        from inspector.loaders.registry import load_model
        from inspector.runtime.activations import keras_feeds

        self.model, self.low, self.loss = model, low, loss
        self.proto = onnx.load(low.onnx_path)
        self.onnx_model = load_model(low.onnx_path)
        onnx_in = [n for n in self.onnx_model.graph.inputs
                   if n not in self.onnx_model.graph.initializers]
        self.feeds = keras_feeds(model, dict(feeds), low.inputs, onnx_in)
        self.out_name = {k: o for o, k in low.outputs.items()}[low.final[0]]
        self.keys = trainable_weights(model, low.weights)
        self.weights = {i.name: numpy_helper.to_array(i).copy()
                        for i in self.proto.graph.initializer if i.name in self.keys}
        self.target = np.asarray(y)
        self.opt = Optimizer(optimizer, lr)
        self._dir = Path(tempfile.mkdtemp(prefix="mi-train-"))
        self._step = 0

    def named_weights(self) -> dict[str, np.ndarray]:
        """Every lowered Keras variable as "<layer>/<variable>" (statistics included)."""
        from onnx import numpy_helper

        out = {}
        for init in self.proto.graph.initializer:
            if init.name in self.low.weights:
                layer, var = self.low.weights[init.name]
                arr = self.weights.get(init.name)
                out[f"{layer}/{var}"] = (arr if arr is not None
                                         else numpy_helper.to_array(init)).copy()
        return out

    def _current_model(self) -> Model:
        """The lowered ONNX with this step's weights, as a file the engine can run."""
        from onnx import numpy_helper

        for init in self.proto.graph.initializer:
            if init.name in self.weights:
                init.CopyFrom(numpy_helper.from_array(self.weights[init.name], init.name))
        self._step += 1
        path = self._dir / f"step{self._step % 2}.onnx"
        path.write_bytes(self.proto.SerializeToString())
        return dataclasses.replace(self.onnx_model, path=str(path))

    def _target(self) -> np.ndarray:
        """Targets per row: class indices for "ce"; for "mse" a column when y is a vector
        (a one-unit output), as Keras reshapes y to the output."""
        if self.loss == "mse" and self.target.ndim == 1:
            return self.target.reshape(-1, 1).astype(np.float32)
        return self.target

    def forward_backward(self, task: Task = NO_TASK) -> Any:
        """The sweep at the current weights (its `lv.loss` is the loss before the update)."""
        from inspector.autodiff.sweep import backward

        sw = backward(self._current_model(), self.feeds, self._target(), self.loss,
                      self.out_name, task)
        self.last_values = sw.values
        return sw

    def step(self, task: Task = NO_TASK) -> float:
        sw = self.forward_backward(task)
        if sw.uncovered:
            node, why = next(iter(sw.uncovered.items()))
            raise RunError(f"the gradient cannot pass {node!r} ({why}): no training step")
        loss = float(sw.lv.loss)
        if not np.isfinite(loss):
            return loss
        self.opt.step(self.weights, {k: sw.grads[k] for k in self.weights if k in sw.grads})
        return loss

    def activations(self, values: Mapping[str, np.ndarray] | None = None
                    ) -> dict[str, np.ndarray]:
        """Every layer output for the training input, by `run -o` key: from `values` (a
        step's forward values) or from a fresh run at the current weights."""
        if values is None:
            from inspector.runtime.onnx_probe import ProbeSession

            values = ProbeSession(self._current_model().path).run(dict(self.feeds))
        return {k: np.array(values[o]) for o, k in self.low.outputs.items() if o in values}

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


def write_trained_keras(source: str | Path, locations: Mapping[str, str],
                        weights: Mapping[str, np.ndarray], out: str | Path) -> Path:
    """Copy the Keras file `source` to `out` with each "<layer>/<variable>" in `weights`
    written over its HDF5 dataset (`locations`: key -> dataset path). No TensorFlow: the
    config is kept byte for byte, only weight arrays change (shapes and dtypes as stored)."""
    import h5py

    src, dst = Path(source), Path(out)
    tmp = dst.with_name(dst.name + ".part")
    try:
        if zipfile.is_zipfile(src):
            with zipfile.ZipFile(src) as zin:
                names = zin.namelist()
                if "model.weights.h5" not in names:
                    raise RunError(f"{src.name}: keeps its weights in another format; "
                                   "the trained copy needs TensorFlow to be written")
                with tempfile.TemporaryDirectory() as d:
                    h5 = Path(d) / "model.weights.h5"
                    h5.write_bytes(zin.read("model.weights.h5"))
                    _overwrite(h5, locations, weights, h5py)
                    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
                        for info in zin.infolist():
                            data = (h5.read_bytes() if info.filename == "model.weights.h5"
                                    else zin.read(info.filename))
                            zout.writestr(info, data)
        else:
            shutil.copyfile(src, tmp)
            _overwrite(tmp, locations, weights, h5py)
        tmp.replace(dst)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise RunError(f"{dst}: cannot be written ({e.strerror or e})") from None
    return dst


def _overwrite(h5path: Path, locations: Mapping[str, str], weights: Mapping[str, np.ndarray],
               h5py: Any) -> None:
    with h5py.File(h5path, "r+") as f:
        for key, arr in weights.items():
            where = locations.get(key)
            if not where or where not in f:
                raise RunError(f"weight {key} has no place in the file to be written to")
            ds = f[where]
            if ds.shape != np.shape(arr):
                raise RunError(f"weight {key}: trained shape {np.shape(arr)} is not the "
                               f"file's {ds.shape}")
            ds[...] = np.asarray(arr, dtype=ds.dtype)


def weight_locations(model: Model) -> dict[str, str]:
    """"<layer>/<variable>" -> the HDF5 dataset the loader read it from."""
    return {f"{n.name}/{w.name}": w.tensor.location for n in model.graph.nodes
            for w in n.weights if w.tensor.kind == "keras" and w.tensor.location}


def check_batch(feeds: Mapping[str, np.ndarray], y: np.ndarray) -> None:
    """InputError unless every input and `y` have the same number of rows."""
    batch = {np.shape(v)[0] for v in feeds.values() if np.ndim(v)}
    if len(batch) != 1 or np.shape(y)[:1] != (next(iter(batch)),):
        raise InputError(f"x has {sorted(batch)} rows but y has {np.shape(y)[:1]}")
