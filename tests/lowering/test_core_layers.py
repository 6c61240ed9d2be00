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


def _activation_layers():
    import keras

    L = keras.layers
    return keras.Sequential([
        keras.Input((4, 6), name="x"), L.Dense(6, name="d"),
        L.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.2, name="relu"),
        L.LeakyReLU(negative_slope=0.3, name="leaky"), L.ELU(alpha=0.7, name="elu"),
        L.PReLU(name="prelu"), L.Softmax(axis=1, name="softmax"),
        L.Dropout(0.5, name="drop"), L.SpatialDropout1D(0.5, name="sdrop"),
        L.GaussianNoise(0.3, name="noise"), L.GaussianDropout(0.3, name="gdrop"),
        L.ActivityRegularization(0.1, name="areg"), L.Permute((2, 1), name="perm"),
        L.Reshape((3, 8), name="reshape"), L.Flatten(name="flat"),
        L.RepeatVector(2, name="repeat"),
    ])


def _merges():
    import keras

    L = keras.layers
    a, b = keras.Input((3, 4), name="a"), keras.Input((3, 4), name="b")
    outs = [
        L.Subtract(name="sub")([a, b]), L.Multiply(name="mul")([a, b]),
        L.Maximum(name="max")([a, b]), L.Minimum(name="min")([a, b]),
        L.Average(name="avg")([a, b]), L.Add(name="add")([a, b]),
        L.Concatenate(axis=1, name="cat")([a, b]), L.Dot(axes=(2, 2), name="dot")([a, b]),
        L.Dot(axes=1, normalize=True, name="dot_norm")([a, b]),
    ]
    return keras.Model([a, b], outs)


@pytest.mark.parametrize("build", [_activation_layers, _merges], ids=["activations", "merges"])
def test_core_families_match_keras(tmp_path: Path, build) -> None:
    from tests.lowering.keras_build import check, randomize

    model = randomize(build())
    for fmt in ("keras", "h5"):
        errs = check(tmp_path, model, build.__name__.strip("_"), fmt)
        assert {layer.name for layer in model.layers} <= set(errs)
