"""The lowering against Keras on the samples' dense layers (oracle: Keras's own outputs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lowering.oracle import assert_matches_keras, random_feeds

pytest.importorskip("keras", reason="the Keras oracle needs the 'convert' extra")

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.mark.parametrize("name", ["iris_mlp.keras", "iris_mlp.h5"])
def test_iris_mlp_matches_keras(name: str) -> None:
    errs = assert_matches_keras(SAMPLES / name, random_feeds(SAMPLES / name))
    assert {"hidden1", "hidden1/preact", "output"} <= set(errs)
