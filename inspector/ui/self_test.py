"""`model-inspector --self-test`: open every sample, draw it, run it where possible, screenshot.

Used by CI on the PyInstaller bundle to prove the built app really works, offscreen.
"""

from __future__ import annotations

import importlib.util
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from inspector.samples_dir import sample_entries

TIMEOUT_S = 120.0


def wait_until(app: QApplication, done: Callable[[], bool], timeout: float = TIMEOUT_S) -> bool:
    """Process events until `done()` or the timeout; True if done."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if done():
            return True
        time.sleep(0.01)
    return False


def _can_convert() -> bool:
    """Whether Keras files can be run (TensorFlow and tf2onnx installed).

    Asked once, before any job starts: find_spec on an imported TensorFlow touches its lazy
    modules, and doing that on the GUI thread while a worker converts crashed the process
    (segmentation fault inside TensorFlow, measured with TF 2.21).
    """
    return all(importlib.util.find_spec(m) is not None for m in ("tensorflow", "tf2onnx"))


def self_test(app: QApplication, screenshot: str, convert: bool = True) -> int:
    """Returns 0 when every sample opened and drew (and ran where it can), else 1.

    `convert=False` (`--no-convert`) runs only ONNX files, as the TensorFlow-free bundle does.
    """
    from inspector.ui.main_window import MainWindow

    entries = sample_entries()
    if not entries:
        print("self-test: no samples found")
        return 1
    ini = Path(tempfile.mkdtemp(prefix="mi-selftest-")) / "settings.ini"
    window = MainWindow(QSettings(str(ini), QSettings.Format.IniFormat))
    window.resize(1400, 900)
    window.show()
    can_convert = convert and _can_convert()
    failures: list[str] = []
    for e in entries:
        t0 = time.monotonic()
        tabs = window.open_paths([e["path"]])
        if not tabs:
            failures.append(f"{e['file']}: not opened")
            continue
        tab = tabs[0]
        # One list per sample: a shared one would blame every later sample for the first failure.
        errors: list[str] = []
        tab.load_failed.connect(lambda m, _d, r=errors: r.append(m))
        if not wait_until(app, lambda t=tab, r=errors: t.model is not None or bool(r)) or tab.model is None:
            failures.append(f"{e['file']}: did not load ({'; '.join(errors)})")
            continue
        app.processEvents()
        ran = "-"
        if e["path"].endswith(".onnx") or can_convert:
            run_errors: list[str] = []
            tab.job_failed.connect(lambda m, _d, r=run_errors: r.append(m))
            tab.run()
            ok = wait_until(app, lambda t=tab, r=run_errors: t.activations is not None or bool(r))
            if not ok or tab.activations is None:
                failures.append(f"{e['file']}: run failed ({'; '.join(run_errors)})")
                continue
            ran = f"{len(tab.activations.values)} activations"
        print(f"self-test: {e['file']}: {len(tab.model.graph.nodes)} nodes, {ran}, "
              f"{time.monotonic() - t0:.2f} s")
    app.processEvents()
    image = window.grab()
    if not image.save(screenshot):
        failures.append(f"{screenshot}: cannot be written")
    else:
        print(f"self-test: screenshot {screenshot} ({image.width()}x{image.height()})")
    for f in failures:
        print(f"self-test FAILED: {f}")
    window.close()
    return 1 if failures else 0
