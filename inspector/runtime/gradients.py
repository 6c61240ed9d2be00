"""Gradients of a loss at every layer and weight: one entry point for ONNX and Keras models.

`compute_gradients(model, feeds, target, loss)` picks the engine by the model's format: the
numpy reverse-mode engine over onnxruntime's forward values for ONNX (`grad_onnx`), and
TensorFlow's GradientTape on the original Keras model (`grad_keras`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inspector.ir import Model
from inspector.progress import NO_TASK, Task
from inspector.runtime.errors import RunError
from inspector.runtime.losses import LOSSES


@dataclass
class GradientResult:
    """Gradients of one loss, keyed like `model-inspector run -o`.

    `values`: node-output gradients (ONNX value names / Keras layer names), weight gradients
    under "<node name>/<weight name>", and the input gradient (saliency) under each graph input
    name. `uncovered`: node -> why no gradient flows through it. `norms`: node name -> L2 norm
    of d loss / d node output, for colouring the graph.
    """

    values: dict[str, np.ndarray]
    loss: float
    target: int | None
    loss_kind: str
    output_name: str
    uncovered: dict[str, str] = field(default_factory=dict)
    norms: dict[str, float] = field(default_factory=dict)


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
        from inspector.runtime.grad_onnx import onnx_gradients

        return onnx_gradients(model, feeds, target=target, loss=loss, output=output, task=task)
    if model.format == "keras":
        from inspector.runtime.grad_keras import keras_gradients

        return keras_gradients(model, feeds, target=target, loss=loss, output=output, task=task)
    raise RunError(f"gradients are not available for {model.format or 'this'} models")


def l2_norm(a: np.ndarray) -> float:
    """The L2 norm in float64 (float32 sums overflow or lose digits on large activations)."""
    a = np.asarray(a, dtype=np.float64)
    return float(np.sqrt(np.sum(a * a)))
