"""A few real training steps on a Keras model, in memory, to show how weights move.

By default the steps run on the file's lowering to ONNX, without TensorFlow
(`onnx_training`): onnxruntime forward, the numpy reverse sweep, Keras's SGD or Adam
update. When a layer is not lowered, or with `engine="gradienttape"`, the model is loaded
fresh with Keras (safe_mode, no compile) and trained with TensorFlow. The file on disk is
never written; `save_trained_copy` writes the result to a new file when the user asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inspector.progress import NO_TASK, Task
from inspector.runtime.errors import InputError, RunError

OPTIMIZERS = ("sgd", "adam")
MAX_STEPS = 10_000


@dataclass
class TrainingResult:
    """Loss per step (before that step's update), weights keyed "<layer>/<variable>" before
    and after, optionally every layer's activation for `x` before and after, and the
    trained in-memory model (for `save_trained_copy`)."""

    losses: list[float]
    weights_before: dict[str, np.ndarray]
    weights_after: dict[str, np.ndarray]
    activations_before: dict[str, np.ndarray] | None = None
    activations_after: dict[str, np.ndarray] | None = None
    model: Any = field(default=None, repr=False)
    source_path: str = ""
    loss_kind: str = "ce"
    optimizer: str = "sgd"
    #: "lowering" (ONNX engine, no TensorFlow) or "gradienttape".
    engine: str = "gradienttape"
    #: Why the engine was chosen or how its steps differ from Keras's, or "".
    note: str = ""
    #: "<layer>/<variable>" -> HDF5 dataset, for writing a trained copy without Keras.
    locations: dict[str, str] = field(default_factory=dict, repr=False)


def _weights(kmodel: Any, keras: Any) -> dict[str, np.ndarray]:
    """Every variable as "<layer>/<variable name>", nested models flattened like the IR."""
    out: dict[str, np.ndarray] = {}

    def walk(m: Any) -> None:
        for layer in m.layers:
            if isinstance(layer, keras.Model):
                walk(layer)
                continue
            for v in layer.weights:
                out.setdefault(f"{layer.name}/{v.name}", np.array(v.numpy()))

    walk(kmodel)
    return out


def _activations(kmodel: Any, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    import tensorflow as tf

    from inspector.autodiff.keras_tape import replay_on_tape

    with tf.GradientTape() as tape:
        tensors, _, _, _ = replay_on_tape(kmodel, feeds, tape)
    return {k: np.asarray(t) for k, t in tensors.items()}


def _feeds(kmodel: Any, x: np.ndarray | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    from inspector.autodiff.keras_tape import import_tf
    from inspector.runtime.keras_convert import functional_graph

    _, keras = import_tf()
    fn = functional_graph(kmodel, keras)
    names = [getattr(t, "_keras_history", [None])[0].name for t in fn.inputs]
    if isinstance(x, Mapping):
        return {n: np.asarray(x[n], dtype=np.float32) for n in names if n in x}
    if len(names) != 1:
        raise InputError(f"the model takes {len(names)} inputs: pass them by name")
    return {names[0]: np.asarray(x, dtype=np.float32)}


def _loss_fn(kmodel: Any, loss: str, y: np.ndarray, tf: Any, keras: Any) -> Any:
    """callable(output) -> scalar loss; cross entropy takes the output as probabilities when
    the last layer applies softmax/sigmoid (as the gradient view does), else as logits."""
    last = kmodel.layers[-1] if kmodel.layers else None
    act = getattr(getattr(last, "activation", None), "__name__", "")
    probs = act in ("softmax", "sigmoid") or type(last).__name__ == "Softmax"
    units = int(kmodel.outputs[0].shape[-1]) if kmodel.outputs else 1
    if loss == "mse":
        yt = tf.constant(np.asarray(y, np.float32))
        return lambda out: tf.reduce_mean(tf.square(out - tf.reshape(yt, tf.shape(out))))
    if loss != "ce":
        raise InputError(f"unknown loss '{loss}' (choose ce or mse)")
    labels = np.asarray(y)
    if labels.dtype.kind == "f" and not np.all(labels == np.round(labels)):
        raise InputError("cross-entropy training needs class indices as targets")
    labels = labels.astype(np.int64).reshape(-1)
    if labels.size and (labels.min() < 0 or labels.max() >= max(units, 2)):
        raise InputError(f"a class index is out of range: the output has {max(units, 2)} classes")
    if units == 1:
        yb = tf.constant(labels.reshape(-1, 1).astype(np.float32))
        bce = keras.losses.BinaryCrossentropy(from_logits=not probs)
        return lambda out: bce(yb, out)
    yc = tf.constant(labels)
    sce = keras.losses.SparseCategoricalCrossentropy(from_logits=not probs)
    return lambda out: sce(yc, out)


def train_steps(
    path: str | Path,
    x: np.ndarray | Mapping[str, np.ndarray],
    y: np.ndarray,
    steps: int = 10,
    lr: float = 0.01,
    optimizer: str = "sgd",
    loss: str = "ce",
    task: Task = NO_TASK,
    record_activations: bool = False,
    engine: str = "auto",
) -> TrainingResult:
    """Train a fresh in-memory copy of the Keras model at `path` for `steps` steps on (x, y).

    `y` holds class indices for "ce" (0/1 for a single output unit) or targets for "mse"
    (the mean squared error over every element, as Keras's MeanSquaredError). `engine`
    "auto" trains on the lowering when every layer is lowered (else GradientTape, with a
    note naming the layer); "gradienttape" always uses TensorFlow. Raises `InputError` for
    bad arguments, `RunError` when the model cannot be loaded or trained,
    `ConversionUnavailable` when only TensorFlow could train it and it is absent.
    """
    if not 1 <= int(steps) <= MAX_STEPS:
        raise InputError(f"steps must be between 1 and {MAX_STEPS}, not {steps}")
    if not (np.isfinite(lr) and lr > 0):
        raise InputError(f"the learning rate must be a positive number, not {lr}")
    if optimizer not in OPTIMIZERS:
        raise InputError(f"unknown optimizer '{optimizer}' (choose {' or '.join(OPTIMIZERS)})")
    if loss not in ("ce", "mse"):
        raise InputError(f"unknown loss '{loss}' (choose ce or mse)")
    note = ""
    if engine != "gradienttape":
        from inspector.autodiff.keras_onnx import lowered
        from inspector.loaders.registry import load_model

        task.report(0.0, "lowering the Keras model to ONNX")
        model = load_model(Path(path))
        low = lowered(model, task.part(0.0, 0.1))
        if low.ok:
            return _train_lowered(model, low, x, y, int(steps), lr, optimizer, loss,
                                  task.part(0.1, 1.0), record_activations)
        first = low.blocker()
        note = (f"layer {first.node!r} ({first.cls}) is not lowered to ONNX ({first.reason}), "
                "so TensorFlow trained the model")
    res = _train_tape(path, x, y, int(steps), lr, optimizer, loss, task, record_activations)
    res.note = note
    return res


def _train_lowered(model: Any, low: Any, x: Any, y: Any, steps: int, lr: float, optimizer: str,
                   loss: str, task: Task, record_activations: bool) -> TrainingResult:
    """`steps` steps by the ONNX engine on lowering `low` (no TensorFlow)."""
    from inspector.autodiff.onnx_training import (
        LoweredTrainer,
        check_batch,
        training_mode_note,
        weight_locations,
    )

    names = list(low.inputs)
    if isinstance(x, Mapping):
        feeds = {n: _as_input(x[n]) for n in names if n in x}
        missing = [n for n in names if n not in feeds]
        if missing:
            raise InputError(f"x has no values for input {missing[0]!r}")
    elif len(names) != 1:
        raise InputError(f"the model takes {len(names)} inputs: pass them by name")
    else:
        feeds = {names[0]: _as_input(x)}
    check_batch(feeds, np.asarray(y))
    trainer = LoweredTrainer(model, low, feeds, np.asarray(y), loss, optimizer, lr)
    try:
        before = trainer.named_weights()
        losses: list[float] = []
        acts_before = None
        for step in range(steps):
            task.report(step / steps, f"training step {step + 1} of {steps}")
            lv = trainer.step(task.part(step / steps, (step + 1) / steps))
            if step == 0 and record_activations:
                acts_before = trainer.activations(trainer.last_values)
            if not np.isfinite(lv):
                raise RunError(f"the loss became {lv} at step {step + 1}: lower the learning rate")
            losses.append(lv)
        after = trainer.named_weights()
        acts_after = trainer.activations() if record_activations else None
    finally:
        trainer.close()
    task.report(1.0, "done")
    return TrainingResult(
        losses=losses, weights_before=before, weights_after=after,
        activations_before=acts_before, activations_after=acts_after, model=None,
        source_path=str(Path(model.path).resolve()), loss_kind=loss, optimizer=optimizer,
        engine="lowering", note=training_mode_note(model), locations=weight_locations(model),
    )


def _as_input(a: Any) -> np.ndarray:
    """Floats as float32 (as Keras casts them); integer inputs (token ids) stay integers."""
    arr = np.asarray(a)
    return arr if arr.dtype.kind in "iub" else arr.astype(np.float32)


def _train_tape(path: str | Path, x: Any, y: Any, steps: int, lr: float, optimizer: str,
                loss: str, task: Task, record_activations: bool) -> TrainingResult:
    """`steps` steps with TensorFlow's GradientTape and Keras's own optimizer."""
    from inspector.autodiff.keras_tape import import_tf
    from inspector.autodiff.onnx_training import check_batch
    from inspector.runtime.keras_convert import load_keras

    tf, keras = import_tf()
    task.report(0.0, "loading the Keras model")
    kmodel = load_keras(Path(path))  # a fresh object: training never touches a shared model
    feeds = _feeds(kmodel, x)
    check_batch(feeds, np.asarray(y))
    loss_fn = _loss_fn(kmodel, loss, np.asarray(y), tf, keras)
    opt = (keras.optimizers.SGD(learning_rate=float(lr)) if optimizer == "sgd"
           else keras.optimizers.Adam(learning_rate=float(lr)))
    inputs = [tf.constant(v) for v in feeds.values()]
    call_in = inputs[0] if len(inputs) == 1 else inputs
    before = _weights(kmodel, keras)
    acts_before = _activations(kmodel, feeds) if record_activations else None
    losses: list[float] = []
    for step in range(int(steps)):
        task.report(step / steps, f"training step {step + 1} of {steps}")
        with tf.GradientTape() as tape:
            out = kmodel(call_in, training=True)
            value = loss_fn(out)
        grads = tape.gradient(value, kmodel.trainable_weights)
        opt.apply_gradients([(g, v) for g, v in zip(grads, kmodel.trainable_weights, strict=True)
                             if g is not None])
        lv = float(value)
        if not np.isfinite(lv):
            raise RunError(f"the loss became {lv} at step {step + 1}: lower the learning rate")
        losses.append(lv)
    task.report(1.0, "done")
    return TrainingResult(
        losses=losses,
        weights_before=before,
        weights_after=_weights(kmodel, keras),
        activations_before=acts_before,
        activations_after=_activations(kmodel, feeds) if record_activations else None,
        model=kmodel,
        source_path=str(Path(path).resolve()),
        loss_kind=loss,
        optimizer=optimizer,
    )


def save_trained_copy(result_or_model: TrainingResult | Any, out_path: str | Path) -> Path:
    """Write the trained model to a new `.keras` (or legacy `.h5`) file; never over its source.

    A result of the ONNX engine is written without TensorFlow, in its source's format (a
    copy of the source with the trained weight arrays); a GradientTape result by Keras.
    """
    model = getattr(result_or_model, "model", None) if isinstance(
        result_or_model, TrainingResult) else result_or_model
    lowered = isinstance(result_or_model, TrainingResult) and result_or_model.engine == "lowering"
    if model is None and not lowered:
        raise RunError("there is no trained model to save")
    out = Path(out_path)
    if out.suffix.lower() not in (".keras", ".h5", ".hdf5"):
        raise RunError(f"{out.name}: save as .keras (or legacy .h5)")
    source = getattr(result_or_model, "source_path", "")
    if source and out.resolve() == Path(source):
        raise RunError(f"{out.name}: is the original file; save the trained copy under a new name")
    if lowered:
        from inspector.autodiff.onnx_training import write_trained_keras

        r = result_or_model
        is_zip = Path(source).suffix.lower() == ".keras"
        if is_zip != (out.suffix.lower() == ".keras"):
            raise RunError(f"{out.name}: save as {Path(source).suffix} like the source "
                           "(changing the format needs TensorFlow)")
        return write_trained_keras(source, r.locations, r.weights_after, out)
    try:
        model.save(str(out))
    except OSError as e:
        raise RunError(f"{out}: cannot be written ({e.strerror or e})") from None
    return out
