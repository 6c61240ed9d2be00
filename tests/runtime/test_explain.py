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
