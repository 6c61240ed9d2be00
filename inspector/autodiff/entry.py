"""Gradients of a loss at every layer and weight: one entry point for ONNX and Keras models.

`compute_gradients(model, feeds, target, loss)` picks the engine by the model's format: the
numpy reverse-mode engine over onnxruntime's forward values for ONNX (`sweep`), and for
Keras the same engine on the model's lowering to ONNX (`keras_onnx`, no TensorFlow).
TensorFlow's GradientTape on the original Keras model (`keras_tape`) is the fallback when a
layer is not lowered (and the tests' cross-check, with `engine="gradienttape"`).
"""

from __future__ import annotations

import numpy as np

from inspector.autodiff.losses import LOSSES
from inspector.autodiff.results import GradientResult
from inspector.ir import Model
from inspector.progress import NO_TASK, Task
from inspector.runtime.errors import ConversionUnavailable, RunError


def compute_gradients(
    model: Model,
    feeds: dict[str, np.ndarray],
    target: int | float | None = None,
    loss: str = "ce",
    output: str | None = None,
    task: Task = NO_TASK,
    engine: str = "auto",
) -> GradientResult:
    """The gradient of `loss` on `output` (default: the first) at every value and weight.

    Raises `RunError` subclasses with one-line messages (`ConversionUnavailable` for a Keras
    model without TensorFlow, `InputError` for bad feeds or targets); `Cancelled` passes through.
    """
    if loss not in LOSSES:
        raise RunError(f"unknown loss '{loss}' (choose {' or '.join(LOSSES)})")
    if model.format == "onnx":
        from inspector.autodiff.sweep import onnx_gradients

        return onnx_gradients(model, feeds, target=target, loss=loss, output=output, task=task)
    if model.format == "keras":
        return _keras(model, feeds, target, loss, output, task, engine)
    raise RunError(f"gradients are not available for {model.format or 'this'} models")


def _keras(model: Model, feeds: dict[str, np.ndarray], target: int | float | None, loss: str,
           output: str | None, task: Task, engine: str) -> GradientResult:
    """The lowering unless `engine` is "gradienttape" or a layer is not lowered; then
    GradientTape with a note naming the layer (or a one-line error without TensorFlow)."""
    from pathlib import Path

    from inspector.autodiff.keras_tape import keras_gradients

    note = ""
    if engine != "gradienttape":
        from inspector.autodiff.keras_onnx import lowered, lowered_gradients
        from inspector.runtime.keras_lowered import is_code_layer

        low = lowered(model, task.part(0.0, 0.2))
        if low.ok:
            return lowered_gradients(model, low, feeds, target, loss, output, task.part(0.2, 1.0))
        first = low.blocker()
        name = Path(model.path).name
        if is_code_layer(first.cls):
            raise RunError(f"{name}: layer {first.node!r} ({first.cls}) holds Python code, "
                           "which is never run from a model file; no gradients")
        note = f"layer {first.node!r} ({first.cls}) is not lowered to ONNX ({first.reason})"
        try:
            from inspector.autodiff.keras_tape import import_tf

            import_tf()
        except ConversionUnavailable:
            raise RunError(f"{name}: {note}; the 'convert' extra (TensorFlow) would "
                           "backpropagate it: pip install 'model-inspector[convert]'") from None
    res = keras_gradients(model, feeds, target=target, loss=loss, output=output, task=task)
    if note:
        res.note = f"{note}, so TensorFlow's GradientTape computed the gradients"
    return res
