"""Normalization and rescaling layers lowered to ONNX, against Keras's own outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.lowering.keras_build import branches, check, check_both, randomize

keras = pytest.importorskip("keras", reason="the Keras oracle needs the 'convert' extra")
L = keras.layers

CASES = {
    "batchnorm": ((5, 6, 4), lambda: [
        L.BatchNormalization(name="bn"),
        L.BatchNormalization(epsilon=0.1, center=False, name="bn_nocenter"),
        L.BatchNormalization(axis=1, scale=False, name="bn_axis1"),
        L.BatchNormalization(axis=-2, epsilon=1e-5, name="bn_axis2"),
    ]),
    "layernorm": ((5, 6, 4), lambda: [
        L.LayerNormalization(name="ln"),
        L.LayerNormalization(scale=False, name="ln_noscale"),
        L.LayerNormalization(rms_scaling=True, name="ln_rms"),
        L.RMSNormalization(name="rms"),
    ]),
    "groupnorm": ((5, 6, 8), lambda: [
        L.GroupNormalization(groups=4, name="gn"),
        L.GroupNormalization(groups=2, center=False, epsilon=1e-5, name="gn2"),
        L.GroupNormalization(groups=-1, name="gn_instance"),
        L.GroupNormalization(groups=5, axis=1, name="gn_axis1"),
    ]),
    "unit_rescale": ((3, 4), lambda: [
        L.UnitNormalization(name="unit"),
        L.Rescaling(1 / 255.0, name="rescale"),
        L.Rescaling(2.0, offset=-1.0, name="rescale_offset"),
        L.Rescaling([1.0, 2.0, 3.0, 4.0], offset=[0.0, 1.0, 0.0, -1.0], name="rescale_list"),
        L.Normalization(mean=[1.0, 2.0, 3.0, 4.0], variance=[1.0, 4.0, 0.25, 2.0], name="norm_cfg"),
        L.Normalization(mean=0.5, variance=2.0, invert=True, name="norm_inv"),
    ]),
}

# Keras 3.15 reads a list `axis` back from a legacy .h5 as -1 (its own model then differs from
# the one saved), so layers normalizing over several axes are checked on .keras files only.
LIST_AXES = ((5, 6, 4), lambda: [
    L.LayerNormalization(axis=[1, 2], epsilon=1e-5, name="ln_12"),
    L.LayerNormalization(axis=[1, 3], center=False, name="ln_13"),
    L.RMSNormalization(axis=[2, 3], epsilon=1e-3, name="rms_23"),
    L.UnitNormalization(axis=[1, 2], name="unit_12"),
    L.Normalization(axis=(1, 3), mean=1.0, variance=0.0, name="norm_zero_var"),
])


def test_list_axes_match_keras(tmp_path: Path) -> None:
    shape, layers = LIST_AXES
    check(tmp_path, randomize(branches(shape, layers())), "list_axes", "keras")


@pytest.mark.parametrize("case", sorted(CASES))
def test_norm_layers_match_keras(tmp_path: Path, case: str) -> None:
    shape, layers = CASES[case]
    check_both(tmp_path, lambda: randomize(branches(shape, layers())), case)


def test_adapted_normalization_matches_keras(tmp_path: Path) -> None:
    def build():
        rng = np.random.default_rng(1)
        a = L.Normalization(name="adapted")
        a.adapt(rng.standard_normal((20, 3, 4)).astype(np.float32) * 3 + 1)
        c = L.Normalization(axis=1, invert=True, name="adapted_inv")
        c.adapt(rng.standard_normal((20, 3, 4)).astype(np.float32) + 2)
        return branches((3, 4), [a, c])
    check_both(tmp_path, build, "adapted")


def test_adapted_normalization_all_axes_matches_keras(tmp_path: Path) -> None:
    # .keras only: Keras 3.15 cannot read back its own legacy .h5 of axis=None (mean shape ()).
    norm = L.Normalization(axis=None, name="adapted_all")
    norm.adapt(np.random.default_rng(2).standard_normal((20, 3, 4)).astype(np.float32) + 2)
    check(tmp_path, branches((3, 4), [norm]), "adapted_all", "keras")
