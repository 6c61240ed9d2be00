"""Recognise a dense network (input -> Dense/Gemm layers) for the neuron-level view.

Returns, per layer, its weight matrix as (inputs x units), its bias and this input's
activations after the layer's activation function, or None when the model is not a plain
stack of dense layers (the neuron view only makes sense there).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from inspector.ir import Model

Layer = tuple[str, np.ndarray | None, np.ndarray | None, np.ndarray]

# Nodes that may sit between dense layers without changing the picture.
_PASS_KERAS = {"Dropout", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "InputLayer"}
_ELEMENTWISE_ONNX = {"Relu", "Sigmoid", "Tanh", "Softmax", "LeakyRelu", "Elu", "Selu", "Gelu",
                     "Softplus", "Identity", "Dropout", "HardSigmoid", "Add", "Cast"}


def _vector(a: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return None
    a = np.asarray(a)
    if a.ndim == 2 and a.shape[0] == 1:
        return a[0].astype(np.float64)
    if a.ndim == 1:
        return a.astype(np.float64)
    return None


def dense_layers(model: Model, feeds: dict[str, np.ndarray] | None, activations: Any) -> list[Layer] | None:
    """[(name, W (in x out) or None, bias or None, activations)], the input first; or None."""
    if not feeds or activations is None or len(model.graph.inputs) != 1:
        return None
    x = _vector(feeds.get(model.graph.inputs[0]))
    if x is None:
        return None
    layers: list[Layer] = [(model.graph.inputs[0], None, None, x)]
    values = activations.values
    if model.format == "keras":
        for node in model.graph.nodes:
            if node.op_type == "Dense":
                k, b = node.weight("kernel"), node.weight("bias")
                a = _vector(values.get(node.name))
                if k is None or a is None:
                    return None
                layers.append((node.name, k.tensor.numpy(), b.tensor.numpy() if b else None, a))
            elif node.op_type in _PASS_KERAS:
                a = _vector(values.get(node.name))
                if a is not None and len(layers) > 1 and a.size == layers[-1][3].size:
                    name, w, b, _ = layers[-1]
                    layers[-1] = (name, w, b, a)
            else:
                return None
    else:
        for node in model.graph.nodes:
            out = _vector(values.get(node.outputs[0])) if node.outputs else None
            if node.op_type in ("Gemm", "MatMul") and node.weights:
                w = np.asarray(node.weights[0].tensor.numpy())
                if w.ndim != 2:
                    return None
                if node.op_type == "Gemm" and node.attr("transB", 0):
                    w = w.T
                b = node.weights[1].tensor.numpy() if len(node.weights) > 1 else None
                if out is None:
                    return None
                layers.append((node.name, w, b, out))
            elif node.op_type in _ELEMENTWISE_ONNX and len(layers) > 1:
                if node.op_type == "Add" and node.weights and layers[-1][2] is None:
                    name, w, _, a = layers[-1]
                    layers[-1] = (name, w, np.asarray(node.weights[0].tensor.numpy()).reshape(-1), a)
                if out is not None and out.size == layers[-1][3].size:
                    name, w, b, _ = layers[-1]
                    layers[-1] = (name, w, b, out)
            elif node.category in ("constant", "shape"):
                continue
            else:
                return None
    return layers if len(layers) > 1 else None
