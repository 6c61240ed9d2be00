"""A guard against a PySide6 6.12 reference-count bug on CPython 3.11.

Measured here: every Python call to `SignalInstance.emit()` returns `True` without taking
a new reference, so each emit lowers `True`'s reference count by one; after a few hundred
emits (pyqtgraph emits on every range change) CPython aborts with "bool_dealloc:
deallocating True or False". CPython 3.12+ makes True/False/None immortal, which is what
`pin_singletons` does by hand: it adds 2**40 references to each, so they can never reach 0.
"""

from __future__ import annotations

import ctypes
import sys

_PINNED = False


def emit_leaks_true() -> bool:
    """Whether emitting a Qt signal from Python drops a reference to True (the bug)."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        fired = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.fired.emit()
    return sys.getrefcount(True) < before - 4


def pin_singletons() -> bool:
    """Make True, False and None unfreeable when this interpreter needs it; returns whether
    it did. Safe to call more than once."""
    global _PINNED
    if _PINNED or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return _PINNED
    if not emit_leaks_true():
        return False
    for obj in (True, False, None):
        # ob_refcnt is the first field of every CPython object (Include/object.h).
        ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 40
    _PINNED = True
    return True
