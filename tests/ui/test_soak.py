"""A short soak (20 iterations; the 200-iteration report is `python -m tests.fuzz.soak`):
opening and closing the samples and 50 generated models in one window leaves no thread
behind and resident memory does not keep growing."""

from __future__ import annotations

import threading

import pytest

from tests.fuzz.mutators import samples
from tests.fuzz.soak import generated_models, soak

pytestmark = pytest.mark.slow

ITERATIONS = 20
# Generous: allocator and cache warm-up settle in the first few iterations; a leak of one
# tab per iteration (a graph scene, panels) would add far more than this over 15 more.
MAX_GROWTH_MB = 60.0


def test_open_close_soak_is_flat(qtbot, main_window, tmp_path):
    paths = samples() + generated_models(tmp_path / "gen")
    threads0 = {t.ident for t in threading.enumerate()}
    curve = soak(main_window, paths, ITERATIONS,
                 lambda cond: qtbot.waitUntil(cond, timeout=60_000), every=5,
                 report=lambda line: None)
    assert [i for i, _ in curve] == [0, 5, 10, 15, 20]
    growth = curve[-1][1] - curve[1][1]  # after warm-up (5 iterations) to the end
    assert growth < MAX_GROWTH_MB, curve
    assert not main_window.model_tabs()
    left = [t for t in threading.enumerate() if t.ident not in threads0
            and not isinstance(t, threading._DummyThread) and t.is_alive()]
    assert not left, [t.name for t in left]
