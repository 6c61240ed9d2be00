"""Keras files run through our own lowering to ONNX (no TensorFlow), cached on disk.

The lowered file is cached like a tf2onnx conversion, keyed by the source file's hash and a
digest of the lowering's own code, so a fixed rule never reuses a stale file. A model with a
layer the lowering does not cover gets `KerasLowering.unlowered` instead; the caller decides
between the tf2onnx fallback and a message naming the layer.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from functools import cache as memoise
from pathlib import Path

from inspector import __version__
from inspector.ir import Model, category_of
from inspector.lowering import LOWERING_VERSION, Unlowered, lower_keras
from inspector.progress import NO_TASK, Task
from inspector.runtime import cache
from inspector.runtime.errors import RunError

# Layer classes that hold Python code: never run, whatever engine is available.
CODE_LAYERS = frozenset({"Lambda", "TFOpLambda", "SlicingOpLambda"})


@dataclass(frozen=True)
class KerasLowering:
    """A lowered Keras file on disk (`onnx_path`), or the layers that stopped the lowering.

    The fields mirror KerasConversion so the runtime treats both alike: `outputs` ONNX output
    name -> key, `inputs` Keras input name -> ONNX input name, `final` the model's own outputs.
    """

    onnx_path: Path | None
    outputs: dict[str, str]
    inputs: dict[str, str]
    final: tuple[str, ...]
    weights: dict[str, tuple[str, str]]
    unlowered: tuple[Unlowered, ...] = ()
    from_cache: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.onnx_path is not None

    def blocker(self) -> Unlowered:
        """The first layer that stopped the lowering (a code layer first, if any)."""
        code = [u for u in self.unlowered if u.cls in CODE_LAYERS]
        return (code or list(self.unlowered))[0]


@memoise
def _code_digest() -> str:
    """A digest of the lowering's source (or the package version where sources are absent)."""
    import inspector.lowering as pkg

    h = hashlib.sha256(f"{LOWERING_VERSION} {__version__}".encode())
    for f in sorted(Path(pkg.__file__).parent.glob("*.py")):
        try:
            h.update(f.read_bytes())
        except OSError:
            continue
    return h.hexdigest()[:16]


def is_code_layer(cls: str) -> bool:
    return cls in CODE_LAYERS or category_of(cls, "keras") == "custom"


def lower_keras_file(model: Model, task: Task = NO_TASK, cache_dir: Path | None = None) -> KerasLowering:
    """The lowered ONNX of a Keras model (from the cache when the file was lowered before)."""
    start = time.perf_counter()
    path = Path(model.path)
    try:
        key = cache.cache_key(path, f"lowering={_code_digest()}")
    except OSError:
        raise RunError(f"{path}: no such file") from None
    hit = cache.read_entry(key, cache_dir)
    if hit is not None:
        onnx_path, meta = hit
        return KerasLowering(
            onnx_path, dict(meta["outputs"]), dict(meta["inputs"]), tuple(meta["final"]),
            {k: tuple(v) for k, v in meta["weights"].items()}, (), True,
            time.perf_counter() - start,
        )
    task.report(0.0, "lowering Keras layers to ONNX")
    low = lower_keras(model, task.part(0.0, 0.8))
    if not low.ok or low.proto is None:
        return KerasLowering(None, {}, {}, (), {}, low.unlowered, False, time.perf_counter() - start)
    task.report(0.85, "caching the lowered model")
    meta = {
        "source": str(path), "engine": "lowering", "outputs": low.outputs, "inputs": low.inputs,
        "final": list(low.final), "weights": {k: list(v) for k, v in low.weights.items()},
    }
    onnx_path = cache.write_entry(key, low.proto.SerializeToString(), meta, cache_dir)
    return KerasLowering(
        onnx_path, low.outputs, low.inputs, low.final, low.weights, (), False,
        time.perf_counter() - start,
    )
