"""`model-inspector --self-test`: open every sample, draw it, run it where possible, screenshot.

Used by CI on the PyInstaller bundle to prove the built app really works, offscreen.
"""

from __future__ import annotations

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


def self_test(app: QApplication, screenshot: str, convert: bool = True) -> int:
    """Returns 0 when every sample opened, drew and ran, else 1.

    Keras samples must run through our own lowering, as the TensorFlow-free bundle runs them:
    a sample that needed the tf2onnx fallback fails the test. `convert` is kept for the
    `--no-convert` option, which older scripts pass; every sample runs either way.
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
        run_errors: list[str] = []
        tab.job_failed.connect(lambda m, _d, r=run_errors: r.append(m))
        tab.run()
        ok = wait_until(app, lambda t=tab, r=run_errors: t.activations is not None or bool(r))
        if not ok or tab.activations is None:
            failures.append(f"{e['file']}: run failed ({'; '.join(run_errors)})")
            continue
        engine = getattr(tab.activations, "engine", "onnxruntime")
        if e["path"].endswith((".keras", ".h5")) and engine != "lowering":
            failures.append(f"{e['file']}: ran through {engine}, not the lowering")
            continue
        ran = f"{len(tab.activations.values)} activations ({engine})"
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
