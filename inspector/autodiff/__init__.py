"""Automatic differentiation: the gradient of a loss at every layer and weight of a model.

ONNX models go through a numpy reverse sweep over onnxruntime's forward values (`sweep`, with
one VJP rule per op in `rules`); Keras models through TensorFlow's GradientTape on the original
layers (`keras_tape`). `training` runs a few real optimiser steps on a Keras model. Importing
this package loads neither onnxruntime nor TensorFlow.
"""

from __future__ import annotations

from inspector.autodiff.entry import compute_gradients
from inspector.autodiff.losses import LOSSES, LossValue, loss_and_grad
from inspector.autodiff.results import GradientResult, l2_norm
from inspector.autodiff.training import OPTIMIZERS, TrainingResult, save_trained_copy, train_steps

__all__ = [
    "LOSSES", "OPTIMIZERS", "GradientResult", "LossValue", "TrainingResult", "compute_gradients",
    "l2_norm", "loss_and_grad", "save_trained_copy", "train_steps",
]
