"""Train and write the sample models, their inputs and manifest.json (run: python samples/make_samples.py).

Every fact in the manifest (node and parameter counts, input/output names, shapes and dtypes,
accuracy) is computed here from Keras and onnx themselves, never typed by hand: the corpus
test (tests/test_samples.py) compares our loaders against these facts.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

OUT = Path(__file__).resolve().parent
SEED = 0
OPSET = 15


def _seed(seed: int = SEED) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.random.set_seed(seed)
    np.random.seed(seed)


# ---------------------------------------------------------------- datasets


def iris_data() -> dict[str, Any]:
    """Iris classes 0 (setosa) and 1 (versicolor), standardized."""
    from sklearn.datasets import load_iris

    ds = load_iris()
    keep = ds.target < 2
    raw = ds.data[keep].astype(np.float32)
    y = ds.target[keep].astype(np.float32).reshape(-1, 1)
    mean = raw.mean(axis=0)
    std = raw.std(axis=0)
    x = ((raw - mean) / std).astype(np.float32)
    return {
        "x": x,
        "y": y,
        "raw": raw,
        "mean": mean,
        "std": std,
        "feature_names": [n.replace(" (cm)", "").replace(" ", "_") for n in ds.feature_names],
        "labels": ["setosa", "versicolor"],
    }


def digits_data() -> dict[str, Any]:
    """sklearn's 8x8 digits, pixels scaled from 0..16 to 0..1, NHWC with one channel."""
    from sklearn.datasets import load_digits

    ds = load_digits()
    x = (ds.images / 16.0).astype(np.float32)[..., None]
    return {"x": x, "y": ds.target.astype(np.int64), "labels": [str(i) for i in range(10)]}


def trend_data(n: int = 600, steps: int = 20, seed: int = SEED) -> dict[str, Any]:
    """Noisy sine waves on a linear trend; label 1 when the trend rises."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, steps, dtype=np.float64)
    slope = rng.uniform(0.5, 2.0, n) * rng.choice([-1.0, 1.0], n)
    freq = rng.uniform(2.0, 6.0, n)
    phase = rng.uniform(0.0, 2 * np.pi, n)
    amp = rng.uniform(0.1, 0.4, n)
    x = (
        slope[:, None] * t[None, :]
        + amp[:, None] * np.sin(2 * np.pi * freq[:, None] * t[None, :] + phase[:, None])
        + rng.normal(0.0, 0.1, (n, steps))
    )
    x = (x - x[:, :1]).astype(np.float32)[..., None]  # start every sequence at 0
    y = (slope > 0).astype(np.float32).reshape(-1, 1)
    return {"x": x, "y": y, "labels": ["falling", "rising"]}


# ---------------------------------------------------------------- models


def build_iris():
    """Input(4) -> Dense(8, relu) -> Dense(4, relu) -> Dense(1, sigmoid)."""
    import keras
    from keras import layers

    inp = keras.Input(shape=(4,), name="features")
    h = layers.Dense(8, activation="relu", name="hidden1")(inp)
    h = layers.Dense(4, activation="relu", name="hidden2")(h)
    out = layers.Dense(1, activation="sigmoid", name="output")(h)
    return keras.Model(inp, out, name="iris_mlp")


def build_digits():
    """A small CNN on 8x8x1 digits."""
    import keras
    from keras import layers

    inp = keras.Input(shape=(8, 8, 1), name="image")
    h = layers.Conv2D(8, 3, activation="relu", name="conv1")(inp)
    h = layers.MaxPooling2D(name="pool1")(h)
    h = layers.Conv2D(16, 3, activation="relu", name="conv2")(h)
    h = layers.Flatten(name="flatten")(h)
    h = layers.Dense(32, activation="relu", name="dense1")(h)
    h = layers.Dropout(0.25, name="dropout")(h)
    out = layers.Dense(10, activation="softmax", name="probabilities")(h)
    return keras.Model(inp, out, name="digits_cnn")


def build_trend(steps: int):
    """Float sequence -> GRU(8) -> Dense(1, sigmoid)."""
    import keras
    from keras import layers

    inp = keras.Input(shape=(steps, 1), name="sequence")
    h = layers.GRU(8, name="gru")(inp)
    out = layers.Dense(1, activation="sigmoid", name="rising")(h)
    return keras.Model(inp, out, name="trend_gru")


# ---------------------------------------------------------------- facts


def _dim(d: Any) -> int | None:
    return int(d) if isinstance(d, int) and d > 0 else None


def keras_io(model) -> tuple[list[dict], list[dict]]:
    """Inputs named after their InputLayer, outputs after the layer that makes them."""
    ins = []
    for t in model.inputs:
        layer = t._keras_history[0]
        ins.append({"name": layer.name, "shape": [_dim(d) for d in t.shape], "dtype": t.dtype})
    outs = []
    for t in model.outputs:
        layer = t._keras_history[0]
        outs.append({"name": layer.name, "shape": [_dim(d) for d in t.shape], "dtype": t.dtype})
    return ins, outs


def keras_node_count(model) -> int:
    """Layer calls, InputLayer excluded."""
    import keras

    return sum(
        len(layer._inbound_nodes)
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    )


def onnx_facts(path: Path) -> dict[str, Any]:
    """Node count, initializer elements and typed inputs/outputs, as onnx reports them."""
    import onnx
    from onnx import helper

    m = onnx.load(str(path))
    g = m.graph
    init_names = {i.name for i in g.initializer}

    def io(values) -> list[dict]:
        out = []
        for v in values:
            if v.name in init_names:
                continue
            tt = v.type.tensor_type
            shape = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
            dtype = str(helper.tensor_dtype_to_np_dtype(tt.elem_type))
            out.append({"name": v.name, "shape": shape, "dtype": dtype})
        return out

    params = sum(int(np.prod(i.dims)) if i.dims else 1 for i in g.initializer)
    return {
        "nodes": len(g.node),
        "parameters": params,
        "inputs": io(g.input),
        "outputs": io(g.output),
        "opset": {o.domain or "ai.onnx": o.version for o in m.opset_import},
    }


def accuracy(pred: np.ndarray, y: np.ndarray, task: str) -> float:
    """Fraction correct: threshold 0.5 for binary, argmax for multiclass."""
    if task == "binary":
        return float(np.mean((pred.reshape(-1) > 0.5) == (y.reshape(-1) > 0.5)))
    return float(np.mean(np.argmax(pred, axis=-1) == y.reshape(-1)))


# ---------------------------------------------------------------- writing


def to_onnx(model, path: Path, labels: list[str]) -> None:
    """Convert with tf2onnx, name the batch dim "batch" and store the labels as metadata."""
    import onnx
    import tensorflow as tf
    import tf2onnx

    sig = [tf.TensorSpec(t.shape, t.dtype, name=t._keras_history[0].name) for t in model.inputs]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=sig, opset=OPSET)
    for v in list(proto.graph.input) + list(proto.graph.output):
        dims = v.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].dim_param = "batch"
    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key = "labels"
    entry.value = json.dumps(labels)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


def onnx_predict(path: Path, x: np.ndarray) -> np.ndarray:
    """Run the ONNX file on `x` with onnxruntime."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def write_model(
    name: str, model, data: dict[str, Any], task: str, extra: dict[str, Any]
) -> list[dict[str, Any]]:
    """Write <name>.keras/.h5/.onnx and <name>_input.npy; return their manifest entries."""
    import keras

    x, y, labels = data["x"], data["y"], data["labels"]
    sample = x[:1].astype(np.float32)
    # One real example from the dataset: iris row 0 is setosa, digits image 0 is a "0".
    np.save(OUT / f"{name}_input.npy", sample)
    input_file = f"{name}_input.npy"

    entries = []
    keras_ref = model.predict(sample, verbose=0)
    for ext in (".keras", ".h5"):
        path = OUT / f"{name}{ext}"
        keras.saving.save_model(model, str(path))
        back = keras.saving.load_model(str(path), compile=False, safe_mode=True)
        diff = float(np.max(np.abs(back.predict(sample, verbose=0) - keras_ref)))
        assert diff == 0.0, f"{path.name} does not reproduce the trained model ({diff})"
        ins, outs = keras_io(back)
        entries.append(
            {
                "file": path.name,
                "format": "keras",
                "nodes": keras_node_count(back),
                "parameters": int(back.count_params()),
                "inputs": ins,
                "outputs": outs,
                "input_file": input_file,
                "labels": labels,
                "task": task,
                "accuracy": accuracy(back.predict(x, verbose=0), y, task),
                **extra,
            }
        )

    onnx_path = OUT / f"{name}.onnx"
    to_onnx(model, onnx_path, labels)
    onnx_out = onnx_predict(onnx_path, sample)
    diff = float(np.max(np.abs(onnx_out - keras_ref)))
    print(f"{name}: ONNX vs Keras max abs diff on the sample input: {diff:.3g}")
    assert diff < 1e-5, f"{onnx_path.name} disagrees with Keras ({diff})"
    facts = onnx_facts(onnx_path)
    entries.append(
        {
            "file": onnx_path.name,
            "format": "onnx",
            "nodes": facts["nodes"],
            "parameters": facts["parameters"],
            "inputs": facts["inputs"],
            "outputs": facts["outputs"],
            "opset": facts["opset"],
            "input_file": input_file,
            "labels": labels,
            "task": task,
            "accuracy": accuracy(onnx_predict(onnx_path, x), y, task),
            "keras_reference": f"{name}.keras",
            "max_abs_diff_vs_keras": diff,
            **extra,
        }
    )
    for e in entries:
        print(f"  {e['file']}: {e['nodes']} nodes, {e['parameters']} parameters, "
              f"accuracy {e['accuracy']:.4f}")
    return entries


def train(model, data: dict[str, Any], loss: str, epochs: int, batch: int, lr: float) -> None:
    """Adam on the whole dataset (the samples demonstrate a trained model, not generalization)."""
    import keras

    model.compile(optimizer=keras.optimizers.Adam(lr), loss=loss, metrics=["accuracy"])
    model.fit(data["x"], data["y"], epochs=epochs, batch_size=batch, shuffle=True, verbose=0)


def _configure_tensorflow() -> None:
    """Deterministic CPU kernels; must run before TensorFlow is imported. Set here rather
    than at import so the tests can import the dataset functions without side effects."""
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # oneDNN reorders float sums
    os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def main() -> int:
    """Build every sample and write manifest.json."""
    _configure_tensorflow()
    import keras
    import onnx
    import tensorflow as tf
    import tf2onnx
    from PIL import Image

    entries: list[dict[str, Any]] = []

    _seed()
    iris = iris_data()
    model = build_iris()
    train(model, iris, "binary_crossentropy", epochs=60, batch=16, lr=0.02)
    pre = {
        "preprocessing": {
            "feature_names": iris["feature_names"],
            "mean": [float(v) for v in iris["mean"]],
            "std": [float(v) for v in iris["std"]],
            "note": "model input = (raw features - mean) / std",
        },
        "dataset": "sklearn.datasets.load_iris, classes 0 and 1",
    }
    entries += write_model("iris_mlp", model, iris, "binary", pre)
    with open(OUT / "iris_sample.csv", "w", encoding="utf-8") as f:
        f.write(",".join(iris["feature_names"]) + "\n")
        f.write(",".join(f"{v:g}" for v in iris["raw"][0]) + "\n")

    _seed()
    digits = digits_data()
    model = build_digits()
    train(model, digits, "sparse_categorical_crossentropy", epochs=15, batch=32, lr=0.005)
    extra = {
        "preprocessing": {"note": "8x8 grayscale, pixel / 16 (0..1), shape (1, 8, 8, 1)"},
        "dataset": "sklearn.datasets.load_digits",
    }
    entries += write_model("digits_cnn", model, digits, "multiclass", extra)
    img = (digits["x"][0, :, :, 0] * 255.0).round().astype(np.uint8)
    Image.fromarray(img, mode="L").resize((64, 64), Image.NEAREST).save(OUT / "digits_sample.png")

    _seed()
    trend = trend_data()
    model = build_trend(trend["x"].shape[1])
    train(model, trend, "binary_crossentropy", epochs=25, batch=32, lr=0.01)
    extra = {
        "preprocessing": {"note": "20 steps of one float, shifted so step 0 is 0"},
        "dataset": "synthetic: noisy sine on a rising or falling linear trend (seed 0)",
    }
    entries += write_model("trend_gru", model, trend, "binary", extra)

    for label_file, labels in (
        ("iris.txt", iris["labels"]),
        ("digits.txt", digits["labels"]),
        ("trend.txt", trend["labels"]),
    ):
        (OUT / "labels").mkdir(exist_ok=True)
        (OUT / "labels" / label_file).write_text("\n".join(labels) + "\n", encoding="utf-8")

    manifest = {
        "generator": "samples/make_samples.py",
        "seed": SEED,
        "versions": {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "tf2onnx": tf2onnx.__version__,
            "onnx": onnx.__version__,
            "python": sys.version.split()[0],
        },
        "files": entries,
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"samples/ is {total / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
