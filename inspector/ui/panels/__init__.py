"""The pyqtgraph panels: activations, weights, activation functions, outputs, input editor
and the neuron-level view. Each takes plain data (IR nodes and numpy arrays)."""

from inspector.ui.panels.activation_fn import ActivationFunctionPanel, activation_kind
from inspector.ui.panels.activations import ActivationPanel
from inspector.ui.panels.input_editor import InputEditor
from inspector.ui.panels.neuron_view import NeuronView
from inspector.ui.panels.outputs import OutputPanel, find_labels, load_labels
from inspector.ui.panels.weights import WeightPanel

__all__ = [
    "ActivationFunctionPanel",
    "ActivationPanel",
    "InputEditor",
    "NeuronView",
    "OutputPanel",
    "WeightPanel",
    "activation_kind",
    "find_labels",
    "load_labels",
]
