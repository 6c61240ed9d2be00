"""Embedding against Keras: integer ids, float ids (Keras casts them) and mask_zero."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.lowering.oracle import assert_matches_keras

pytest.importorskip("keras", reason="the Keras oracle needs the 'convert' extra")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import keras
    from keras import layers

    i = keras.Input((5,), dtype="int32", name="ids")
    f = keras.Input((5,), name="float_ids")
    a = layers.Embedding(10, 3, name="emb")(i)
    b = layers.Embedding(10, 3, mask_zero=True, name="emb_masked")(f)
    path = tmp_path_factory.mktemp("embedding") / "emb.keras"
    keras.Model([i, f], [a, layers.Flatten(name="flat")(b)]).save(path)
    return path


def test_embedding_matches_keras(model: Path) -> None:
    rng = np.random.default_rng(0)
    feeds = {"ids": rng.integers(0, 10, (2, 5)).astype(np.int32),
             "float_ids": rng.integers(0, 10, (2, 5)).astype(np.float32)}
    errs = assert_matches_keras(model, feeds)
    assert {"emb", "emb_masked", "flat"} <= set(errs)
