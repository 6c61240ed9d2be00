"""Qt-free progress reporting and cancellation for long work (loading, layout, inference)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


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

    def report(self, fraction: float, message: str = "") -> None:
        """Report progress in [0, 1] and raise `Cancelled` if asked to stop."""
        self.check()
        if self.progress is not None:
            self.progress(max(0.0, min(1.0, float(fraction))), message)

    def check(self) -> None:
        """Raise `Cancelled` when the cancel check is set and returns True."""
        if self.cancelled is not None and self.cancelled():
            raise Cancelled()


NO_TASK = Task()
