"""Qt tests run offscreen: the platform must be chosen before anything imports Qt."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


# --- whole-window fixtures (tests/ui/test_window_*.py, test_app_*.py) -----------------------

from collections.abc import Callable  # noqa: E402 - the offscreen platform is chosen first
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture
def window_settings(tmp_path):
    """A QSettings backed by an ini file in tmp_path: never the user's real settings."""
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def main_window(qtbot, window_settings):
    """A shown MainWindow on temporary settings; its message boxes are closed afterwards."""
    from PySide6.QtWidgets import QMessageBox

    from inspector.ui.main_window import MainWindow

    win = MainWindow(settings=window_settings)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    yield win
    for box in win.findChildren(QMessageBox):
        box.close()
    for tab in win.model_tabs():
        tab.cancel()


@pytest.fixture
def open_model(qtbot, main_window) -> Callable:
    """open_model(path) opens a file in `main_window` and waits until its tab has loaded."""

    def _open(path, timeout: int = 20_000):
        tabs = main_window.open_paths([str(path)])
        assert len(tabs) == 1, f"{path} did not open a tab"
        tab = tabs[0]
        failed: list[str] = []
        tab.load_failed.connect(lambda message, _details: failed.append(message))
        qtbot.waitUntil(lambda: tab.model is not None or bool(failed), timeout=timeout)
        assert not failed, f"{path} failed to load: {failed}"
        qtbot.wait(1)  # let queued view updates run
        return tab

    return _open
