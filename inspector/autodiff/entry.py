"""Gradients of a loss at every layer and weight: one entry point for ONNX and Keras models.

`compute_gradients(model, feeds, target, loss)` picks the engine by the model's format: the
numpy reverse-mode engine over onnxruntime's forward values for ONNX (`sweep`), and
TensorFlow's GradientTape on the original Keras model (`keras_tape`).
"""

from __future__ import annotations

import numpy as np

from inspector.autodiff.losses import LOSSES
from inspector.autodiff.results import GradientResult
from inspector.ir import Model
from inspector.progress import NO_TASK, Task
from inspector.runtime.errors import RunError


def compute_gradients(
    model: Model,
    feeds: dict[str, np.ndarray],
    target: int | float | None = None,
    loss: str = "ce",
    output: str | None = None,
    task: Task = NO_TASK,
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
        from inspector.autodiff.keras_tape import keras_gradients

        return keras_gradients(model, feeds, target=target, loss=loss, output=output, task=task)
    raise RunError(f"gradients are not available for {model.format or 'this'} models")
