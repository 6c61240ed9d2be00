"""The activation-function panel: the curve of a node's activation over the range of this
input's pre-activations, those values marked on it, and how many units are dead or
saturated."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from inspector.runtime.activation_facts import (
    SATURATION_LOGIT,
    activation_curve,
    activation_kind,
    normalize_kind,
)
from inspector.ui.panels._common import Panel, make_plot

__all__ = ["ActivationFunctionPanel", "activation_kind"]


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
        curve = activation_curve(canon, pre, post, params)
        self.curve.setData(curve.xs, curve.ys)
        self.points.setData(curve.px, curve.py)
        self.dead, self.saturated = curve.dead, curve.saturated
        self.counts_label.setText(self._counts_text(curve.units))
        self.plot.getPlotItem().autoRange()
        self.set_notes(list(curve.notes))

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

    def _counts_text(self, n: int) -> str:
        parts = [f"{n:,} units"]
        if self.dead is not None and n:
            parts.append(f"dead (output <= 0): {self.dead:,} ({self.dead / n:.1%})")
        if self.saturated is not None and n:
            parts.append(f"saturated (|x| > {SATURATION_LOGIT:g} or at the cap): "
                         f"{self.saturated:,} ({self.saturated / n:.1%})")
        return "   ".join(parts)

