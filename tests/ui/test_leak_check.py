"""The leak check in tests/conftest.py fails a Qt test that leaves a top-level widget or a
thread behind, and passes one that cleans up (run on a throw-away test file)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

INNER = '''
import threading
import time

KEEP = []


def test_leaks_a_window(qtbot):
    from PySide6.QtWidgets import QWidget

    w = QWidget()
    w.setObjectName("leaky")
    KEEP.append(w)  # alive after the test: a leak


def test_leaks_a_thread(qtbot):
    t = threading.Thread(target=time.sleep, args=(30,), name="leaky-thread", daemon=True)
    t.start()


def test_cleans_up(qtbot):
    from PySide6.QtWidgets import QWidget

    w = QWidget()
    qtbot.addWidget(w)
    w.show()
    t = threading.Thread(target=time.sleep, args=(0.1,))
    t.start()
    t.join()
'''


def test_leak_check_fails_leaky_tests_only(tmp_path: Path) -> None:
    test = tmp_path / "test_inner.py"
    test.write_text(INNER)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(test)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env,
    )
    out = proc.stdout
    assert "3 passed, 2 errors" in out, out
    assert "QWidget('leaky')" in out and "leaky-thread" in out, out
    assert "test_cleans_up" not in out.split("short test summary")[-1], out
