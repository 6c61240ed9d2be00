"""What a gradient computation returns, shared by the ONNX and Keras engines and the UI."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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
    #: How the loss reduces over batch and elements (`losses.reduction`), e.g. MSE's mean over
    #: all N elements, so d loss / d y = 2 (y - t) / N, as Keras's own losses.
    reduction: dict = field(default_factory=dict)
    #: Which engine computed the gradients ("onnx", "lowering" or "gradienttape") and why.
    engine: str = ""
    note: str = ""
    #: Weights read by several nodes (a shared layer or initializer): weight key -> the keys
    #: of each call's contribution ("<node>/<weight>@<call node>"); `values[key]` is the total.
    shared: dict[str, list[str]] = field(default_factory=dict)


def l2_norm(a: np.ndarray) -> float:
    """The L2 norm in float64 (float32 sums overflow or lose digits on large activations)."""
    a = np.asarray(a, dtype=np.float64)
    return float(np.sqrt(np.sum(a * a)))
