"""Pooling layers lowered to ONNX, against Keras's own outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lowering.keras_build import branches, check_both

keras = pytest.importorskip("keras", reason="the Keras oracle needs the 'convert' extra")
L = keras.layers


def _pools(n: int, fmt: str) -> list:
    mx = getattr(L, f"MaxPooling{n}D")
    av = getattr(L, f"AveragePooling{n}D")
    gmx = getattr(L, f"GlobalMaxPooling{n}D")
    gav = getattr(L, f"GlobalAveragePooling{n}D")
    kw = {"data_format": fmt}
    return [
        mx(name="max_default", **kw),
        mx(3, strides=2, padding="same", name="max_same", **kw),
        mx(2, strides=1, padding="valid", name="max_s1", **kw),
        av(2, name="avg_default", **kw),
        av(3, strides=2, padding="same", name="avg_same", **kw),
        av(2, strides=3, padding="same", name="avg_same_even", **kw),
        av(3, strides=1, padding="valid", name="avg_valid", **kw),
        gmx(name="gmax", **kw),
        gmx(keepdims=True, name="gmax_keep", **kw),
        gav(name="gavg", **kw),
        gav(keepdims=True, name="gavg_keep", **kw),
    ]


SHAPES = {1: (7, 3), 2: (7, 6, 3), 3: (5, 4, 5, 2)}


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_pool_layers_match_keras(tmp_path: Path, n: int, fmt: str) -> None:
    shape = SHAPES[n] if fmt == "channels_last" else (SHAPES[n][-1], *SHAPES[n][:-1])
    check_both(tmp_path, lambda: branches(shape, _pools(n, fmt)), f"pool{n}d_{fmt}")
