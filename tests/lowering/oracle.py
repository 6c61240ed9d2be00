"""Keras itself as the oracle: every layer's output from Keras (training=False) against the
lowering's, key for key. Needs the `convert` extra (TensorFlow + Keras), which CI installs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from inspector.loaders import load_model
from inspector.lowering import lower_keras

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def keras_outputs(path: Path, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Keras's own per-layer outputs, keyed as `run -o` keys them (via the probe model)."""
    from inspector.runtime.keras_convert import load_keras

    return model_outputs(load_keras(Path(path)), feeds)


def model_outputs(model: Any, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-layer outputs of a Keras model in memory (the one a test built, before saving)."""
    from inspector.runtime.keras_convert import build_probe

    probe, keys, input_names, _ = build_probe(model)
    args = [feeds[n] for n in input_names]
    outs = _call(probe, args)
    outs = outs if isinstance(outs, list | tuple) else [outs]
    result = {n: np.asarray(feeds[n]) for n in input_names}
    result.update({k: np.asarray(v) for k, v in zip(keys, outs, strict=True)})
    return result


def _call(probe, args):
    """Keras's eager call; where TensorFlow's plain CPU kernels refuse an op (NCHW Conv2D or a
    dilated Conv2DTranspose once oneDNN is off, as the GradientTape tests set it), the same call
    compiled by XLA, which is how Keras itself runs those ops on a CPU."""
    import tensorflow as tf

    try:
        return probe(args, training=False)
    except (tf.errors.UnimplementedError, tf.errors.InvalidArgumentError):
        return tf.function(lambda a: probe(a, training=False), jit_compile=True)(args)


def lowered_outputs(path: Path, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The lowering's per-layer outputs, run by onnxruntime."""
    low = lower_keras(load_model(path))
    assert low.ok, [u.message() for u in low.unlowered]
    sess = ort.InferenceSession(low.proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    ins = {i.name: feeds[i.name] for i in sess.get_inputs()}
    result = {n: np.asarray(feeds[n]) for n in ins}
    result.update(dict(zip(names, sess.run(names, ins), strict=True)))
    return result


def rel_err(got: np.ndarray, want: np.ndarray) -> float:
    """max |got - want| relative to want's largest magnitude."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return float(np.max(np.abs(got - want), initial=0.0) / max(np.max(np.abs(want), initial=0.0), 1e-6))


def assert_matches_keras(
    path: Path, feeds: dict[str, np.ndarray], rtol: float = 1e-4
) -> dict[str, float]:
    """Every key Keras computes is lowered, with the same shape and within `rtol`."""
    return assert_close(keras_outputs(path, feeds), lowered_outputs(path, feeds), rtol)


def assert_close(
    want: dict[str, np.ndarray], got: dict[str, np.ndarray], rtol: float = 1e-4
) -> dict[str, float]:
    """Every key in `want` is in `got`, with the same shape and within `rtol`; the errors."""
    missing = sorted(set(want) - set(got))
    assert not missing, f"keys Keras has and the lowering lacks: {missing[:10]}"
    errs = {}
    bad = []
    for k, w in want.items():
        g = got[k]
        assert g.shape == w.shape, f"{k}: shape {g.shape} != Keras {w.shape}"
        errs[k] = rel_err(g, w)
        if errs[k] > rtol:
            bad.append(f"{k}: {errs[k]:.2e}")
    assert not bad, "outputs that differ from Keras: " + ", ".join(bad[:10])
    return errs


def random_feeds(path: Path, seed: int = 0, batch: int = 2) -> dict[str, np.ndarray]:
    """Random inputs for every model input (int inputs below 10, or their Embedding's rows)."""
    model = load_model(path)
    rng = np.random.default_rng(seed)
    feeds = {}
    for name in model.graph.inputs:
        v = model.graph.value(name)
        shape = [batch if i == 0 else (d if isinstance(d, int) else 3) for i, d in enumerate(v.shape or (None, 4))]
        if v.dtype and ("int" in v.dtype):
            feeds[name] = rng.integers(0, 10, size=shape).astype(v.dtype)
        else:
            feeds[name] = rng.standard_normal(shape).astype(np.float32)
    return feeds
