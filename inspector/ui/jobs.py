"""Background jobs: one job type, one slot per owner.

A `JobSlot` runs at most one job at a time for its owner (a tab, a panel): starting a new job
cancels the old one, and results of a stale job are dropped by a generation counter. Workers
return plain data; only the GUI thread turns it into widgets.

Jobs run on plain Python threads, not QThreadPool threads: measured here (PySide6 6.12,
TensorFlow 2.21), converting a Keras model in one QThreadPool job and then taking its
gradients in another crashed the process (a glibc assertion in
__pthread_tpp_change_priority, or a segfault in convert_to_eager_tensor), whatever the pool's
stack size or thread count, while the same sequence on Python threads runs cleanly. Results
still reach the GUI thread through queued Qt signals.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from inspector.progress import Cancelled, Task


class _Signals(QObject):
    progressed = Signal(int, float, str)
    finished = Signal(int, object)
    failed = Signal(int, str, str)
    cancelled = Signal(int)


class _Runnable:
    def __init__(self, gen: int, fn: Callable[[Task], Any], signals: _Signals) -> None:
        self.gen = gen
        self.fn = fn
        self.signals = signals
        self.stop = threading.Event()
        self._last_report = 0.0

    def _progress(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        # Throttle: the GUI thread needs no more than ~30 updates a second.
        if now - self._last_report > 0.03 or fraction >= 1.0:
            self._last_report = now
            self.signals.progressed.emit(self.gen, fraction, message)

    def run(self) -> None:
        task = Task(progress=self._progress, cancelled=self.stop.is_set, yield_gil=True)
        try:
            result = self.fn(task)
        except Cancelled:
            self.signals.cancelled.emit(self.gen)
        except Exception as e:  # noqa: BLE001 - reported to the user as one sentence + details
            self.signals.failed.emit(self.gen, _sentence(e), traceback.format_exc())
        else:
            if self.stop.is_set():
                self.signals.cancelled.emit(self.gen)
            else:
                self.signals.finished.emit(self.gen, result)


def _sentence(e: BaseException) -> str:
    text = " ".join(str(e).split())
    if isinstance(e, MemoryError):
        return "Not enough memory for this model or input."
    return text or type(e).__name__


class JobSlot(QObject):
    """Runs one background job at a time for its owner; a new job cancels the old one.

    Signals carry only the newest job's events: `progressed(fraction, message)`,
    `finished(result)`, `failed(message, details)`, `cancelled()`, and `busy_changed(bool)`.
    """

    progressed = Signal(float, str)
    finished = Signal(object)
    failed = Signal(str, str)
    cancelled = Signal()
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._gen = 0
        self._current: _Runnable | None = None
        self._signals = _Signals()
        self._signals.progressed.connect(self._on_progress)
        self._signals.finished.connect(self._on_finished)
        self._signals.failed.connect(self._on_failed)
        self._signals.cancelled.connect(self._on_cancelled)
        self.label = ""

    @property
    def busy(self) -> bool:
        """True while a job started here has not finished, failed or been cancelled."""
        return self._current is not None

    def start(self, fn: Callable[[Task], Any], label: str = "") -> int:
        """Run `fn(task)` in the pool, cancelling any job still running here."""
        self.cancel()
        self._gen += 1
        self.label = label
        runnable = _Runnable(self._gen, fn, self._signals)
        self._current = runnable
        threading.Thread(target=runnable.run, name=f"job-{label or 'work'}", daemon=True).start()
        self.busy_changed.emit(True)
        return self._gen

    def cancel(self) -> None:
        """Ask the running job to stop; its late results are ignored."""
        if self._current is not None:
            self._current.stop.set()
            self._current = None
            self.busy_changed.emit(False)
            self.cancelled.emit()

    def _fresh(self, gen: int) -> bool:
        return gen == self._gen and self._current is not None

    def _on_progress(self, gen: int, fraction: float, message: str) -> None:
        if self._fresh(gen):
            self.progressed.emit(fraction, message)

    def _on_finished(self, gen: int, result: object) -> None:
        if self._fresh(gen):
            self._current = None
            self.busy_changed.emit(False)
            self.finished.emit(result)

    def _on_failed(self, gen: int, message: str, details: str) -> None:
        if self._fresh(gen):
            self._current = None
            self.busy_changed.emit(False)
            self.failed.emit(message, details)

    def _on_cancelled(self, gen: int) -> None:
        if self._fresh(gen):
            self._current = None
            self.busy_changed.emit(False)
            self.cancelled.emit()
