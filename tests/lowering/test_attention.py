"""MultiHeadAttention, Attention and TimeDistributed against Keras's own outputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.lowering.oracle import assert_matches_keras, random_feeds

pytest.importorskip("keras", reason="the Keras oracle needs the 'convert' extra")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import keras
    from keras import layers

    s = keras.Input((5, 3), name="seq")
    td = layers.TimeDistributed(layers.Dense(4, activation="tanh"), name="td_dense")(s)
    frames = keras.Input((3, 6, 6, 2), name="frames")
    tdc = layers.TimeDistributed(layers.Conv2D(3, 3, activation="relu"), name="td_conv")(frames)
    q, v = keras.Input((4, 8), name="q"), keras.Input((6, 8), name="v")
    mask = keras.Input((4, 6), dtype="int32", name="mask")
    outs = [
        td, tdc,
        layers.MultiHeadAttention(2, 4, name="mha")(q, v),
        layers.MultiHeadAttention(2, 3, value_dim=5, output_shape=7, name="mha_causal")(q, q, q, use_causal_mask=True),
        layers.MultiHeadAttention(1, 4, name="mha_kv")(q, v, key=v),
        layers.MultiHeadAttention(2, 4, name="mha_mask")(q, v, attention_mask=mask),
    ]
    d = tmp_path_factory.mktemp("attention")
    paths = {ext: d / f"mha.{ext}" for ext in ("keras", "h5")}
    for p in paths.values():
        keras.Model([s, frames, q, v, mask], outs).save(p)
    att = [
        layers.Attention(name="att")([q, v]),
        layers.Attention(use_scale=True, name="att_scale")([q, v, v], use_causal_mask=True),
        layers.Attention(score_mode="concat", use_scale=True, name="att_concat")([q, v]),
    ]
    # .keras only: Keras 3.15 cannot load its own legacy .h5 of Attention (score_mode is
    # written as a function object)
    paths["att"] = d / "att.keras"
    keras.Model([q, v], att).save(paths["att"])
    return paths


@pytest.mark.parametrize("ext", ["keras", "h5"])
def test_attention_layers_match_keras(models: dict[str, Path], ext: str) -> None:
    p = models[ext]
    feeds = random_feeds(p)
    feeds["mask"] = (feeds["mask"] % 2).astype(feeds["mask"].dtype)
    errs = assert_matches_keras(p, feeds)
    assert {"td_dense", "td_conv", "mha", "mha_causal", "mha_kv", "mha_mask"} <= set(errs)


def test_attention_matches_keras(models: dict[str, Path]) -> None:
    errs = assert_matches_keras(models["att"], random_feeds(models["att"]))
    assert {"att", "att_scale", "att_concat"} <= set(errs)
