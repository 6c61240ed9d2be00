"""The activation-function panel: the curve of a node's activation over the range of this
input's pre-activations, those values marked on it, and how many units are dead or
saturated."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from inspector.runtime.stats import (
    SATURATION_LOGIT,
    activation_kind,
    apply_activation,
    dead_count,
    normalize_kind,
    saturated_count,
)
from inspector.ui.panels._common import Panel, make_plot

__all__ = ["ActivationFunctionPanel", "activation_kind"]

#: Points drawn on the curve at most; more pre-activations are subsampled evenly.
MAX_POINTS = 2000
CURVE_POINTS = 401


class ActivationFunctionPanel(Panel):
    """An activation function's curve with this input's values marked on it."""

    TITLE = "Activation function"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind: str | None = None
        self.dead: int | None = None
        self.saturated: int | None = None
        self.plot = make_plot(self, x_label="pre-activation (logit)", y_label="output")
        self.plot.getPlotItem().showGrid(x=True, y=True, alpha=0.25)
        self.curve = pg.PlotCurveItem(pen=pg.mkPen("#222", width=2))
        self.points = pg.ScatterPlotItem(size=6, pen=None, brush=pg.mkBrush(245, 130, 32, 160))
        self.plot.addItem(self.curve)
        self.plot.addItem(self.points)
        self.counts_label = QLabel("", self)
        self.counts_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._layout.addWidget(self.plot, 1)
        self._layout.addWidget(self.counts_label)

    def set_function(self, kind: str, pre: np.ndarray | None, post: np.ndarray | None,
                     params: dict[str, Any] | None = None) -> None:
        """Draw activation `kind` (with `params`) and mark `pre` on it; count dead/saturated.

        Either array may be None: without `pre` only the curve and output-based counts
        are shown; without `post` it is computed from `pre`.
        """
        params = dict(params or {})
        canon = normalize_kind(kind)
        self.set_subject(kind)
        self.kind = canon
        if canon is None:
            self.clear()
            self.counts_label.setText(f"'{kind}' is not an activation function this panel knows.")
            return
        notes: list[str] = []
        pre_f = None if pre is None else np.asarray(pre, dtype=np.float64)
        if pre_f is not None and pre_f.ndim >= 2 and pre_f.shape[0] == 1:
            pre_f = pre_f[0]
        post_f = None if post is None else np.asarray(post, dtype=np.float64)
        if post_f is not None and post_f.ndim >= 2 and post_f.shape[0] == 1:
            post_f = post_f[0]
        if post_f is None and pre_f is not None:
            post_f = apply_activation(canon, pre_f, params)

        lo, hi = -6.0, 6.0
        if pre_f is not None and pre_f.size:
            finite = pre_f[np.isfinite(pre_f)]
            if finite.size:
                pad = 0.1 * max(1e-6, float(finite.max() - finite.min()))
                lo, hi = min(lo, float(finite.min()) - pad), max(hi, float(finite.max()) + pad)
        xs = np.linspace(lo, hi, CURVE_POINTS)
        if canon == "softmax":
            # Softmax has no single curve: a unit's probability against its own logit with
            # the other logits fixed is sigmoid(x - log(sum of the others' exp)). Drawn for
            # the top unit; every marked point is the exact (logit, probability) pair.
            if pre_f is not None and pre_f.size > 1:
                flat = np.sort(pre_f.reshape(-1))
                rest = _logsumexp(flat[:-1])
            else:
                rest = 0.0
            ys = apply_activation("sigmoid", xs - rest)
            notes.append("softmax: curve is the top unit's probability vs its logit, "
                         "other logits fixed")
        else:
            ys = apply_activation(canon, xs, params)
        self.curve.setData(xs, ys)

        if pre_f is not None and pre_f.size:
            px = pre_f.reshape(-1)
            py = post_f.reshape(-1) if post_f is not None and post_f.size == pre_f.size else \
                apply_activation(canon, pre_f, params).reshape(-1)
            if px.size > MAX_POINTS:
                step = -(-px.size // MAX_POINTS)
                px, py = px[::step], py[::step]
                notes.append(f"{pre_f.size} values: every {step}th marked")
            self.points.setData(px, py)
        else:
            self.points.setData([], [])
            notes.append("no pre-activation values for this input")

        self.dead = dead_count(post_f, canon) if post_f is not None else None
        self.saturated = saturated_count(canon, pre=pre_f, post=post_f, params=params)
        self.counts_label.setText(self._counts_text(post_f if post_f is not None else pre_f))
        self.plot.getPlotItem().autoRange()
        self.set_notes(notes)

    def curve_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The drawn curve as (x, y)."""
        x, y = self.curve.getData()
        return np.asarray(x), np.asarray(y)

    def marked_points(self) -> tuple[np.ndarray, np.ndarray]:
        """The marked (pre-activation, output) points."""
        x, y = self.points.getData()
        return np.asarray(x), np.asarray(y)

    def clear(self) -> None:
        """Show nothing."""
        super().clear()
        self.kind = self.dead = self.saturated = None
        self.curve.setData([], [])
        self.points.setData([], [])
        self.counts_label.setText("")

    def _counts_text(self, values: np.ndarray | None) -> str:
        n = 0 if values is None else int(values.size)
        parts = [f"{n:,} units"]
        if self.dead is not None and n:
            parts.append(f"dead (output <= 0): {self.dead:,} ({self.dead / n:.1%})")
        if self.saturated is not None and n:
            parts.append(f"saturated (|x| > {SATURATION_LOGIT:g} or at the cap): "
                         f"{self.saturated:,} ({self.saturated / n:.1%})")
        return "   ".join(parts)


def _logsumexp(x: np.ndarray) -> float:
    m = float(np.max(x))
    return m + float(np.log(np.sum(np.exp(x - m))))
