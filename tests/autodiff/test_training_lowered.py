"""Training steps by the ONNX engine on a Keras file's lowering, with Keras as the oracle.

Needs the convert extra (Keras writes the files and is the oracle); the TensorFlow-free
run is checked in a subprocess that cannot import TensorFlow at all.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inspector.autodiff import save_trained_copy, train_steps

pytestmark = pytest.mark.convert

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def iris():
    from sklearn.datasets import load_iris

    data = load_iris()
    return ((data.data - data.data.mean(0)) / data.data.std(0)).astype("float32"), data.target


def _mlp(path):
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((4,), name="features"),
                              keras.layers.Dense(6, activation="tanh", name="hidden"),
                              keras.layers.Dense(3, name="logits")])
    model.save(path)
    return path


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.3), ("adam", 0.02)])
def test_steps_equal_gradienttape_steps(iris, tmp_path, suffix, optimizer, lr):
    """Same losses and weights, step for step, as Keras's optimizer on GradientTape."""
    path = _mlp(tmp_path / f"mlp{suffix}")
    x, y = iris
    ours = train_steps(path, x, y, steps=8, lr=lr, optimizer=optimizer)
    tape = train_steps(path, x, y, steps=8, lr=lr, optimizer=optimizer, engine="gradienttape")
    assert ours.engine == "lowering" and tape.engine == "gradienttape"
    np.testing.assert_allclose(ours.losses, tape.losses, rtol=1e-5)
    assert set(ours.weights_after) == set(tape.weights_after)
    for key, w in tape.weights_after.items():
        np.testing.assert_allclose(ours.weights_after[key], w, rtol=1e-4, atol=1e-6)
        assert not np.allclose(ours.weights_before[key], w)  # every weight moved


def _cnn(path):
    """Conv + BatchNormalization + Dropout, and a frozen Dense: what inference-mode steps
    must keep (statistics, the frozen layer) and what they train."""
    keras.utils.set_random_seed(9)
    inp = keras.Input((8, 8, 1), name="image")
    h = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inp)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.ReLU(name="relu")(h)
    h = keras.layers.Flatten(name="flat")(h)
    h = keras.layers.Dropout(0.5, name="drop")(h)
    frozen = keras.layers.Dense(5, activation="relu", name="frozen")
    frozen.trainable = False
    h = frozen(h)
    out = keras.layers.Dense(2, activation="softmax", name="probs")(h)
    model = keras.Model(inp, out)
    model.save(path)
    return path, model


def _oracle_steps(model, x, y, steps, lr):
    """Keras's inference-mode SGD steps (training=False), written out with GradientTape."""
    opt = keras.optimizers.SGD(learning_rate=lr)
    scce = keras.losses.SparseCategoricalCrossentropy()
    losses = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            value = scce(y, model(x, training=False))
        grads = tape.gradient(value, model.trainable_weights)
        opt.apply_gradients(zip(grads, model.trainable_weights, strict=True))
        losses.append(float(value))
    return losses


def test_inference_mode_steps_keep_statistics_and_frozen_layers(tmp_path):
    path, model = _cnn(tmp_path / "cnn.keras")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 2, 16)
    res = train_steps(path, x, y, steps=5, lr=0.1)
    assert res.engine == "lowering"
    assert "BatchNormalization" in res.note and "Dropout" in res.note
    for key in ("bn/moving_mean", "bn/moving_variance", "frozen/kernel", "frozen/bias"):
        np.testing.assert_array_equal(res.weights_before[key], res.weights_after[key])
    oracle = keras.models.load_model(path, compile=False)
    expected = _oracle_steps(oracle, x, y, 5, 0.1)
    np.testing.assert_allclose(res.losses, expected, rtol=1e-4)
    for layer in ("conv", "bn", "probs"):
        for v in oracle.get_layer(layer).weights:
            np.testing.assert_allclose(res.weights_after[f"{layer}/{v.name}"], v.numpy(),
                                       rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_trained_copy_is_written_without_keras_and_keras_reads_it(iris, tmp_path, suffix):
    path = _mlp(tmp_path / f"mlp{suffix}")
    x, y = iris
    before = path.read_bytes()
    res = train_steps(path, x, y, steps=4, lr=0.3, record_activations=True)
    out = save_trained_copy(res, tmp_path / f"trained{suffix}")
    assert path.read_bytes() == before
    reloaded = keras.models.load_model(out, compile=False)
    for layer in reloaded.layers:
        for v in layer.weights:
            np.testing.assert_array_equal(v.numpy(), res.weights_after[f"{layer.name}/{v.name}"])
    # Keras's own prediction from the copy is the engine's activation after training.
    np.testing.assert_allclose(reloaded(x).numpy(), res.activations_after["logits"],
                               rtol=1e-5, atol=1e-6)
    other = ".h5" if suffix == ".keras" else ".keras"
    with pytest.raises(Exception, match="like the source"):
        save_trained_copy(res, tmp_path / f"trained{other}")


def test_integer_token_inputs_train_the_embedding(tmp_path):
    keras.utils.set_random_seed(3)
    inp = keras.Input((6,), dtype="int32", name="tokens")
    h = keras.layers.Embedding(20, 4, name="embed")(inp)
    h = keras.layers.GlobalAveragePooling1D(name="pool")(h)
    out = keras.layers.Dense(2, name="logits")(h)
    path = tmp_path / "text.keras"
    keras.Model(inp, out).save(path)
    rng = np.random.default_rng(1)
    x = rng.integers(0, 20, (10, 6)).astype("int32")
    y = rng.integers(0, 2, 10)
    ours = train_steps(path, x, y, steps=3, lr=0.5)
    tape = train_steps(path, x, y, steps=3, lr=0.5, engine="gradienttape")
    assert ours.engine == "lowering"
    np.testing.assert_allclose(ours.losses, tape.losses, rtol=1e-5)
    np.testing.assert_allclose(ours.weights_after["embed/embeddings"],
                               tape.weights_after["embed/embeddings"], rtol=1e-4, atol=1e-6)


_NO_TF = """
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in ('tensorflow', 'keras', 'tf_keras', 'tf2onnx'):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import numpy as np
from inspector.autodiff import save_trained_copy, train_steps
x = np.random.default_rng(0).normal(size=(12, 4)).astype('float32')
y = (x[:, 0] > 0).astype(int)
res = train_steps(sys.argv[1], x, y, steps=15, lr=0.5)
out = save_trained_copy(res, sys.argv[2])
print(res.engine, res.losses[0], res.losses[-1], out.stat().st_size)
"""


def test_training_and_saving_need_no_tensorflow(tmp_path):
    """The sample itself, in a process where TensorFlow and Keras cannot be imported."""
    sample = ROOT / "samples" / "iris_mlp.keras"
    out = tmp_path / "trained.keras"
    proc = subprocess.run([sys.executable, "-c", _NO_TF, str(sample), str(out)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    engine, first, last, size = proc.stdout.split()
    assert engine == "lowering" and float(last) < float(first) and int(size) > 0
    reloaded = keras.models.load_model(out, compile=False)
    assert reloaded.count_params() == keras.models.load_model(sample, compile=False).count_params()
