"""Small Keras models for the lowering tests: built, saved as .keras and legacy .h5 into a
temporary directory, and checked against Keras with the oracle."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tests.lowering.oracle import assert_matches_keras, random_feeds

FORMATS = ("keras", "h5")


def branches(input_shape: Sequence[int], layers: Sequence[Any]) -> Any:
    """A functional model applying each layer (or callable) to one shared input."""
    import keras

    inp = keras.Input(shape=tuple(input_shape), name="x")
    outs = [layer(inp) for layer in layers]
    return keras.Model(inp, outs)


def randomize(model: Any, seed: int = 0) -> Any:
    """Random non-trivial weights (BatchNormalization's moving stats included), variances > 0."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        shape = tuple(w.shape)
        if "variance" in w.path or w.path.endswith("count"):
            w.assign(rng.uniform(0.5, 2.0, shape).astype(w.dtype))
        elif w.dtype.startswith("float"):
            w.assign((rng.standard_normal(shape) * 0.5).astype(w.dtype))
    return model


def check(tmp: Path, model: Any, name: str, fmt: str, feeds: dict[str, np.ndarray] | None = None,
          rtol: float = 1e-4) -> dict[str, float]:
    """Save `model` as `name.<fmt>` and compare every layer output with Keras."""
    path = tmp / f"{name}.{fmt}"
    model.save(path)
    return assert_matches_keras(path, feeds if feeds is not None else random_feeds(path), rtol=rtol)


def check_both(tmp: Path, build: Callable[[], Any], name: str, **kw: Any) -> None:
    model = build()
    for fmt in FORMATS:
        check(tmp, model, name, fmt, **kw)
