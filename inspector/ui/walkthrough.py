"""The walkthrough: step through the network one layer at a time, forward and back.

Each step selects its node on the graph, highlights the data flowing into it and explains,
with this input's numbers, what the layer did. Keyboard: Right/PageDown/Space next, Left/
PageUp previous, Home/End first/last, B toggles backward order.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from inspector.runtime.explain import Step, explained, walkthrough_steps


class WalkthroughPanel(QWidget):
    """Shows one `Step` at a time; `step_changed(Step)` tells the window which to highlight."""

    step_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.steps: list[Step] = []
        self._context: tuple[Any, Any, Any, Any] = (None, None, None, None)
        self._explained: dict[int, Step] = {}
        self.index = -1
        self.prev_button = QPushButton("◀ Previous", self)
        self.next_button = QPushButton("Next ▶", self)
        self.backward = QCheckBox("backward (follow the error)", self)
        self.position = QLabel(self)
        self.text = QTextBrowser(self)
        bar = QHBoxLayout()
        for w in (self.prev_button, self.next_button, self.backward):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.position)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(self.text, 1)
        self.prev_button.clicked.connect(self.previous)
        self.next_button.clicked.connect(self.next)
        self.backward.toggled.connect(lambda _b: self.go(0))
        self._show()

    def set_steps(self, model: Any, activations: Any, gradients: Any, graph: Any = None) -> None:
        """Rebuild the steps from the model and its newest results, keeping the position."""
        keep = self.index
        # Steps are explained when shown: describing all of them would read every activation.
        self._context = (model, activations, gradients, graph)
        self._explained: dict[int, Step] = {}
        self.steps = walkthrough_steps(model, activations, gradients, graph, explain=False) if model else []
        self.index = min(keep, len(self.steps) - 1)
        self._show(emit=False)

    def order(self) -> list[Step]:
        """The steps in the chosen direction."""
        return list(reversed(self.steps)) if self.backward.isChecked() else self.steps

    def go(self, index: int) -> None:
        """Show step `index` (in the chosen direction) and highlight it."""
        if not self.steps:
            return
        self.index = max(0, min(index, len(self.steps) - 1))
        self._show(emit=True)

    def next(self) -> None:
        """The following step."""
        self.go(self.index + 1)

    def previous(self) -> None:
        """The step before."""
        self.go(self.index - 1)

    def current(self) -> Step | None:
        """The step shown, or None."""
        order = self.order()
        if not 0 <= self.index < len(order):
            return None
        step = order[self.index]
        done = self._explained.get(step.index)
        if done is None:
            model, activations, gradients, graph = self._context
            done = self._explained[step.index] = explained(step, model, activations, gradients,
                                                           graph)
        return done

    def _show(self, emit: bool = False) -> None:
        step = self.current()
        n = len(self.steps)
        self.prev_button.setEnabled(n > 0 and self.index > 0)
        self.next_button.setEnabled(n > 0 and self.index < n - 1)
        if step is None:
            self.position.setText(f"{n} steps" if n else "")
            self.text.setHtml(
                "<p>Press <b>Next</b> (or →) to walk through the network one layer at a time. "
                "Run an input first to see this input's numbers; backpropagate to see the "
                "gradients flowing back.</p>"
            )
            return
        self.position.setText(f"step {self.index + 1} of {n}")
        lines = step.lines or (step.text,)
        if self.backward.isChecked():
            # Following the error: its numbers come first, the forward description after.
            lines = tuple(sorted(lines, key=lambda t: not t.startswith("Backward")))
        body = "".join(
            f"<p style='color:#7a2a00'>{html.escape(t)}</p>" if t.startswith("Backward")
            else f"<p>{html.escape(t)}</p>" for t in lines)
        self.text.setHtml(f"<h3>{html.escape(step.node.name)} "
                          f"<span style='color:#666'>({html.escape(step.node.op_type)})</span>"
                          f"</h3>{body}")
        if emit:
            self.step_changed.emit(step)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        """Arrow keys, PageUp/PageDown, Space, Home/End and B drive the walkthrough."""
        key = event.key()
        if key in (Qt.Key.Key_Right, Qt.Key.Key_PageDown, Qt.Key.Key_Space, Qt.Key.Key_N):
            self.next()
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_PageUp, Qt.Key.Key_P):
            self.previous()
        elif key == Qt.Key.Key_Home:
            self.go(0)
        elif key == Qt.Key.Key_End:
            self.go(len(self.steps) - 1)
        elif key == Qt.Key.Key_B:
            self.backward.toggle()
        else:
            super().keyPressEvent(event)
