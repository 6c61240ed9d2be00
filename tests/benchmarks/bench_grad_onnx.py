"""Gradients of MobileNetV2 (224x224, random weights) through the ONNX engine and through
TensorFlow: prints seconds per call and the agreement of the two. Run on its own:
`python tests/benchmarks/bench_grad_onnx.py [workdir]` (needs the convert extra)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def main() -> None:
    import keras
    import tensorflow as tf
    import tf2onnx

    from inspector.autodiff import compute_gradients
    from inspector.loaders.registry import load_model

    work = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/bench_grad")
    work.mkdir(parents=True, exist_ok=True)
    kpath, opath = work / "mnv2.keras", work / "mnv2.onnx"
    if not opath.exists():
        keras.utils.set_random_seed(0)
        m = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
        m.save(kpath)
        spec = (tf.TensorSpec((None, 224, 224, 3), tf.float32, name="input_layer"),)
        tf2onnx.convert.from_keras(m, input_signature=spec, opset=15, output_path=str(opath))
    x = np.random.default_rng(0).uniform(-1, 1, (1, 224, 224, 3)).astype("float32")
    om = load_model(opath)
    for _ in range(2):
        t = time.perf_counter()
        ores = compute_gradients(om, {om.graph.inputs[0]: x}, target=3)
        print(f"onnx engine: {time.perf_counter() - t:.2f} s, {len(ores.values)} gradients, "
              f"uncovered {ores.uncovered}")
    km = load_model(kpath)
    for _ in range(2):
        t = time.perf_counter()
        kres = compute_gradients(km, {km.graph.inputs[0]: x}, target=3)
        print(f"keras tape: {time.perf_counter() - t:.2f} s, {len(kres.values)} gradients")
    g_o, g_k = ores.values[om.graph.inputs[0]], kres.values[km.graph.inputs[0]]
    rel = np.abs(g_o - g_k).max() / np.abs(g_k).max()
    print(f"loss onnx {ores.loss:.6f} keras {kres.loss:.6f}; input-gradient max rel diff {rel:.2e}")


if __name__ == "__main__":
    main()
