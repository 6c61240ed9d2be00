"""The keras.src.ops.* functional operations Keras 3 writes into configs, against Keras."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from tests.lowering.oracle import assert_matches_keras, random_feeds

pytest.importorskip("keras", reason="the Keras oracle needs the 'convert' extra")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="module")
def ops_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import keras
    from keras import ops

    a = keras.Input((3, 4), name="a")
    b = keras.Input((3, 4), name="b")
    x = (a + b - b) * a / (ops.abs(b) + 1.0)
    y = ops.matmul(a, ops.transpose(b, (0, 2, 1)))
    z = ops.reshape(ops.concatenate([a, b], axis=-1), (-1, 4, 6))
    e = ops.squeeze(ops.expand_dims(a, 1), 1)
    g, g2, g3 = a[:, 1:, ::2], a[:, 0], a[..., None, 1]
    g4 = a[:, ::-1, -1]
    m = (ops.mean(a, axis=1, keepdims=True) + ops.sum(b, axis=-1, keepdims=True)
         + ops.max(a, axis=2, keepdims=True) + ops.min(a))
    u = ops.sqrt(ops.square(a) + 1.0) + ops.exp(-ops.abs(a)) + ops.log(ops.abs(b) + 1.0)
    u = ops.maximum(u, a) + ops.minimum(a, b) + ops.power(ops.abs(a), 2.0)
    n = ops.tanh(a) + ops.sigmoid(a) + ops.relu(a) + ops.softmax(a, axis=-1) + ops.gelu(a)
    n = n + ops.gelu(b, approximate=False) + ops.silu(a)
    c = ops.cast(ops.cast(a, "int32"), "float32") + ops.clip(a, -0.5, 0.5)
    w = ops.where(a > 0, a, b) + ops.erf(a) + ops.rsqrt(ops.abs(a) + 1.0)
    s = ops.stack([a, b], axis=1)
    sp = ops.split(a, 2, axis=-1)
    es = ops.einsum("bij,bkj->bik", a, b)
    outs = [x, y, z, e, g, g2, g3, g4, m, u, n, c, w, s, sp[0], sp[1], es]
    path = tmp_path_factory.mktemp("ops") / "ops.keras"
    keras.Model([a, b], outs).save(path)
    return path


def test_config_records_the_ops(ops_model: Path) -> None:
    cfg = json.loads(zipfile.ZipFile(ops_model).read("config.json"))
    classes = {layer["class_name"] for layer in cfg["config"]["layers"]}
    assert {"GetItem", "Matmul", "TrueDivide", "Absolute", "Einsum", "Split", "Where"} <= classes


def test_ops_match_keras(ops_model: Path) -> None:
    errs = assert_matches_keras(ops_model, random_feeds(ops_model))
    assert {"get_item", "get_item_3", "split/output_1", "einsum", "mean", "cast_1"} <= set(errs)
