"""Training steps on a Keras copy in memory: the loss falls, the file is never changed."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

from inspector.autodiff import save_trained_copy, train_steps
from inspector.runtime.errors import InputError, RunError

pytestmark = pytest.mark.convert

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def iris():
    from sklearn.datasets import load_iris

    data = load_iris()
    x = ((data.data - data.data.mean(0)) / data.data.std(0)).astype("float32")
    return x, data.target


@pytest.fixture(scope="module")
def iris_model(tmp_path_factory):
    keras.utils.set_random_seed(11)
    model = keras.Sequential([keras.Input((4,), name="features"),
                              keras.layers.Dense(8, activation="relu", name="hidden"),
                              keras.layers.Dense(3, activation="softmax", name="species")])
    path = tmp_path_factory.mktemp("train") / "iris.keras"
    model.save(path)
    return path


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.5), ("adam", 0.05)])
def test_loss_decreases_and_source_is_unchanged(iris, iris_model, optimizer, lr, tmp_path):
    x, y = iris
    before = _digest(iris_model)
    res = train_steps(iris_model, x, y, steps=25, lr=lr, optimizer=optimizer,
                      record_activations=True)
    assert _digest(iris_model) == before
    assert len(res.losses) == 25
    assert res.losses[-1] < 0.7 * res.losses[0]
    # The first loss is the untrained model's cross entropy, computed independently.
    p = keras.models.load_model(iris_model, compile=False)(x).numpy()
    assert res.losses[0] == pytest.approx(-np.mean(np.log(p[np.arange(len(y)), y])), rel=1e-4)
    assert set(res.weights_before) == {"hidden/kernel", "hidden/bias", "species/kernel",
                                       "species/bias"}
    assert not np.allclose(res.weights_before["hidden/kernel"], res.weights_after["hidden/kernel"])
    assert res.activations_before["species"].shape == (150, 3)
    assert not np.allclose(res.activations_before["species"], res.activations_after["species"])
    # The saved copy holds exactly the trained weights.
    out = save_trained_copy(res, tmp_path / "trained.keras")
    reloaded = keras.models.load_model(out, compile=False)
    np.testing.assert_array_equal(reloaded.get_layer("hidden").kernel.numpy(),
                                  res.weights_after["hidden/kernel"])
    assert _digest(iris_model) == before


def test_binary_sample_and_mse(iris, tmp_path):
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="score")])
    path = tmp_path / "lin.h5"
    model.save(path)
    x, y = iris
    yb = (y == 0).astype(int)
    res = train_steps(path, x, yb, steps=20, lr=0.1)  # a logit unit: binary CE from logits
    assert res.losses[-1] < res.losses[0]
    res = train_steps(path, x, yb.astype("float32"), steps=20, lr=0.1, loss="mse")
    assert res.losses[-1] < 0.5 * res.losses[0]


def test_bad_arguments(iris, iris_model, tmp_path):
    x, y = iris
    with pytest.raises(InputError, match="out of range"):
        train_steps(iris_model, x, y + 5, steps=1)
    with pytest.raises(InputError, match="rows"):
        train_steps(iris_model, x, y[:10], steps=1)
    with pytest.raises(InputError, match="optimizer"):
        train_steps(iris_model, x, y, optimizer="rmsprop")
    with pytest.raises(InputError, match="steps"):
        train_steps(iris_model, x, y, steps=0)
    res = train_steps(iris_model, x, y, steps=1)
    with pytest.raises(RunError, match="original"):
        save_trained_copy(res, iris_model)
    with pytest.raises(RunError, match=".keras"):
        save_trained_copy(res, tmp_path / "x.onnx")
