"""Every-node capture vs a plain onnxruntime run: time and resident memory.

Run: python tests/benchmarks/bench_activations.py [--runs N] [--models mobilenetv2,resnet50]
     [--threads 1] [--rss]
Models are keras.applications (weights=None) converted once with tf2onnx and cached in
/tmp/model-inspector-bench. All configurations live in one process and are run round-robin,
one run each per round, so machine load (shared cores) hits them alike; the table gives
medians and the ratio to the plain run. `--rss` then runs each configuration alone in a child
process for its own peak resident memory.
Budget (DESIGN.md): capture at most 1.5x the plain run's time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

BENCH_DIR = Path("/tmp/model-inspector-bench")
MODELS = {"mobilenetv2": (224, 224, 3), "resnet50": (224, 224, 3), "densenet121": (224, 224, 3)}
CONFIGS = (
    "plain", "probe", "probe-lazy", "probe-lazy+read-all", "probe-lazy-iobind",
    "probe-noarena", "probe-extended", "probe-parallel-mode",
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

    ctor = {
        "mobilenetv2": keras.applications.MobileNetV2, "resnet50": keras.applications.ResNet50,
        "densenet121": keras.applications.DenseNet121,
    }
    model = ctor[name](weights=None, input_shape=MODELS[name])
    wrapped = keras.Model(model.inputs, model.outputs)  # tf2onnx needs a Functional (NOTES.md)
    spec = [tf.TensorSpec((1, *MODELS[name]), tf.float32, name="image")]
    tf2onnx.convert.from_keras(wrapped, input_signature=spec, opset=17, output_path=str(path))
    return path


def _peak_rss_mb() -> float:
    """VmHWM of this process (not inherited from a parent that held TensorFlow)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_runner(path: str, config: str, threads: int) -> tuple[Callable[[], int], str]:
    """A zero-argument run for one configuration and a note on how it was built."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    from inspector.runtime.onnx_probe import ProbeSession, expose_all_values

    x = np.random.default_rng(0).random((1, 224, 224, 3), dtype=np.float32)

    def opts() -> ort.SessionOptions:
        o = ort.SessionOptions()
        o.intra_op_num_threads = threads
        o.inter_op_num_threads = 1
        o.log_severity_level = 3
        o.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return o

    if config == "plain":
        sess = ort.InferenceSession(path, opts(), providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        return (lambda: len(sess.run(None, {name: x}))), ""
    if config.startswith("probe-lazy"):
        probe = ProbeSession(path, threads=threads, lazy=True)
        name = probe.input_names[0]
        if config == "probe-lazy+read-all":  # every value turned into NCHW numpy arrays
            return (lambda: len(probe.run({name: x}).materialize())), probe.layout
        if config == "probe-lazy-iobind":  # outputs written into buffers kept between runs
            sess = probe._session  # noqa: SLF001
            first = sess.run(None, {name: x})
            bufs = [np.empty_like(a) for a in first]
            io = sess.io_binding()
            io.bind_cpu_input(name, x)
            for out, buf in zip(sess.get_outputs(), bufs, strict=True):
                io.bind_output(out.name, "cpu", 0, buf.dtype, list(buf.shape), buf.ctypes.data)
            return (lambda: sess.run_with_iobinding(io) or len(bufs)), probe.layout
        return (lambda: len(probe.run({name: x}))), probe.layout
    if config == "probe":
        probe = ProbeSession(path, threads=threads)
        name = probe.input_names[0]
        return (lambda: len(probe.run({name: x}))), probe.layout
    # Variants of the default probe built by hand: every value a graph output, NCHW.
    proto, _ = expose_all_values(onnx.load(path))
    o = opts()
    if config == "probe-noarena":
        o.enable_cpu_mem_arena = False
    elif config == "probe-extended":  # no NCHWc layout transformer
        o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    elif config == "probe-parallel-mode":
        o.execution_mode = ort.ExecutionMode.ORT_PARALLEL
        o.inter_op_num_threads = threads
    sess = ort.InferenceSession(proto.SerializeToString(), o, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return (lambda: len(sess.run(None, {name: x}))), ""


def interleaved(path: str, configs: list[str], runs: int, threads: int) -> dict[str, dict]:
    """Build every configuration, then time them round-robin."""
    runners, notes, times = {}, {}, {}
    for c in configs:
        t0 = time.perf_counter()
        runners[c], notes[c] = make_runner(path, c, threads)
        n_out = runners[c]()  # warm-up
        times[c] = []
        notes[c] = (notes[c], time.perf_counter() - t0, n_out)
    for _ in range(runs):
        for c in configs:
            t = time.perf_counter()
            runners[c]()
            times[c].append(time.perf_counter() - t)
    return {c: {"median_ms": 1000 * statistics.median(v), "max_ms": 1000 * max(v),
                "min_ms": 1000 * min(v), "layout": notes[c][0], "setup_s": notes[c][1],
                "outputs": notes[c][2]} for c, v in times.items()}


def child_rss(path: str, config: str, runs: int, threads: int) -> None:
    """One configuration alone: print its median and peak RSS as JSON."""
    r = interleaved(path, [config], runs, threads)[config]
    r["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(r))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--models", default="mobilenetv2,resnet50")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--rss", action="store_true", help="also peak RSS, one child per config")
    ap.add_argument("--child", nargs=2, metavar=("PATH", "CONFIG"))
    args = ap.parse_args()
    if args.child:
        child_rss(args.child[0], args.child[1], args.runs, args.threads)
        return
    configs = args.configs.split(",")
    print(f"threads={args.threads} runs={args.runs} load={os.getloadavg()[0]:.1f}")
    print(f"{'model':<12} {'config':<24} {'layout':<8} {'outputs':>7} {'setup s':>8} "
          f"{'median ms':>10} {'min ms':>8} {'max ms':>8} {'ratio':>6}")
    for name in args.models.split(","):
        path = str(build(name))
        res = interleaved(path, configs, args.runs, args.threads)
        base = res["plain"]["median_ms"] if "plain" in res else float("nan")
        for c, r in res.items():
            print(f"{name:<12} {c:<24} {r['layout']:<8} {r['outputs']:>7} {r['setup_s']:>8.2f} "
                  f"{r['median_ms']:>10.1f} {r['min_ms']:>8.1f} {r['max_ms']:>8.1f} "
                  f"{r['median_ms'] / base:>6.2f}", flush=True)
        if args.rss:
            for c in configs:
                out = subprocess.run(
                    [sys.executable, __file__, "--runs", "5", "--threads", str(args.threads),
                     "--child", path, c], capture_output=True, text=True, check=True,
                ).stdout.strip().splitlines()[-1]
                print(f"{name:<12} {c:<24} peak RSS {json.loads(out)['peak_rss_mb']:>8.0f} MB",
                      flush=True)


if __name__ == "__main__":
    main()
