"""Per-node statistics of one run (or one backward pass), for colouring the graph.

A glance at the coloured graph shows where the signal dies (many dead ReLU units), explodes
(large mean |a|) or where the error flows (gradient norm).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from inspector.ir import Graph, Model


def _mean_abs(a: np.ndarray) -> float:
    return float(np.mean(np.abs(a)))


def _std(a: np.ndarray) -> float:
    return float(np.std(a))


def _dead_share(a: np.ndarray) -> float:
    return float(np.count_nonzero(a <= 0) / max(a.size, 1))


#: statistic name -> (function of a float64 array, needs gradients)
STATISTICS: dict[str, tuple[Callable[[np.ndarray], float], bool]] = {
    "mean |activation|": (_mean_abs, False),
    "activation std": (_std, False),
    "share of units <= 0 (dead ReLU)": (_dead_share, False),
    "gradient norm": (lambda a: float(np.linalg.norm(a)), True),
}


def node_statistic(
    model: Model, graph: Graph, statistic: str, activations: Any = None, gradients: Any = None
) -> dict[str, float]:
    """{node name: value of `statistic` on the node's first output} for nodes that have one."""
    fn, needs_grad = STATISTICS[statistic]
    if needs_grad:
        if gradients is None:
            return {}
        norms = getattr(gradients, "norms", None)
        if norms:
            return {k: float(v) for k, v in norms.items()}
        values: Mapping[str, np.ndarray] = gradients.values
        by_node = getattr(activations, "by_node", None) or {}
    else:
        if activations is None:
            return {}
        values = activations.values
        by_node = activations.by_node
    out: dict[str, float] = {}
    for node in graph.nodes:
        keys = by_node.get(node.name) or ([node.name] if model.format == "keras" else list(node.outputs))
        for key in keys:
            a = values.get(key)
            if a is not None and a.size and np.issubdtype(a.dtype, np.number):
                out[node.name] = fn(np.asarray(a, dtype=np.float64))
                break
    return out
