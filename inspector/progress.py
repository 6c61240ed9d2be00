"""Qt-free progress reporting and cancellation for long work (loading, layout, inference)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


class Cancelled(Exception):
    """Raised inside long work when its caller asked it to stop."""


ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]


@dataclass
class Task:
    """Progress callback plus cancel check handed to core functions.

    `report(fraction, message)` forwards to the callback; `check()` raises `Cancelled`
    when the cancel check says so. A UI worker wraps a Qt signal in `progress`.
    """

    progress: ProgressFn | None = None
    cancelled: CancelFn | None = None
    #: Set by background jobs of the GUI: let the GUI thread take the GIL now and then.
    yield_gil: bool = False
    _last_yield: float = field(default=0.0, repr=False)

    def report(self, fraction: float, message: str = "") -> None:
        """Report progress in [0, 1] and raise `Cancelled` if asked to stop."""
        self.check()
        if self.progress is not None:
            self.progress(max(0.0, min(1.0, float(fraction))), message)

    def check(self) -> None:
        """Raise `Cancelled` when the cancel check is set and returns True."""
        if self.yield_gil:
            self._yield()
        if self.cancelled is not None and self.cancelled():
            raise Cancelled()

    def part(self, lo: float, hi: float) -> Task:
        """A task reporting its own [0, 1] progress into [lo, hi] of this one (same cancel
        check, same GIL manners)."""
        parent = self.progress
        scaled = None if parent is None else (lambda f, m: parent(lo + (hi - lo) * f, m))
        return Task(scaled, self.cancelled, self.yield_gil)

    def _yield(self) -> None:
        # Measured with PySide6 6.12: while a worker thread ran Python, the GUI thread's event
        # processing waited for the GIL for the whole job (one 0.6 s processEvents call; the
        # interpreter's forced switching did not reach it). A short sleep every 10 ms hands
        # the GIL over; the window then repaints and answers during long work.
        now = time.monotonic()
        if now - self._last_yield > 0.01:
            time.sleep(0.0005)
            self._last_yield = time.monotonic()


NO_TASK = Task()
