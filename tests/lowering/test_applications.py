"""keras.applications architectures (weights=None) against Keras, layer by layer.

Each architecture is built once at a small input size, given non-trivial normalization
statistics and biases, saved as `.keras` and legacy `.h5`, read back by our loaders, lowered,
and every layer (and functional op) output compared with the built model's own outputs.
Sizes are the smallest each builder accepts (InceptionV3 75 px, Xception 71 px, others 32 px);
MobileNetV2 runs at alpha 0.35. Every head keeps include_top with 10 classes, so the
classifier layers are checked too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.lowering.oracle import assert_close, lowered_outputs, model_outputs

keras = pytest.importorskip("keras", reason="the Keras oracle needs the 'convert' extra")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

A = keras.applications
SMALL = (32, 32, 3)
APPS: dict[str, Callable[[], Any]] = {
    "MobileNetV2": lambda: A.MobileNetV2(input_shape=SMALL, alpha=0.35, weights=None, classes=10),
    "EfficientNetB0": lambda: A.EfficientNetB0(input_shape=SMALL, weights=None, classes=10),
    "NASNetMobile": lambda: A.NASNetMobile(input_shape=SMALL, weights=None, classes=10),
    "DenseNet121": lambda: A.DenseNet121(input_shape=SMALL, weights=None, classes=10),
    "ResNet50": lambda: A.ResNet50(input_shape=SMALL, weights=None, classes=10),
    "InceptionV3": lambda: A.InceptionV3(input_shape=(75, 75, 3), weights=None, classes=10),
    "Xception": lambda: A.Xception(input_shape=(71, 71, 3), weights=None, classes=10),
    "ConvNeXtTiny": lambda: A.ConvNeXtTiny(input_shape=SMALL, weights=None, classes=10),
    "VGG16": lambda: A.VGG16(input_shape=SMALL, weights=None, classes=10),
}
CASES = [(app, ext) for app in APPS for ext in ("keras", "h5")]


def _perturb(model: Any, seed: int = 0) -> None:
    """Non-trivial moving statistics, scales and biases (the initializers leave them 0 or 1,
    which would hide a swapped mean and variance or a dropped bias). ConvNeXt's LayerScale
    starts at 1e-6, which would hide its residual branches: it gets O(1) scales too."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        layer_scale = type(layer).__name__ == "LayerScale"
        for w in layer.weights:
            n, shape = w.path.rsplit("/", 1)[-1], tuple(w.shape)
            if n == "moving_mean":
                v = rng.normal(0.0, 0.1, shape)
            elif n == "moving_variance":
                v = rng.uniform(0.5, 2.0, shape)
            elif n == "gamma" or layer_scale:
                v = rng.uniform(0.5, 1.5, shape)
            elif n in ("beta", "bias"):
                v = rng.normal(0.0, 0.1, shape)
            else:
                continue
            w.assign(v.astype("float32"))


class Built:
    """One architecture: its files, its input and Keras's per-layer outputs."""

    def __init__(self, d: Path, app: str) -> None:
        model = APPS[app]()
        _perturb(model)
        self.paths = {ext: d / f"{app}.{ext}" for ext in ("keras", "h5")}
        for p in self.paths.values():
            model.save(p)
        x = np.random.default_rng(1).standard_normal((2, *model.input_shape[1:])).astype(np.float32)
        self.feeds = {model.layers[0].name: x}
        self.want = model_outputs(model, self.feeds)
        self.layers = {layer.name for layer in model.layers}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Built]]:
    """Builds each architecture once for both formats; only the latest stays in memory."""
    d = tmp_path_factory.mktemp("applications")
    latest: dict[str, Built] = {}

    def get(app: str) -> Built:
        if app not in latest:
            latest.clear()
            latest[app] = Built(d, app)
        return latest[app]

    yield get
    latest.clear()


@pytest.mark.parametrize(("app", "ext"), CASES, ids=[f"{a}.{e}" for a, e in CASES])
def test_application_matches_keras(built: Callable[[str], Built], app: str, ext: str) -> None:
    b = built(app)
    errs = assert_close(b.want, lowered_outputs(b.paths[ext], b.feeds), rtol=1e-4)
    assert b.layers <= set(errs) | set(b.feeds), sorted(b.layers - set(errs))[:5]
