"""Errors the runtime raises: each message is one clear sentence for the user."""

from __future__ import annotations


class RunError(Exception):
    """Running, converting or differentiating a model failed in a way the user can act on."""


class InputError(RunError):
    """An input could not be made or read (bad file, wrong shape, absurd size)."""


class ConversionUnavailable(RunError):
    """The `convert` extra (TensorFlow, Keras, tf2onnx) is not installed."""

    def __init__(self, what: str = "Running a Keras model") -> None:
        super().__init__(
            f"{what} needs the 'convert' extra: pip install 'model-inspector[convert]'"
        )
