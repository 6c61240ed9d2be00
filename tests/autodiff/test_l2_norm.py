"""The gradient norm every panel and `grad --json` report: float64-exact at any size."""

import math

import numpy as np
import pytest

from inspector.autodiff.results import _NORM_CHUNK, _NORM_ROW, l2_norm


def _reference(a: np.ndarray) -> float:
    return math.sqrt(math.fsum(float(v) ** 2 for v in np.asarray(a, np.float64).ravel()))


SIZES = [0, 1, 7, _NORM_ROW, _NORM_ROW + 1, _NORM_CHUNK, _NORM_CHUNK + 1, 3 * _NORM_CHUNK + 12345]


@pytest.mark.parametrize("size", SIZES)
def test_float32_norm_matches_an_exact_sum_at_every_size(size):
    a = np.random.default_rng(size).standard_normal(size).astype(np.float32)
    assert l2_norm(a) == pytest.approx(_reference(a), rel=1e-7, abs=0.0)


@pytest.mark.parametrize("size", SIZES)
def test_float64_norm_is_exact_to_float64(size):
    a = np.random.default_rng(size).standard_normal(size)
    assert l2_norm(a) == pytest.approx(_reference(a), rel=1e-12, abs=0.0)


def test_squares_below_float32_do_not_vanish():
    a = np.full(2 * _NORM_CHUNK + 3, 1e-25, np.float32)  # (1e-25)^2 is 0 in float32
    assert l2_norm(a) == pytest.approx(float(np.float32(1e-25)) * math.sqrt(a.size), rel=1e-6)


def test_an_all_zero_gradient_has_norm_zero():
    assert l2_norm(np.zeros(3 * _NORM_ROW, np.float32)) == 0.0


def test_norm_of_a_strided_view_is_the_norm_of_its_elements():
    a = np.random.default_rng(1).standard_normal((300, 700)).astype(np.float32)
    view = a.T[::2]  # neither C- nor F-contiguous
    assert l2_norm(view) == pytest.approx(_reference(view), rel=1e-7)


def test_squares_beyond_float32_do_not_overflow():
    a = np.full(2 * _NORM_CHUNK + 3, 3e30, np.float32)  # (3e30)^2 is inf in float32
    assert l2_norm(a) == pytest.approx(3e30 * math.sqrt(a.size), rel=1e-6)


def test_a_nan_anywhere_makes_the_norm_nan():
    a = np.zeros(2 * _NORM_CHUNK, np.float32)
    a[-1] = np.nan
    assert math.isnan(l2_norm(a))
