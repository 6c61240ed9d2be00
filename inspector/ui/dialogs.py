"""Error and About dialogs: one clear sentence, details only on request, never a traceback."""

from __future__ import annotations

import platform
import sys

from PySide6.QtWidgets import QMessageBox, QWidget

from inspector import __version__


def show_error(parent: QWidget | None, message: str, details: str = "") -> QMessageBox:
    """Show `message` (one sentence); `details` go behind the 'Show Details…' button."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Model Inspector")
    box.setText(" ".join(str(message).split()))
    if details:
        box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setModal(False)
    box.show()
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
