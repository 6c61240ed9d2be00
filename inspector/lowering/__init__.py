"""Keras layers lowered to ONNX with onnx.helper and numpy: no TensorFlow, no converter.

`lower_keras(model)` turns a Keras model's IR into an ONNX model whose values carry the same
keys `run -o` writes, so onnxruntime runs Keras files exactly as it runs ONNX files and the
ONNX gradient engine differentiates them.
"""

from inspector.lowering.lower import (
    LOWERING_VERSION,
    PREACT_SUFFIX,
    Lowering,
    Unlowered,
    lower_keras,
)

__all__ = ["LOWERING_VERSION", "PREACT_SUFFIX", "Lowering", "Unlowered", "lower_keras"]
