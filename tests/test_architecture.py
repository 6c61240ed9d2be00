"""The shape of the code, checked by importing it: the core is Qt-free and start-up is light.

The static import rules (layers, no cycles) are contracts in pyproject.toml, run by
test_import_contracts.py.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import inspector

CORE = (
    "inspector.ir", "inspector.loaders", "inspector.layout", "inspector.runtime",
    "inspector.autodiff", "inspector.lowering", "inspector.compare",
)


def _core_modules() -> list[str]:
    root = Path(inspector.__file__).parent
    names = ["inspector.cli", "inspector.progress", "inspector.samples_dir", "inspector.desktop_install"]
    for pkg in CORE:
        names.append(pkg)
        sub = root / pkg.split(".")[1]
        names += [f"{pkg}.{m.name}" for m in pkgutil.iter_modules([str(sub)])]
    return names


def _imported_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_core_imports_no_qt_and_no_tensorflow() -> None:
    modules = _core_modules()
    assert len(modules) > 30
    loaded = _imported_after("\n".join(f"import {m}" for m in modules))
    for heavy in ("PySide6", "pyqtgraph", "tensorflow", "keras", "tf2onnx"):
        assert heavy not in loaded, f"the core imported {heavy}"


def test_opening_the_window_code_imports_neither_onnxruntime_nor_tensorflow() -> None:
    """Start-up budget: no TensorFlow and no onnxruntime before a model is run."""
    loaded = _imported_after("import inspector.ui.main_window, inspector.ui.app")
    assert "PySide6" in loaded
    for heavy in ("onnxruntime", "tensorflow", "keras", "tf2onnx"):
        assert heavy not in loaded, f"start-up imported {heavy}"


def test_opening_a_keras_file_needs_no_tensorflow() -> None:
    sample = Path(__file__).resolve().parents[1] / "samples" / "digits_cnn.keras"
    loaded = _imported_after(f"from inspector.loaders import load_model\nload_model({str(sample)!r})")
    assert "h5py" in loaded
    for heavy in ("tensorflow", "keras", "tf2onnx", "onnxruntime"):
        assert heavy not in loaded, f"opening a .keras file imported {heavy}"
