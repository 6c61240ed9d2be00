"""About 30 bad files opened one after another in one window: one message each (the same
refusal `load_model` gives), the window stays usable (a good file opens after them), and
closing the tabs leaves no ModelTab, widget or thread behind (tests/conftest.py checks)."""

from __future__ import annotations

import os
import shutil

import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QMessageBox

from inspector.loaders import ModelLoadError, load_model
from inspector.ui.model_tab import ModelTab
from tests import badfiles
from tests.fuzz.mutators import all_cases, write_case
from tests.ui.conftest import SAMPLES_DIR

N_FILES = 30
# The zip bombs take seconds each and are covered by tests/test_bad_files.py.
SKIP = {"keras_zip_bomb", "keras_zip_bomb_forged"}


def _boxes(window) -> list[QMessageBox]:
    return [b for b in window.findChildren(QMessageBox) if b.isVisible()]


def _refused(path) -> str | None:
    try:
        load_model(path)
    except ModelLoadError as e:
        return str(e)
    return None


@pytest.fixture
def bad_paths(tmp_path) -> list:
    """Hand-made bad files, a FIFO, then fuzz cases that load_model refuses, up to N_FILES."""
    paths = []
    for name in sorted(set(badfiles.FACTORIES) - SKIP):
        folder = tmp_path / name
        folder.mkdir()
        paths.append(badfiles.FACTORIES[name](folder)[0])
    fifo = tmp_path / "fifo" / "pipe.onnx"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    paths.append(fifo)
    for i, case in enumerate(all_cases(seed=3, scale=0.02)[::7]):
        if len(paths) >= N_FILES:
            break
        folder = tmp_path / f"fuzz{i}" / "model"
        path = write_case(case, folder, tmp_path / "CANARY")
        renamed = folder / f"fuzz{i}_{path.name}"  # a unique name to find in the message
        shutil.move(path, renamed)
        if _refused(renamed) is not None:
            paths.append(renamed)
    assert len(paths) == N_FILES
    return paths


def test_bad_files_in_one_window_then_a_good_one(qtbot, main_window, bad_paths, tmp_path):
    for path in bad_paths:
        expected = _refused(path)
        assert expected is not None, f"{path.name} should be refused by load_model"
        before = len(_boxes(main_window))
        main_window.open_paths([str(path)])
        qtbot.waitUntil(lambda before=before: len(_boxes(main_window)) > before, timeout=20_000)
        qtbot.waitUntil(lambda: not main_window.model_tabs(), timeout=5_000)
        qtbot.wait(20)  # a second message would come in the same turn of the loop
        boxes = _boxes(main_window)
        assert len(boxes) == before + 1, f"{path.name}: {[b.text() for b in boxes]}"
        text = boxes[-1].text()
        assert path.name in text, text
        assert "\n" not in text and "Traceback" not in text and len(text) < 500
        for box in boxes:
            box.close()
    assert not (tmp_path / "CANARY").exists()
    assert main_window.isVisible() and main_window.isEnabled()
    # Still usable: a good file opens and draws.
    tabs = main_window.open_paths([str(SAMPLES_DIR / "digits_cnn.onnx")])
    qtbot.waitUntil(lambda: tabs[0].model is not None, timeout=20_000)
    assert tabs[0].view.item_count() > 0
    assert not _boxes(main_window)
    main_window.close_tab(main_window.tabs.indexOf(tabs[0]))
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()
    assert not main_window.findChildren(ModelTab), "a closed tab is still alive"
