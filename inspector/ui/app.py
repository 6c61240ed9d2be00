"""Starting the desktop app: options, single instance, macOS file-open events, self-test."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSettings, Signal
from PySide6.QtGui import QFileOpenEvent, QIcon
from PySide6.QtWidgets import QApplication

ORG = "ModelInspector"
APP = "Model Inspector"


class FileOpenFilter(QObject):
    """Turns QFileOpenEvent (macOS Finder double-clicks, dropping on the Dock icon) into a signal.

    An event filter rather than a QApplication subclass, so that it works on whichever
    application object exists (a test's, an embedding app's).
    """

    file_open_requested = Signal(str)

    def eventFilter(self, watched: QObject, e: QEvent) -> bool:  # noqa: N802 - Qt API
        """Catch QFileOpenEvent; everything else passes through."""
        if e.type() == QEvent.Type.FileOpen and isinstance(e, QFileOpenEvent):
            path = e.file() or e.url().toLocalFile()
            if path:
                self.file_open_requested.emit(path)
                return True
        return False


def install_file_open_handler(app: QApplication, open_file: Callable[[str], object]) -> FileOpenFilter:
    """Call `open_file(path)` for every QFileOpenEvent the app receives; returns the filter."""
    handler = FileOpenFilter(app)
    handler.file_open_requested.connect(open_file)
    app.installEventFilter(handler)
    return handler


class _OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line (the CLI contract), not usage text."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"model-inspector: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parse(extra: list[str]) -> argparse.Namespace:
    p = _OneLineParser(prog="model-inspector", add_help=False)
    p.add_argument("--install-desktop", action="store_true")
    p.add_argument("--uninstall-desktop", action="store_true")
    p.add_argument("--self-test", action="store_true")
    p.add_argument("--screenshot", default="")
    p.add_argument("--no-convert", action="store_true")
    p.add_argument("--new-instance", action="store_true")
    p.add_argument("--theme", choices=("system", "light", "dark"))
    p.add_argument("--compare", nargs=2, metavar=("A", "B"), default=None)
    ns, unknown = p.parse_known_args(extra)
    if unknown:
        print(f"model-inspector: unknown option {unknown[0]} (try --help)", file=sys.stderr)
        raise SystemExit(2)
    return ns


def _app() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    app.setDesktopFileName("model-inspector")
    from inspector.desktop_install import resources_dir

    icon = resources_dir() / "model-inspector.svg"
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    return app  # type: ignore[return-value]


def preload_loaders(files: list[str]) -> threading.Thread | None:
    """Import the loaders the files will need in a background thread, now; the thread.

    Importing the ONNX loader imports onnx and ml_dtypes (~0.5 s on 2 cores); started before
    the window is built, much of it overlaps the Qt start-up instead of delaying the graph.
    A process that returns early must join it first: exiting while the thread is inside a
    C++ extension's import aborts ("terminate called without an active exception").
    """
    if not files:
        return None

    def work() -> None:
        from inspector.loaders.registry import loaders

        try:
            loaders()
        except Exception:  # noqa: BLE001 - the real load reports any failure properly
            pass

    thread = threading.Thread(target=work, name="preload-loaders", daemon=True)
    thread.start()
    return thread


def _settled(code: int, preload: threading.Thread | None) -> int:
    """`code`, once the preload thread (if any) has finished: for the early exits."""
    if preload is not None:
        preload.join(timeout=60)
    return code


def run_app(files: list[str], extra: list[str]) -> int:
    """Open the main window on `files` (or the sample gallery) and run the event loop."""
    ns = _parse(extra)
    preload = preload_loaders(files)
    if ns.install_desktop or ns.uninstall_desktop:
        from inspector import desktop_install

        done = desktop_install.install() if ns.install_desktop else desktop_install.uninstall()
        for p in done:
            print(("installed " if ns.install_desktop else "removed ") + str(p))
        return _settled(0, preload)
    if ns.self_test:
        if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from inspector.ui.self_test import self_test

        return _settled(self_test(_app(), ns.screenshot or "model-inspector-self-test.png",
                                  convert=not ns.no_convert), preload)

    app = _app()
    from inspector.ui.single_instance import InstanceServer, send_to_running

    absolute = [str(Path(f).resolve()) for f in files]
    if not ns.new_instance and absolute and send_to_running(absolute):
        print(f"model-inspector: opened in the running window: {', '.join(absolute)}")
        return _settled(0, preload)
    from inspector.ui.main_window import MainWindow

    window = MainWindow(QSettings())
    if ns.theme:
        window.set_theme(ns.theme)
    server = InstanceServer(parent=window)
    if not ns.new_instance:
        server.listen()
    server.files_received.connect(window.open_paths)
    install_file_open_handler(app, lambda p: window.open_paths([p]))
    window.show()
    if files:
        window.open_paths(files)
    if ns.compare:
        window.open_compare(*ns.compare)
    code = app.exec()
    server.close()
    return _settled(int(code), preload)

