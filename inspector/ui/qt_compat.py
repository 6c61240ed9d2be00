"""Work around a PySide6 6.12 reference-count bug on CPython < 3.12 for the whole app.

Measured here (PySide6 6.12.0, CPython 3.11.7): every Python call of a void QPainter method
(setPen, drawRect, save, ...) drops a reference to `None`, and every `SignalInstance.emit()`
drops one to `True`, without having taken them. After a few hundred to a few tens of
thousands of calls CPython aborts ("none_dealloc" / "bool_dealloc"). CPython 3.12 made these
singletons immortal; here we do the same by hand, adding 2**40 references to each, which no
session can exhaust. It runs once, when `inspector.ui` is imported, before any Qt call.
"""

from __future__ import annotations

import ctypes
import sys

_pinned = False


def pin_singletons() -> bool:
    """Make None, True and False unfreeable on CPython < 3.12; returns whether it did."""
    global _pinned
    if _pinned or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return _pinned
    for obj in (None, True, False):
        # ob_refcnt is the first field of every CPython object (Include/object.h).
        ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 40
    _pinned = True
    return True


#: The GIL's forced-switch interval for the GUI process (CPython's default is 5 ms).
SWITCH_INTERVAL_S = 0.0001


def quick_gil_handoff() -> None:
    """Hand the GIL to the GUI thread quickly while a worker thread runs Python.

    Measured (PySide6 6.12, a 20,000-node ONNX loading in a worker): every Python override
    or slot Qt calls on the GUI thread (pyqtgraph's items have many) first waits for the GIL,
    up to one switch interval each; at the default 5 ms the window's first layout after
    opening a tab took the whole 0.6 s load (one timer tick), at 0.1 ms it ticked 12 times.
    Workers lose no measurable throughput to the extra switches.
    """
    sys.setswitchinterval(SWITCH_INTERVAL_S)
