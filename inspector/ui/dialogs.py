"""Error and About dialogs: one clear sentence, details only on request, never a traceback."""

from __future__ import annotations

import platform
import sys
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMessageBox, QWidget

from inspector import __version__


def show_error(parent: QWidget | None, message: str, details: str = "") -> QMessageBox:
    """Show `message` (one sentence); `details` go behind the 'Show Details…' button.

    The box is modal to its window (window-modal, so it stays in front of it and never behind)
    and there is at most one per window: a second error while one is showing is added to it
    instead of stacking a new box behind the first."""
    text = " ".join(str(message).split())
    window = parent.window() if parent is not None else None
    box = getattr(window, "_error_box", None) if window is not None else None
    try:
        showing = isinstance(box, QMessageBox) and box.isVisible()
    except RuntimeError:  # the user closed it and Qt deleted it (WA_DeleteOnClose)
        showing = False
    if showing:
        if text not in box.text():
            box.setText(box.text() + "\n\n" + text)
        if details:
            box.setDetailedText("\n\n".join(t for t in (box.detailedText(), details) if t))
        box.raise_()
        return box
    box = QMessageBox(window or parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Model Inspector")
    box.setText(text)
    if details:
        box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setWindowModality(Qt.WindowModality.WindowModal if window is not None
                          else Qt.WindowModality.ApplicationModal)
    if window is not None:
        window._error_box = box  # type: ignore[attr-defined]
    box.open()
    return box


#: What the mouse does in the graph (the keyboard side is read from the window's actions).
MOUSE_GESTURES = (
    ("Click", "select a node or an edge; on [+] / [−], expand or collapse the group"),
    ("Double-click", "expand a collapsed group, collapse a frame (on its title), enter a subgraph"),
    ("Drag", "pan"),
    ("Wheel", "zoom around the cursor"),
    ("Click or drag in the minimap", "move the view there"),
    ("Hover", "the full name of a node, group or edge"),
    ("Arrow keys", "walk to a producer (Up), consumer (Down) or sibling (Left/Right)"),
    ("Backspace", "leave a subgraph"),
)


def shortcut_rows(window: QWidget) -> list[tuple[str, str]]:
    """(key sequence, action) for every action of `window` that has a shortcut."""
    rows = []
    for act in window.actions():
        seq = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if seq and act.isVisible():
            rows.append((seq, act.text().replace("&", "").rstrip("…").strip()))
    return rows


def shortcuts_html(window: QWidget) -> str:
    """The shortcut list: the window's real actions, then the graph's mouse gestures."""
    def table(rows: list[tuple[str, str]]) -> str:
        return "<table cellspacing=4>" + "".join(
            f"<tr><td><b>{escape(k)}</b></td><td>{escape(v)}</td></tr>" for k, v in rows) + "</table>"

    return ("<h3>Keyboard</h3>" + table(shortcut_rows(window))
            + "<h3>Mouse and keys in the graph</h3>" + table(list(MOUSE_GESTURES)))


def show_shortcuts(window: QWidget) -> QMessageBox:
    """Help > Keyboard and Mouse: every shortcut and gesture, generated from the actions."""
    box = QMessageBox(window)
    box.setWindowTitle("Keyboard and Mouse")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(shortcuts_html(window))
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.open()
    return box


def library_versions() -> dict[str, str]:
    """Versions of the libraries in use (optional ones only if already imported or installed)."""
    from importlib import metadata

    names = {
        "PySide6": "PySide6-Essentials",
        "pyqtgraph": "pyqtgraph",
        "onnx": "onnx",
        "onnxruntime": "onnxruntime",
        "numpy": "numpy",
        "h5py": "h5py",
        "tensorflow": "tensorflow-cpu",
        "keras": "keras",
        "tf2onnx": "tf2onnx",
    }
    out = {"Python": platform.python_version()}
    for label, dist in names.items():
        try:
            out[label] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            try:
                out[label] = metadata.version(label)
            except metadata.PackageNotFoundError:
                out[label] = "not installed"
    return out


def about_text() -> str:
    """The About dialog's HTML."""
    rows = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in library_versions().items())
    return (
        f"<h3>Model Inspector {__version__}</h3>"
        "<p>Open an ONNX or Keras model and see what every layer does: the graph, the "
        "activations, weights and activation functions for a real input, the outputs and the "
        "gradients.</p>"
        f"<table>{rows}</table><p>{sys.platform}</p>"
    )


def show_about(parent: QWidget | None) -> None:
    """The About dialog with the versions of the libraries in use."""
    QMessageBox.about(parent, "About Model Inspector", about_text())
