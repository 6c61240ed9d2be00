"""Every activation string keras.activations knows, lowered to ONNX, against Keras."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspector.lowering.activations import SIMPLE
from tests.lowering.keras_build import branches, check_both

keras = pytest.importorskip("keras", reason="the Keras oracle needs the 'convert' extra")
from keras.src.activations import ALL_OBJECTS_DICT  # noqa: E402

# threshold(x, threshold, default_value) has no defaults: Keras cannot call it from a string.
NAMES = sorted(n for n in ALL_OBJECTS_DICT if n not in ("linear", "threshold"))


def test_every_keras_activation_has_a_rule() -> None:
    assert set(NAMES) <= set(SIMPLE), sorted(set(NAMES) - set(SIMPLE))


@pytest.mark.parametrize("name", NAMES)
def test_activation_matches_keras(tmp_path: Path, name: str) -> None:
    L = keras.layers
    check_both(tmp_path, lambda: branches((3, 6), [
        L.Activation(name, name="act"), L.Dense(4, activation=name, name="dense"),
    ]), name)
