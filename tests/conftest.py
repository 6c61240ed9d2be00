"""Every test runs Qt offscreen: the platform must be chosen before anything imports Qt
(tests outside tests/ui render icons and diagrams too).

A Qt test (one that uses `qtbot`) also fails when it leaves top-level widgets or threads
behind, as napari's `make_napari_viewer` fixture does: top-level widgets and threads are
recorded before the test; after it (once pytest-qt has closed the widgets given to
`qtbot.addWidget`), pending deletions and pool jobs are allowed to finish and anything new
that is still alive is a leak. Mark a test `allow_leaks` to opt out (say why).
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections import Counter

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Qt's own helpers that live for the application's lifetime (tooltips, popups) or exist
# before any test: not the test's leak.
_QT_INTERNAL = {"QTipLabel", "QComboBoxPrivateContainer", "QWhatsThat", "QCompleter"}
_SETTLE_S = 5.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "allow_leaks: a Qt test allowed to leave top-level widgets or threads"
    )


def _address(widget: object) -> int:
    import shiboken6

    return int(shiboken6.getCppPointer(widget)[0])


def _live_top_levels() -> dict[int, str]:
    import shiboken6
    from PySide6.QtWidgets import QApplication

    out = {}
    for w in QApplication.topLevelWidgets():
        if shiboken6.isValid(w) and type(w).__name__ not in _QT_INTERNAL:
            title = w.title() if hasattr(w, "title") and callable(w.title) else ""
            out[_address(w)] = f"{type(w).__name__}({w.objectName() or w.windowTitle() or title!r})"
    return out


def _close_shown(app: object, widgets_before: set[int]) -> None:
    """Close the windows the test showed and left open, the way a user closes them: a window
    that is then deleted was not leaked, one that stays alive was. A function of its own so
    that no loop variable of the hook keeps the last top-level widget alive (it did: the
    last one listed was often a pyqtgraph plot menu, reported as 7 leaked QMenus)."""
    for w in list(app.topLevelWidgets()):
        if w.isVisible() and _address(w) not in widgets_before:
            w.close()


def _settle(app: object) -> None:
    """Let pending deletions and pool jobs finish, and collect the test's garbage. Only
    objects made since the test began are scanned: the heap before it was frozen in setup
    (a full collection of a heap holding TensorFlow costs about 0.5 s, and six per test
    made the suite's Qt half mostly garbage collection)."""
    from PySide6.QtCore import QCoreApplication, QEvent, QThreadPool

    QThreadPool.globalInstance().waitForDone(int(_SETTLE_S * 1000))
    for _ in range(3):
        # A closed window's Python side may sit in a reference cycle (pyqtgraph's plots and
        # their menus): collected, it is gone; kept alive by a reference, it is a leak.
        gc.collect()
        QCoreApplication.processEvents()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        gc.collect()  # Python-owned widgets held only by reference cycles (pyqtgraph's)


def _new_threads(before: set[int]) -> list[threading.Thread]:
    deadline = time.monotonic() + _SETTLE_S
    while True:
        # Dummy threads are foreign (Qt pool) threads that once called into Python: they
        # stay listed for ever and are checked through QThreadPool instead.
        new = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()
               and not isinstance(t, threading._DummyThread)]  # noqa: SLF001
        if not new or time.monotonic() > deadline:
            return new
        time.sleep(0.05)


_BEFORE = pytest.StashKey[tuple[set[int], set[int]]]()


def _checked(item: pytest.Item) -> bool:
    return "qtbot" in getattr(item, "fixturenames", ()) and not item.get_closest_marker(
        "allow_leaks")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item):
    """Record the top-level widgets and threads before the test's fixtures exist."""
    if _checked(item):
        from PySide6.QtWidgets import QApplication

        if QApplication.instance() is not None:
            from PySide6.QtCore import QCoreApplication, QEvent

            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            widgets = set(_live_top_levels())
        else:
            widgets = set()
        item.stash[_BEFORE] = (widgets, {t.ident for t in threading.enumerate()})
        gc.freeze()  # what exists now is not this test's garbage: teardown skips it
    return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """After every fixture is torn down (so none holds a window), fail on what is left."""
    result = yield
    if _BEFORE not in item.stash:
        return result
    widgets_before, threads_before = item.stash[_BEFORE]
    try:
        return _check_leaks(item, result, widgets_before, threads_before)
    finally:
        gc.unfreeze()  # the heap goes back to Python's own collector between Qt tests


def _check_leaks(item: pytest.Item, result: object, widgets_before: set[int],
                 threads_before: set[int]) -> object:
    from PySide6.QtCore import QThreadPool
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        return result
    # pytest drops the fixture values only after this hook; they are torn down already, and
    # holding them (a MainWindow's Python side) would keep its pyqtgraph menus alive.
    if isinstance(getattr(item, "funcargs", None), dict):
        item.funcargs.clear()
    _close_shown(app, widgets_before)
    _settle(app)
    leaked = {a: d for a, d in _live_top_levels().items() if a not in widgets_before}
    threads = _new_threads(threads_before)
    active = QThreadPool.globalInstance().activeThreadCount()
    problems = []
    if leaked:
        problems.append(f"{len(leaked)} top-level widget(s) left alive: "
                        + ", ".join(f"{n} x{c}" if c > 1 else n
                                    for n, c in sorted(Counter(leaked.values()).items())[:8]))
    if threads:
        problems.append("thread(s) left running: " + ", ".join(t.name for t in threads[:8]))
    if active:
        problems.append(f"{active} QThreadPool job(s) still running")
    if problems:
        pytest.fail("leak check: " + "; ".join(problems), pytrace=False)
    return result
