"""The walkthrough's words: what each step of a network does to this input, with its numbers.

Pure functions over the IR and plain arrays (activations and gradients keyed as `run -o` and
`grad -o` key them), so the text can be tested without Qt and without running anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from inspector.ir import Graph, Model, Node, format_shape
from inspector.runtime.activation_facts import activation_kind, dead_count, saturated_count

# What a layer does, in one sentence, by op type (ONNX) or layer class (Keras).
_WHAT = {
    "Dense": "multiplies its input by a weight matrix and adds a bias (a fully connected layer)",
    "Gemm": "multiplies its input by a weight matrix and adds a bias (a fully connected layer)",
    "MatMul": "multiplies two matrices",
    "Conv": "slides small learned filters over its input, one output channel per filter",
    "Conv1D": "slides small learned filters along the sequence, one output channel per filter",
    "Conv2D": "slides small learned filters over the image, one output channel per filter",
    "DepthwiseConv2D": "filters each channel on its own with a small spatial kernel",
    "SeparableConv2D": "filters each channel spatially, then mixes channels with 1x1 filters",
    "MaxPool": "keeps the largest value in each window, shrinking the feature maps",
    "MaxPooling2D": "keeps the largest value in each window, shrinking the feature maps",
    "AveragePool": "averages each window, shrinking the feature maps",
    "AveragePooling2D": "averages each window, shrinking the feature maps",
    "GlobalAveragePool": "averages each feature map down to one number per channel",
    "GlobalAveragePooling2D": "averages each feature map down to one number per channel",
    "Flatten": "lays the values out as one long vector, changing no value",
    "Reshape": "changes the shape of its input, changing no value",
    "Dropout": "drops random units while training; at inference it passes values through",
    "BatchNormalization": "normalizes each channel with statistics learned in training, then scales and shifts it",
    "LayerNormalization": "normalizes each example across its features, then scales and shifts it",
    "Relu": "keeps positive values and sets negative ones to zero",
    "Sigmoid": "squashes each value into (0, 1)",
    "Tanh": "squashes each value into (-1, 1)",
    "Softmax": "turns scores into probabilities that sum to 1",
    "Activation": "applies an activation function to each value",
    "Add": "adds its inputs element by element (a residual or skip connection when one input comes from further back)",
    "Concat": "joins its inputs along one axis",
    "Concatenate": "joins its inputs along one axis",
    "LSTM": "reads the sequence step by step, keeping a memory cell gated by learned weights",
    "GRU": "reads the sequence step by step, updating a hidden state through learned gates",
    "SimpleRNN": "reads the sequence step by step, feeding its state back in",
    "Embedding": "looks up a learned vector for each token index",
    "Transpose": "reorders the axes of its input",
}

@dataclass(frozen=True)
class Step:
    """One walkthrough step: the node, the values flowing in and out, and the explanation."""

    index: int
    node: Node
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    text: str
    #: The same text as separate lines (what, shapes, parameters, this input, backward).
    lines: tuple[str, ...] = ()


def _stats(a: np.ndarray) -> str:
    f = np.asarray(a, dtype=np.float64)
    if f.size == 0:
        return "empty"
    return f"min {f.min():.3g}, mean {f.mean():.3g}, max {f.max():.3g}"


def _per_example(shape: tuple | None) -> str:
    """A shape in words, batch dim left out: "4 values", "an 8x8x1 tensor", "a scalar"."""
    if shape is None:
        return "a value of unknown shape"
    dims = list(shape)
    if len(dims) >= 2 and (dims[0] is None or isinstance(dims[0], str) or dims[0] == 1):
        dims = dims[1:]  # the batch dimension: unknown, symbolic or 1
    if not dims:
        return "a scalar"
    if len(dims) == 1:
        return f"{dims[0] if dims[0] is not None else '?'} values"
    return f"a {format_shape(tuple(dims))} tensor"


def _fused_activation(node: Node) -> str | None:
    act = node.attr("activation")
    if isinstance(act, dict):
        act = act.get("config", {}).get("activation") or act.get("class_name")
    if isinstance(act, str) and act not in ("linear", "None", ""):
        return act
    return None


def _value_array(values: Mapping[str, np.ndarray], model: Model, node: Node, name: str) -> np.ndarray | None:
    if name in values:
        return values[name]
    # Keras activations are keyed by layer name; the node's first output value carries it.
    if model.format == "keras" and name in node.outputs:
        layer = node.attr("layer") or node.name
        return values.get(node.name) if node.name in values else values.get(layer)
    return None


def explain_node(
    model: Model,
    node: Node,
    activations: Mapping[str, np.ndarray] | None = None,
    gradients: Mapping[str, np.ndarray] | None = None,
    graph: Graph | None = None,
) -> str:
    """A few sentences on what `node` does, with this input's shapes and numbers."""
    return " ".join(explain_lines(model, node, activations, gradients, graph))


def explain_lines(
    model: Model,
    node: Node,
    activations: Mapping[str, np.ndarray] | None = None,
    gradients: Mapping[str, np.ndarray] | None = None,
    graph: Graph | None = None,
) -> list[str]:
    """`explain_node` as separate sentences: what, shapes, parameters, numbers, backward."""
    graph = graph or model.graph
    acts = activations or {}
    what = _WHAT.get(node.op_type, f"applies the {node.op_type} operation")
    fused = _fused_activation(node) if node.op_type not in ("Activation",) else None
    then = f", then applies {fused}" if fused and node.weights else ""
    lines = [f"{node.name} ({node.op_type}) {what}{then}."]
    shapes_in = [_per_example(graph.value(v).shape) for v in node.inputs]
    shapes_out = [_per_example(graph.value(v).shape) for v in node.outputs]
    if shapes_in or shapes_out:
        lines.append(f"Per example it takes {' and '.join(shapes_in) or 'no data input'} and "
                     f"gives {' and '.join(shapes_out) or 'nothing'}.")
    if node.weights:
        ws = ", ".join(f"{w.name} {format_shape(w.tensor.shape)}" for w in node.weights)
        lines.append(f"Its {node.parameter_count:,} learned parameters: {ws}.")
    out = _value_array(acts, model, node, node.outputs[0]) if node.outputs else None
    if out is not None and np.issubdtype(np.asarray(out).dtype, np.number):
        lines.append(f"For this input its output has {_stats(out)}.")
    found = activation_kind(node)
    kind = found[0] if found else None
    pre_key = f"{node.name}/preact"
    pre = acts.get(pre_key)
    if pre is None and kind and node.inputs and model.format == "onnx":
        pre = acts.get(node.inputs[0])
    if kind and out is not None:
        lines.append(_activation_sentence(kind, found[1], pre, np.asarray(out)))
    if gradients:
        lines.extend(backward_lines(model, node, gradients, graph))
    return lines


def _grad_numbers(g: np.ndarray) -> tuple[float, str]:
    """(L2 norm, "largest -0.0541 at [10, 9]": the entry of largest magnitude, signed) of one
    gradient array."""
    f = np.asarray(g, dtype=np.float64)
    norm = float(np.linalg.norm(f))
    if f.size == 0:
        return norm, ""
    at = np.unravel_index(int(np.argmax(np.abs(f))), f.shape)
    where = f" at [{', '.join(str(int(i)) for i in at)}]" if f.ndim else ""
    return norm, f"largest {float(f[at]):+.3g}{where}"


def _grad_key(model: Model, graph: Graph, value: str, gradients: Mapping[str, Any]) -> str | None:
    """The key of value `value`'s gradient: the value name (ONNX, graph inputs) or, for Keras,
    the name of the layer that produced it."""
    if value in gradients:
        return value
    producer = graph.producer(value)
    if producer is not None and model.format == "keras" and producer.name in gradients:
        return producer.name
    return None


def backward_lines(model: Model, node: Node, gradients: Mapping[str, np.ndarray],
                   graph: Graph | None = None) -> list[str]:
    """This input's gradient numbers at `node`: what reaches its output, each weight's
    gradient, and what it passes back to its inputs. Each sentence starts with "Backward"."""
    graph = graph or model.graph
    out_key = node.name if model.format == "keras" and node.name in gradients else (
        node.outputs[0] if node.outputs and node.outputs[0] in gradients else None)
    if out_key is None:
        return []
    norm, top = _grad_numbers(gradients[out_key])
    if norm == 0:
        return ["Backward: no error reaches its output for this input (the gradient there "
                "is 0), so its weights would not change."]
    lines = [f"Backward: d loss / d output has norm {norm:.3g}, {top}."]
    parts = []
    for w in node.weights:
        g = gradients.get(f"{node.name}/{w.name}")
        if g is not None:
            wn, wtop = _grad_numbers(g)
            parts.append(f"{w.name} norm {wn:.3g}, {wtop}")
    if parts:
        lines.append(f"Backward, its weights' gradients: {'; '.join(parts)}.")
    passed = []
    for v in node.inputs:
        key = _grad_key(model, graph, v, gradients)
        if key is not None:
            passed.append((v, _grad_numbers(gradients[key])[0]))
    if passed:
        names = ", ".join(f"{v} (norm {n:.3g})" for v, n in passed)
        ratio = f", {passed[0][1] / norm:.3g}x the norm that arrived" if len(passed) == 1 else ""
        lines.append(f"Backward, passed on to its input: {names}{ratio}.")
    return lines


def _activation_sentence(kind: str, params: dict[str, Any], pre: np.ndarray | None,
                         out: np.ndarray) -> str:
    f = out.astype(np.float64, copy=False)
    n = max(f.size, 1)
    dead = dead_count(f, kind)
    if dead is not None:
        name = "ReLU" if kind == "relu" else kind
        return f"The {name} cut off {dead} of {n} units ({100 * dead / n:.0f}%), which output 0."
    if kind == "softmax":
        flat = f.reshape(-1, f.shape[-1]) if f.ndim else f.reshape(1, 1)
        top = int(np.argmax(flat[0]))
        return f"The softmax gives probabilities; the largest is unit {top} at {flat[0, top]:.3f}."
    sat = saturated_count(kind, pre=pre, post=f, params=params) if pre is not None else None
    if sat is not None:
        size = np.asarray(pre).size
        return f"The {kind} is saturated (flat, near-zero gradient) for {sat} of {size} units."
    return f"Its {kind} activation gives values with {_stats(f)}."


def walkthrough_steps(
    model: Model,
    activations: Mapping[str, np.ndarray] | None = None,
    gradients: Mapping[str, np.ndarray] | None = None,
    graph: Graph | None = None,
    explain: bool = True,
) -> list[Step]:
    """One step per node in the graph's order, skipping constants that only feed weights.

    With `explain=False` the steps carry no text yet (see `explained`): reading every node's
    activation to describe it is what a lazily captured run avoids until a step is shown.
    """
    graph = graph or model.graph
    steps: list[Step] = []
    for node in graph.nodes:
        if node.category == "constant" and not any(graph.consumers(o) for o in node.outputs):
            continue
        step = Step(len(steps), node, node.inputs, node.outputs, "")
        steps.append(explained(step, model, activations, gradients, graph) if explain else step)
    return steps


def explained(
    step: Step,
    model: Model,
    activations: Mapping[str, np.ndarray] | None = None,
    gradients: Mapping[str, np.ndarray] | None = None,
    graph: Graph | None = None,
) -> Step:
    """`step` with its explanation filled in from this input's values."""
    lines = explain_lines(model, step.node, activations, gradients, graph or model.graph)
    return Step(step.index, step.node, step.inputs, step.outputs, " ".join(lines), tuple(lines))
