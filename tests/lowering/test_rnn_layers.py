"""The lowering of Embedding and the recurrent layers against Keras's own outputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.lowering.oracle import assert_matches_keras, random_feeds

pytest.importorskip("keras", reason="the Keras oracle needs the 'convert' extra")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _text_model():
    import keras
    from keras import layers

    i = keras.Input((7,), dtype="int32", name="tok")
    x = layers.Embedding(10, 6, name="emb")(i)
    x = layers.LSTM(5, return_sequences=True, name="lstm")(x)
    x = layers.GRU(4, return_sequences=True, name="gru")(x)
    x = layers.Bidirectional(layers.LSTM(3), name="bi")(x)
    return keras.Model(i, x)


def _variants_model():
    import keras
    from keras import layers

    i = keras.Input((6, 3), name="seq")
    a = layers.GRU(4, reset_after=False, return_sequences=True, name="gru_v1")(i)
    b = layers.SimpleRNN(3, activation="relu", go_backwards=True, return_sequences=True, name="srnn")(a)
    c, ch, cc = layers.LSTM(3, return_state=True, recurrent_activation="hard_sigmoid", name="lstm_st")(b)
    d = layers.GRU(2, go_backwards=True, activation="softsign", return_state=True, name="gru_back")(b)
    e = layers.Bidirectional(layers.GRU(2, return_sequences=True), merge_mode="sum", name="bi_sum")(a)
    f = layers.Bidirectional(layers.SimpleRNN(2), merge_mode="ave", name="bi_ave")(e)
    g = layers.Bidirectional(layers.LSTM(2, return_sequences=True), merge_mode="mul", name="bi_mul")(a)
    h = layers.Bidirectional(
        layers.LSTM(2), backward_layer=layers.GRU(2, go_backwards=True), merge_mode=None, name="bi_none"
    )(g)
    k = layers.Bidirectional(layers.LSTM(2, return_state=True), name="bi_state")(a)
    outs = [c, ch, cc, d[0], d[1], f, h[0], h[1], *k]
    return keras.Model(i, [layers.Identity(name=f"out{n}")(o) for n, o in enumerate(outs)])


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("rnn")
    paths = {}
    for name, build in (("text", _text_model), ("variants", _variants_model)):
        m = build()
        for ext in ("keras", "h5"):
            paths[f"{name}.{ext}"] = d / f"{name}.{ext}"
            m.save(paths[f"{name}.{ext}"])
    return paths


@pytest.mark.parametrize("ext", ["keras", "h5"])
def test_text_model_matches_keras(models: dict[str, Path], ext: str) -> None:
    p = models[f"text.{ext}"]
    errs = assert_matches_keras(p, random_feeds(p))
    assert {"emb", "lstm", "gru", "bi"} <= set(errs)


@pytest.mark.parametrize("ext", ["keras", "h5"])
def test_rnn_variants_match_keras(models: dict[str, Path], ext: str) -> None:
    p = models[f"variants.{ext}"]
    errs = assert_matches_keras(p, random_feeds(p))
    assert {"gru_v1", "srnn", "lstm_st", "lstm_st/output_2", "gru_back/output_1", "bi_none/output_1",
            "bi_state/output_4"} <= set(errs)
