"""What a gradient computation returns, shared by the ONNX and Keras engines and the UI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from inspector.autodiff.sums import dot_f64


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
    """The L2 norm, summed in float64 (float32 sums overflow or lose digits on large arrays).

    A norm is taken of every gradient (BERT-base: 110M weights per backprop), so large float32
    arrays are not widened whole (two fresh 188 MB arrays for BERT's embedding table, 67 ms
    warm and 0.9 s on new pages): see `dot_f64`."""
    return float(np.sqrt(max(dot_f64(a, a), 0.0)))


def norms_by_block() -> Callable[[np.ndarray], float]:
    """`l2_norm`, computed once per block of memory among arrays alive together.

    A gradient passed through Reshape, Transpose, Identity or Add is the same elements in
    another shape (BERT-base: 420 node-output gradients are 224 blocks, 280 MB read as 171).
    An array is looked up by its block only when it is a permutation of axes of one
    contiguous block (so it holds exactly that block's elements); any other array is summed.
    """
    memo: dict[tuple[int, int, str], float] = {}

    def norm(a: np.ndarray) -> float:
        a = np.asarray(a)
        key = _block_of(a)
        if key is None:
            return l2_norm(a)
        if key not in memo:
            memo[key] = l2_norm(a)
        return memo[key]

    return norm


def _block_of(a: np.ndarray) -> tuple[int, int, str] | None:
    """(address, bytes, dtype) of the contiguous block `a` is an axis permutation of, or None."""
    if a.size < 2:
        return None
    order = sorted(range(a.ndim), key=lambda i: -a.strides[i])
    t = a.transpose(order)
    if not t.flags.c_contiguous or any(s < 0 for s in a.strides):
        return None
    return t.ctypes.data, t.nbytes, a.dtype.str
