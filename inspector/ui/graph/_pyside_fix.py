"""Work around a PySide6 6.12.0 refcount bug on Python < 3.12.

Measured here (PySide6 6.12.0, CPython 3.11.7): every call of a void QPainter method
(setPen, setBrush, drawRect, save, ...) drops one reference to `None` without taking it (and bool results to True/False).
After a few tens of thousands of calls CPython aborts with "none_dealloc: deallocating None".
From 3.12 on None is immortal and the bug is harmless; before, we give None a reference count
no session can exhaust.
"""

from __future__ import annotations

import ctypes
import sys

_done = False


def pin_none() -> None:
    """Make `None`, `True` and `False` effectively immortal on CPython < 3.12 (once per process)."""
    global _done
    if _done or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    _done = True
    # ob_refcnt is the first field of every PyObject in a release CPython build.
    for obj in (None, True, False):  # bool-returning calls were seen dropping True/False too
        ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 40
