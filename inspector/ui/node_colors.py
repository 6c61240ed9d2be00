"""Colour every node by a statistic of this run, with a legend (viridis, low to high)."""

from __future__ import annotations

from typing import Any

import numpy as np

from inspector.ir import Graph, Model
from inspector.runtime.node_stats import STATISTICS as _STATS
from inspector.runtime.node_stats import node_statistic

STATISTICS = tuple(_STATS)

# Five viridis anchors; values in between are interpolated.
_VIRIDIS = np.array(
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=np.float64
)


def viridis(t: np.ndarray) -> np.ndarray:
    """RGB (0-255) for values in [0, 1]."""
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0) * (len(_VIRIDIS) - 1)
    i = np.minimum(t.astype(int), len(_VIRIDIS) - 2)
    f = (t - i)[..., None]
    return _VIRIDIS[i] * (1 - f) + _VIRIDIS[i + 1] * f


def node_colors(
    model: Model, graph: Graph, statistic: str, activations: Any = None, gradients: Any = None
) -> tuple[dict[str, tuple[int, int, int]] | None, list[tuple[str, tuple[int, int, int]]] | None]:
    """({node: rgb}, legend) for `statistic`, or (None, None) when there is nothing to show.

    Gradient norms and activation magnitudes span decades, so they are coloured on a log scale.
    """
    stats = node_statistic(model, graph, statistic, activations, gradients)
    if not stats:
        return None, None
    names = list(stats)
    vals = np.array([stats[n] for n in names], dtype=np.float64)
    log = "share" not in statistic and np.all(vals >= 0)
    positive = vals[vals > 0]
    # Exact zeros (a dead ReLU passes no gradient) sit one decade under the smallest
    # non-zero value, not at 1e-12, which would squash every real value into one colour.
    floor = float(positive.min()) / 10 if positive.size else 1.0
    shown = np.log10(np.maximum(vals, floor)) if log else vals
    lo, hi = float(np.nanmin(shown)), float(np.nanmax(shown))
    span = hi - lo if hi > lo else 1.0
    rgb = viridis((shown - lo) / span).round().astype(int)
    colors = {n: (int(r), int(g), int(b)) for n, (r, g, b) in zip(names, rgb, strict=True)}
    legend = []
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        v = lo + t * span
        label = f"{10 ** v:.3g}" if log else f"{v:.3g}"
        c = viridis(np.array(t)).round().astype(int)
        legend.append((label, (int(c[0]), int(c[1]), int(c[2]))))
    if log and positive.size < vals.size:
        legend[0] = ("0", legend[0][1])
    legend[0] = (f"{statistic}: {legend[0][0]}", legend[0][1])
    return colors, legend
