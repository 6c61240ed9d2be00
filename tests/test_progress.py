"""Task: progress scaling into a parent's range and cancellation."""

from __future__ import annotations

import threading

import pytest

from inspector.progress import Cancelled, Task


def test_part_reports_into_its_slice_and_shares_the_cancel_check() -> None:
    seen: list[tuple[float, str]] = []
    stop = threading.Event()
    task = Task(lambda f, m: seen.append((f, m)), stop.is_set, yield_gil=True)
    sub = task.part(0.5, 0.75)
    sub.report(0.0, "a")
    sub.report(1.0, "b")
    sub.part(0.5, 1.0).report(0.5, "c")
    assert seen == [(0.5, "a"), (0.75, "b"), (0.6875, "c")]
    assert sub.yield_gil
    stop.set()
    with pytest.raises(Cancelled):
        sub.part(0.0, 1.0).check()

