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


_NORM_CHUNK = 1 << 16
_NORM_ROW = 4096


def l2_norm(a: np.ndarray) -> float:
    """The L2 norm, summed in float64 (float32 sums overflow or lose digits on large arrays).

    A norm is taken of every gradient (BERT-base: 110M weights per backprop), so large float32
    arrays are not widened whole (two fresh 188 MB arrays for BERT's embedding table, 67 ms
    warm and 0.9 s on new pages): rows of 4096 squares are summed in float32 by one einsum
    pass, and the row sums in float64 (relative error about 1e-8 against an exact sum; 12 ms
    for 51M floats). Squares that overflow or underflow float32 fall back to a float64 sum,
    widened a chunk at a time into one cache-sized buffer."""
    flat = np.asarray(a).reshape(-1)
    if flat.dtype == np.float32 and flat.size > _NORM_ROW:
        whole = flat.size // _NORM_ROW * _NORM_ROW
        rows = flat[:whole].reshape(-1, _NORM_ROW)
        total = float(np.einsum("ij,ij->i", rows, rows).sum(dtype=np.float64))
        tail = flat[whole:].astype(np.float64)
        total += float(np.dot(tail, tail))
        if np.isfinite(total) and total > 1e-30 or np.isnan(total):
            return float(np.sqrt(total))
    buf = np.empty(min(flat.size, _NORM_CHUNK), np.float64)
    total = 0.0
    for start in range(0, flat.size, _NORM_CHUNK):
        part = flat[start:start + _NORM_CHUNK]
        wide = buf[:part.size]
        wide[...] = part
        total += float(np.dot(wide, wide))
    return float(np.sqrt(total))
