"""Model structure against Keras: nested models, shared layers, several inputs and outputs,
and the sample files with recurrent layers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.lowering.oracle import assert_matches_keras, random_feeds

pytest.importorskip("keras", reason="the Keras oracle needs the 'convert' extra")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _nested():
    import keras
    from keras import layers

    i = keras.Input((4,), name="x")
    inner_in = keras.Input((4,), name="inner_in")
    inner = keras.Model(inner_in, layers.Dense(3, activation="relu", name="inner_dense")(inner_in), name="inner")
    seq = keras.Sequential(
        [keras.Input((3,)), layers.Dense(5, name="seq_d1"), layers.Dense(2, name="seq_d2")], name="seq"
    )
    return keras.Model(i, layers.Dense(1, name="head")(seq(inner(i))))


def _shared():
    import keras
    from keras import layers

    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    sh = layers.Dense(3, name="shared")
    o1 = layers.Dense(2, name="o1")(sh(a))
    # the second and third calls run in the other order than the config numbers them
    o2 = layers.Dense(1, name="o2")(layers.Add(name="add")([sh(b), sh(a)]))
    return keras.Model([a, b], [o1, o2])


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("structure")
    paths = {}
    for name, build in (("nested", _nested), ("shared", _shared)):
        m = build()
        for ext in ("keras", "h5"):
            paths[f"{name}.{ext}"] = d / f"{name}.{ext}"
            m.save(paths[f"{name}.{ext}"])
    return paths


@pytest.mark.parametrize("ext", ["keras", "h5"])
def test_nested_models_match_keras(models: dict[str, Path], ext: str) -> None:
    p = models[f"nested.{ext}"]
    errs = assert_matches_keras(p, random_feeds(p))
    assert {"inner", "seq", "inner_dense", "seq_d2", "head"} <= set(errs)


@pytest.mark.parametrize("ext", ["keras", "h5"])
def test_shared_layer_calls_match_keras(models: dict[str, Path], ext: str) -> None:
    p = models[f"shared.{ext}"]
    errs = assert_matches_keras(p, random_feeds(p))
    assert {"shared", "shared:1", "shared:2", "o1", "o2"} <= set(errs)


@pytest.mark.parametrize(
    "name", ["trend_gru.keras", "trend_gru.h5", "digits_cnn.keras", "digits_cnn.h5", "iris_mlp.keras",
             "iris_mlp.h5"]
)
def test_samples_matches_keras(name: str) -> None:
    errs = assert_matches_keras(SAMPLES / name, random_feeds(SAMPLES / name))
    assert len(errs) > 2
