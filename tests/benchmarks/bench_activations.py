"""Every-node capture vs a plain onnxruntime run: time and resident memory.

Run: python tests/benchmarks/bench_activations.py [--runs N] [--models mobilenetv2,resnet50]
Models are keras.applications (weights=None) converted once with tf2onnx and cached in
/tmp/model-inspector-bench. Each configuration runs in its own process so peak RSS is its own.
Budget (DESIGN.md): capture at most 1.5x the plain run's time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path("/tmp/model-inspector-bench")
MODELS = {"mobilenetv2": (224, 224, 3), "resnet50": (224, 224, 3)}
# (config, the plain config its ratio is taken against)
CONFIGS = (
    ("plain", "plain"), ("plain-nospin", "plain-nospin"), ("probe", "plain-nospin"),
    ("probe-basic-opt", "plain-nospin"), ("probe-ortvalues", "plain-nospin"),
    ("plain-t1", "plain-t1"), ("probe-t1", "plain-t1"),
)


def build(name: str) -> Path:
    """Convert keras.applications.<name> (random weights) to ONNX once."""
    path = BENCH_DIR / f"{name}.onnx"
    if path.exists():
        return path
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf
    import tf2onnx

    ctor = {"mobilenetv2": keras.applications.MobileNetV2, "resnet50": keras.applications.ResNet50}
    model = ctor[name](weights=None, input_shape=MODELS[name])
    wrapped = keras.Model(model.inputs, model.outputs)  # tf2onnx needs a Functional (NOTES.md)
    spec = [tf.TensorSpec((1, *MODELS[name]), tf.float32, name="image")]
    tf2onnx.convert.from_keras(wrapped, input_signature=spec, opset=17, output_path=str(path))
    return path


def _peak_rss_kb() -> int:
    """VmHWM: unlike ru_maxrss it is not inherited across exec from the parent (which may
    have held TensorFlow while converting)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(path: str, config: str, runs: int) -> None:
    """Time `runs` runs of one configuration; print one JSON line."""
    import numpy as np
    import onnxruntime as ort

    x = np.random.default_rng(0).random((1, 224, 224, 3), dtype=np.float32)
    t0 = time.perf_counter()
    if config.startswith("plain"):
        opts = ort.SessionOptions()
        if config != "plain":  # the probe's settings, without the probe
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if config.endswith("-t1"):
            opts.intra_op_num_threads = 1
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name

        def run() -> int:
            return len(sess.run(None, {name: x}))
    else:
        from inspector.runtime.onnx_probe import ProbeSession

        probe = ProbeSession(path, threads=1 if config.endswith("-t1") else None)
        if config == "probe-basic-opt":
            # Rebuild with basic optimisation only: fusions are blocked by the outputs anyway.
            opts = ort.SessionOptions()
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
            import onnx

            from inspector.runtime.onnx_probe import expose_all_values

            proto, _ = expose_all_values(onnx.load(path))
            probe._session = ort.InferenceSession(  # noqa: SLF001
                proto.SerializeToString(), opts, providers=["CPUExecutionProvider"]
            )
        name = probe.input_names[0]
        if config == "probe-ortvalues":
            # Outputs stay in onnxruntime's buffers: no copy into numpy arrays.
            sess = probe._session  # noqa: SLF001
            fetch = probe._fetch  # noqa: SLF001
            xv = ort.OrtValue.ortvalue_from_numpy(x)

            def run() -> int:
                return len(sess.run_with_ort_values(fetch, {name: xv}))
        else:

            def run() -> int:
                return len(probe.run({name: x}))
    setup = time.perf_counter() - t0
    n_out = run()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    rss = _peak_rss_kb()
    print(json.dumps({
        "config": config, "setup_s": setup, "median_ms": 1000 * statistics.median(times),
        "min_ms": 1000 * min(times), "outputs": n_out, "peak_rss_mb": rss / 1024,
    }))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--child", nargs=2, metavar=("PATH", "CONFIG"))
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.runs)
        return
    print(f"{'model':<12} {'config':<16} {'outputs':>7} {'setup s':>8} {'median ms':>10} "
          f"{'min ms':>8} {'ratio':>6} {'peak RSS MB':>12}")
    for name in args.models.split(","):
        path = build(name)
        base: dict[str, float] = {}
        for config, ref in CONFIGS:
            out = subprocess.run(
                [sys.executable, __file__, "--runs", str(args.runs), "--child", str(path), config],
                capture_output=True, text=True, check=True,
            ).stdout.strip().splitlines()[-1]
            r = json.loads(out)
            base[config] = r["median_ms"]
            print(f"{name:<12} {config:<16} {r['outputs']:>7} {r['setup_s']:>8.2f} "
                  f"{r['median_ms']:>10.1f} {r['min_ms']:>8.1f} {r['median_ms'] / base[ref]:>6.2f} "
                  f"{r['peak_rss_mb']:>12.0f}", flush=True)


if __name__ == "__main__":
    main()
