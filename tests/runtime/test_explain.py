"""The walkthrough's explanations use this input's real numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inspector.loaders import load_model
from inspector.runtime.activations import run_activations
from inspector.runtime.explain import explain_node, walkthrough_steps

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def test_walkthrough_visits_every_onnx_node_in_order_with_numbers() -> None:
    model = load_model(SAMPLES / "digits_cnn.onnx")
    x = np.load(SAMPLES / "digits_cnn_input.npy")
    result = run_activations(model, {model.graph.inputs[0]: x})
    steps = walkthrough_steps(model, result.values)
    order = [n.name for n in model.graph.nodes if n.category != "constant"]
    assert [s.node.name for s in steps] == order
    relu_steps = [s for s in steps if s.node.op_type == "Relu"]
    assert relu_steps
    s = relu_steps[0]
    out = result.values[s.node.outputs[0]]
    dead = int(np.count_nonzero(out <= 0))
    assert f"cut off {dead} of {out.size} units" in s.text
    soft = [s for s in steps if s.node.op_type == "Softmax"][0]
    probs = result.values[soft.node.outputs[0]][0]
    assert f"unit {int(np.argmax(probs))}" in soft.text


def test_explanation_without_a_run_still_describes_the_layer() -> None:
    model = load_model(SAMPLES / "iris_mlp.keras")
    node = model.graph.nodes[0]
    text = explain_node(model, node)
    assert "weight matrix" in text
    assert "40 learned parameters" in text  # Dense(8) on 4 inputs: 4*8 + 8


def _largest(g: np.ndarray) -> str:
    f = np.asarray(g, dtype=np.float64)
    at = np.unravel_index(int(np.argmax(np.abs(f))), f.shape)
    return f"largest {float(f[at]):+.3g} at [{', '.join(str(int(i)) for i in at)}]"


def test_backward_steps_quote_this_inputs_gradients_onnx() -> None:
    from inspector.autodiff import compute_gradients

    model = load_model(SAMPLES / "digits_cnn.onnx")
    x = np.load(SAMPLES / "digits_cnn_input.npy")
    feeds = {model.graph.inputs[0]: x}
    acts = run_activations(model, feeds).values
    grads = compute_gradients(model, feeds, target=3).values
    steps = walkthrough_steps(model, acts, grads)
    conv = next(s for s in steps if s.node.op_type == "Conv" and s.node.weights)
    g_out = grads[conv.node.outputs[0]]
    back = [t for t in conv.lines if t.startswith("Backward")]
    assert back[0] == (f"Backward: d loss / d output has norm {np.linalg.norm(g_out):.3g}, "
                       f"{_largest(g_out)}.")
    w = conv.node.weights[0]
    g_w = grads[f"{conv.node.name}/{w.name}"]
    assert f"{w.name} norm {np.linalg.norm(g_w):.3g}, {_largest(g_w)}" in back[1]
    g_in = grads[conv.node.inputs[0]]
    assert f"{conv.node.inputs[0]} (norm {np.linalg.norm(g_in):.3g})" in back[2]
    # A different target gives different numbers in the text: they are this run's.
    other = walkthrough_steps(model, acts, compute_gradients(model, feeds, target=7).values)
    assert next(s for s in other if s.node.name == conv.node.name).lines != conv.lines


def test_backward_steps_quote_this_inputs_gradients_keras() -> None:
    from inspector.autodiff import compute_gradients

    model = load_model(SAMPLES / "iris_mlp.keras")
    x = np.array([[5.1, 3.5, 1.4, 0.2]], np.float32)
    feeds = {model.graph.inputs[0]: x}
    grads = compute_gradients(model, feeds, target=1).values
    steps = walkthrough_steps(model, run_activations(model, feeds).values, grads)
    dense = [s for s in steps if s.node.weights][-1]
    back = [t for t in dense.lines if t.startswith("Backward")]
    g_out = grads[dense.node.name]
    assert f"norm {np.linalg.norm(g_out):.3g}, {_largest(g_out)}" in back[0]
    kernel = next(w for w in dense.node.weights if "kernel" in w.name)
    g_k = grads[f"{dense.node.name}/{kernel.name}"]
    assert f"{kernel.name} norm {np.linalg.norm(g_k):.3g}, {_largest(g_k)}" in back[1]
    assert "passed on to its input" in back[2]
