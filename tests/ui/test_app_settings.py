"""Settings survive a restart: recent files (Ctrl+1), geometry, layout direction, theme, docks.
Also the About dialog and the theme switch."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, QSettings, Qt
from PySide6.QtGui import QKeySequence, QPalette
from PySide6.QtWidgets import QApplication, QMessageBox

from inspector.ui.main_window import MainWindow
from inspector.ui.theme import apply_theme
from tests.ui.conftest import SAMPLES_DIR


@pytest.fixture
def restore_light():
    yield
    apply_theme(QApplication.instance(), "light")


def _restart(qtbot, window: MainWindow, ini) -> MainWindow:
    """Close `window` as a user would, then start a new one on the same settings file."""
    window.close()
    again = MainWindow(settings=QSettings(str(ini), QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    again.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is again)
    return again


def _wait_loaded(qtbot, window, n):
    qtbot.waitUntil(lambda: len(window.model_tabs()) == n
                    and all(t.model is not None for t in window.model_tabs()), timeout=20_000)


def test_recent_files_reopen_with_ctrl_1_after_restart(qtbot, main_window, open_model, tmp_path):
    open_model(SAMPLES_DIR / "iris_mlp.onnx")
    open_model(SAMPLES_DIR / "digits_cnn.keras")
    again = _restart(qtbot, main_window, tmp_path / "settings.ini")
    assert again.recent_files() == [str(SAMPLES_DIR / "digits_cnn.keras"), str(SAMPLES_DIR / "iris_mlp.onnx")]
    actions = again.recent_menu.actions()
    assert [a.shortcut() for a in actions] == [QKeySequence("Ctrl+1"), QKeySequence("Ctrl+2")]
    qtbot.keyClick(again, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    _wait_loaded(qtbot, again, 1)
    assert again.current_tab().title() == "iris_mlp.onnx"
    # Reopening moved it to the front of the list.
    assert again.recent_files()[0] == str(SAMPLES_DIR / "iris_mlp.onnx")


def test_geometry_direction_theme_and_docks_survive_restart(qtbot, main_window, tmp_path, restore_light):
    # restoreGeometry keeps a window on its screen (the offscreen one is 800x600).
    screen = main_window.screen().availableGeometry()
    main_window.setGeometry(QRect(screen.x() + 20, screen.y() + 30, screen.width() - 60, screen.height() - 70))
    main_window.act_horizontal.trigger()
    main_window.set_theme("dark")
    main_window.show_find()
    main_window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, main_window.find_dock)
    main_window.inspect_dock.hide()
    qtbot.wait(10)
    size = main_window.size()
    assert screen.contains(main_window.frameGeometry())
    again = _restart(qtbot, main_window, tmp_path / "settings.ini")
    assert again.size() == size
    assert again.act_horizontal.isChecked()
    assert again.theme == "dark"
    assert QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness() < 100
    assert again.dockWidgetArea(again.find_dock) == Qt.DockWidgetArea.RightDockWidgetArea
    assert again.find_dock.isVisible()
    assert not again.inspect_dock.isVisible()
    again.open_paths([str(SAMPLES_DIR / "iris_mlp.onnx")])
    _wait_loaded(qtbot, again, 1)
    tab = again.current_tab()
    assert tab.view.scene_data.options.direction == "LR"
    assert tab.view.palette_name() == "dark"


def test_theme_dark_changes_the_palette(qtbot, main_window, open_model, restore_light):
    tab = open_model(SAMPLES_DIR / "iris_mlp.onnx")
    light = QApplication.instance().palette().color(QPalette.ColorRole.Window)
    before = tab.view.render_image(200, 200).pixelColor(2, 2)
    next(a for a in main_window.actions() if a.text() == "Dark").trigger()
    dark = QApplication.instance().palette().color(QPalette.ColorRole.Window)
    assert dark.lightness() < light.lightness()
    assert tab.view.palette_name() == "dark"
    after = tab.view.render_image(200, 200).pixelColor(2, 2)
    assert after.lightness() < before.lightness()
    assert QSettings(main_window.settings.fileName(), QSettings.Format.IniFormat).value("theme") == "dark"


def test_about_lists_library_versions(qtbot, main_window, monkeypatch):
    from importlib import metadata

    shown = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append(text))
    next(a for a in main_window.actions() if "About" in a.text()).trigger()
    text = shown[0]
    for dist in ("onnx", "onnxruntime", "numpy", "h5py", "pyqtgraph"):
        assert metadata.version(dist) in text
    import PySide6

    assert PySide6.__version__ in text


def test_keyboard_shortcuts_exist(main_window):
    by_key = {a.shortcut().toString(): a.text().replace("&", "") for a in main_window.actions()
              if not a.shortcut().isEmpty()}
    for key, words in {
        QKeySequence(QKeySequence.StandardKey.Open).toString(): "Open",
        QKeySequence(QKeySequence.StandardKey.Find).toString(): "Find",
        QKeySequence(QKeySequence.StandardKey.ZoomIn).toString(): "Zoom In",
        QKeySequence(QKeySequence.StandardKey.ZoomOut).toString(): "Zoom Out",
        "Ctrl+0": "Fit",
        "Ctrl+D": "Attributes",
        "Ctrl+I": "Weights",
        "Ctrl+U": "Names",
        "Ctrl+K": "Horizontal",
    }.items():
        assert key and words in by_key.get(key, ""), (key, words, by_key)
    assert len(by_key) == len({a.shortcut().toString() for a in main_window.actions()
                               if not a.shortcut().isEmpty()})


def test_zoom_and_toggle_shortcuts_act_on_the_view(qtbot, main_window, open_model):
    tab = open_model(SAMPLES_DIR / "digits_cnn.onnx")
    main_window.activateWindow()
    z = tab.view.zoom()
    qtbot.keyClick(main_window, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    assert tab.view.zoom() > z
    qtbot.keyClick(main_window, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(main_window, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    fitted = tab.view.zoom()
    qtbot.keyClick(main_window, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(main_window, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert tab.view.zoom() == pytest.approx(fitted)
    weights = tab.view.scene_data.options.show_weights
    qtbot.keyClick(main_window, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    assert tab.view.scene_data.options.show_weights is (not weights)
    qtbot.keyClick(main_window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert tab.view.scene_data.options.direction == "LR"


def test_window_fits_a_1024_pixel_screen_with_every_dock_shown(qtbot, main_window, open_model):
    open_model(SAMPLES_DIR / "digits_cnn.onnx")
    main_window.show_find()
    for dock in (main_window.properties_dock, main_window.find_dock, main_window.inspect_dock):
        dock.show()
    qtbot.wait(10)
    hint = main_window.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 700, hint
