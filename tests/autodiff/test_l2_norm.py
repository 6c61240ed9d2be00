"""The gradient norm every panel and `grad --json` report: float64-exact at any size."""

import math

import numpy as np
import pytest

from inspector.autodiff.results import l2_norm
from inspector.autodiff.sums import _NORM_CHUNK, _NORM_ROW


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


def test_norms_by_block_reuse_only_the_same_elements(monkeypatch):
    from inspector.autodiff import results

    a = np.random.default_rng(9).standard_normal((6, 8, 10)).astype(np.float32)
    views = {
        "whole": a, "transposed": a.transpose(2, 0, 1), "reshaped": a.reshape(48, 10),
        "one axis swapped": np.swapaxes(a, 0, 1), "every other": a[:, :, ::2],
        "first rows": a[:1], "reversed": a[::-1], "later start": a[1:],
        "broadcast": np.broadcast_to(a[:1], a.shape), "copy": a.copy(),
        "float64 view of the bytes": a.reshape(-1).view(np.float64),
    }
    calls = []
    real = results.l2_norm
    monkeypatch.setattr(results, "l2_norm", lambda x: calls.append(1) or real(x))
    norm = results.norms_by_block()
    for name, v in views.items():
        assert norm(v) == real(v), name
    # whole, transposed, reshaped and swapped are one block; each other view is its own.
    assert len(calls) == len(views) - 3
    assert norm(a.T) == real(a) and len(calls) == len(views) - 3


@pytest.mark.parametrize("size", SIZES)
def test_dot_f64_of_two_arrays_is_the_exact_sum(size):
    from inspector.autodiff.results import dot_f64

    rng = np.random.default_rng(size + 1)
    a, b = rng.standard_normal(size).astype(np.float32), rng.standard_normal(size).astype(np.float32)
    want = math.fsum(float(x) * float(y) for x, y in zip(a, b, strict=True))
    # Float32 row sums: the error is float32 rounding of the terms' magnitudes (the sum of
    # random signs cancels), well inside what a float32 pairwise sum of the products loses.
    tol = 1e-7 * math.fsum(abs(float(x) * float(y)) for x, y in zip(a, b, strict=True))
    assert dot_f64(a, b) == pytest.approx(want, rel=0, abs=tol)
    assert dot_f64(a.reshape(-1, 1)[::-1], b[::-1]) == pytest.approx(want, rel=0, abs=tol)
    pairwise = float((a * b).sum())
    assert abs(dot_f64(a, b) - want) <= max(abs(pairwise - want), tol / 10)
    with pytest.raises(ValueError):
        dot_f64(a, np.zeros(size + 1, np.float32))
