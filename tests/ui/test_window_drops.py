"""Dropping files and folders on the window, bad files, opening the same file twice."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from tests import badfiles
from tests.ui.conftest import SAMPLES_DIR


def _drop(window, paths) -> bool:
    """Drag `paths` over the window and drop them, as a file manager does."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(window.width() / 2, window.height() / 2)
    action = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(pos, action, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(pos, action, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)
    return drop.isAccepted()


def _wait_loaded(qtbot, window, count: int) -> None:
    qtbot.waitUntil(
        lambda: len(window.model_tabs()) == count and all(t.model is not None for t in window.model_tabs()),
        timeout=20_000,
    )


def _boxes(window) -> list[QMessageBox]:
    return [b for b in window.findChildren(QMessageBox) if b.isVisible()]


def test_drop_one_file_opens_a_tab(qtbot, main_window):
    assert _drop(main_window, [SAMPLES_DIR / "iris_mlp.onnx"])
    _wait_loaded(qtbot, main_window, 1)
    assert main_window.current_tab().title() == "iris_mlp.onnx"
    assert main_window.current_tab().view.item_count() > 0


def test_drop_several_files_opens_one_tab_each(qtbot, main_window):
    names = ["iris_mlp.onnx", "digits_cnn.keras", "trend_gru.h5"]
    assert _drop(main_window, [SAMPLES_DIR / n for n in names])
    _wait_loaded(qtbot, main_window, 3)
    assert [t.title() for t in main_window.model_tabs()] == names
    assert not _boxes(main_window)


def test_drop_a_folder_opens_its_model_files(qtbot, main_window, tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    for n in ("iris_mlp.onnx", "iris_mlp.keras"):
        shutil.copy(SAMPLES_DIR / n, folder / n)
    (folder / "readme.txt").write_text("not a model")
    assert _drop(main_window, [folder])
    _wait_loaded(qtbot, main_window, 2)
    assert sorted(t.title() for t in main_window.model_tabs()) == ["iris_mlp.keras", "iris_mlp.onnx"]


def test_drop_a_folder_without_models_says_so(qtbot, main_window, tmp_path):
    (tmp_path / "readme.txt").write_text("not a model")
    _drop(main_window, [tmp_path])
    qtbot.waitUntil(lambda: bool(_boxes(main_window)))
    assert "no model files" in _boxes(main_window)[0].text()
    assert not main_window.model_tabs()


BAD = ["truncated_onnx", "random_onnx", "empty_onnx", "png_as_onnx", "text_file",
       "external_outside", "external_missing", "random_keras", "random_h5", "keras_bad_json",
       "h5_not_keras", "truncated_keras"]


@pytest.mark.parametrize("factory", BAD)
def test_drop_a_bad_file_shows_one_sentence_and_leaves_no_tab(qtbot, main_window, tmp_path, factory):
    path, expect = getattr(badfiles, factory)(tmp_path)
    _drop(main_window, [path])
    qtbot.waitUntil(lambda: bool(_boxes(main_window)), timeout=20_000)
    qtbot.waitUntil(lambda: not main_window.model_tabs())
    box = _boxes(main_window)[0]
    text = box.text()
    assert path.name in text
    assert badfiles.message_ok(text, expect), text
    assert "\n" not in text and "Traceback" not in text and 'File "' not in text
    assert len(text) < 400
    assert box.detailedText().strip(), "details are available on request"
    assert str(path.resolve()) not in main_window.recent_files()
    assert main_window.current_tab() is None


def test_opening_the_same_file_twice_focuses_its_tab(qtbot, main_window, open_model):
    first = open_model(SAMPLES_DIR / "iris_mlp.onnx")
    open_model(SAMPLES_DIR / "digits_cnn.onnx")
    assert main_window.current_tab() is not first
    again = main_window.open_paths([str(SAMPLES_DIR / "iris_mlp.onnx")])
    assert again == [first]
    assert main_window.current_tab() is first
    assert len(main_window.model_tabs()) == 2
    # Through a drop and a relative-looking path too.
    _drop(main_window, [SAMPLES_DIR / ".." / "samples" / "digits_cnn.onnx"])
    assert len(main_window.model_tabs()) == 2
    assert main_window.current_tab().title() == "digits_cnn.onnx"
