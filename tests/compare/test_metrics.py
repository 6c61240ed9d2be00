"""Metrics and layout alignment on small arrays."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.compare.metrics import align, dequantize, snr_db, value_diff


def test_channels_last_against_channels_first() -> None:
    a = np.random.default_rng(0).standard_normal((1, 6, 5, 4)).astype(np.float32)
    b = np.moveaxis(a, -1, 1)  # NCHW, as tf2onnx runs a Keras Conv
    assert np.array_equal(align(a, b), a)
    d = value_diff("a", "b", a, b)
    assert d.max_abs == 0 and d.cosine == pytest.approx(1.0)


def test_square_maps_are_told_apart_by_their_values_across_formats() -> None:
    # 1x24x24x24: moving the channel axis keeps the shape, so only the data can tell.
    a = np.random.default_rng(1).standard_normal((1, 4, 4, 4)).astype(np.float32)
    b = np.moveaxis(a, -1, 1).copy()
    assert value_diff("a", "b", a, b).max_abs > 0.1
    assert value_diff("a", "b", a, b, cross_layout=True).max_abs == 0


def test_snr_and_relative_error() -> None:
    a = np.ones(100, np.float32)
    d = value_diff("a", "b", a, a * 1.1)
    assert d.snr_db == pytest.approx(20.0, abs=1e-4) == pytest.approx(snr_db(a, a * 1.1), abs=1e-4)
    assert d.max_rel == pytest.approx(0.1, rel=1e-5)
    assert value_diff("a", "b", a, np.ones(7, np.float32)) is None


def test_dequantize_per_axis() -> None:
    q = np.array([[0, 10], [20, 30]], np.int8)
    out = dequantize(q, np.array([0.5, 2.0], np.float32), np.zeros(2, np.int8), axis=0)
    assert out.tolist() == [[0.0, 5.0], [40.0, 60.0]]
