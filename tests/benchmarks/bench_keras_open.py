"""Opening Keras files without TensorFlow, and converting them to a probe ONNX with it.

Run: python tests/benchmarks/bench_keras_open.py [--models mobilenetv2,resnet50,densenet121]
     [--convert mobilenetv2] [--repeats 3]
Files are keras.applications models (weights=None) saved once by Keras 3 as .keras and legacy
.h5 in /tmp/model-inspector-bench/keras. Each measurement runs in a fresh child process:
- open: `load_model` (our zip/h5py reader, no TensorFlow) time, median of `--repeats`
  children, plus the child's resident memory before and at peak, and with every weight read;
- convert: `convert_keras` into an empty cache (first: loads TensorFlow, builds the probe,
  runs tf2onnx), again in the same process (cached, hash memoised) and in a new process
  (cached: hash the file, read the entry). ResNet50 conversion peaks near 7 GB (NOTES.md),
  so only the models named in `--convert` are converted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KERAS_DIR = Path("/tmp/model-inspector-bench/keras")
MODELS = ("mobilenetv2", "resnet50", "densenet121")
CTORS = {"mobilenetv2": "MobileNetV2", "resnet50": "ResNet50", "densenet121": "DenseNet121"}


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def build(name: str) -> dict[str, Path]:
    """Save keras.applications.<name> (random weights) as .keras and .h5, once."""
    paths = {ext: KERAS_DIR / f"{name}.{ext}" for ext in ("keras", "h5")}
    if all(p.exists() for p in paths.values()):
        return paths
    KERAS_DIR.mkdir(parents=True, exist_ok=True)
    code = (
        "import os, sys; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'; import keras\n"
        f"m = keras.applications.{CTORS[name]}(weights=None, input_shape=(224, 224, 3))\n"
        f"m.save({str(paths['keras'])!r}); m.save({str(paths['h5'])!r})\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return paths


def child_open(path: str) -> None:
    """Open with our loader; print time and memory as JSON."""
    import numpy as np

    from inspector.loaders.registry import load_model

    before = _status_mb("VmRSS")
    t0 = time.perf_counter()
    model = load_model(path)
    opened = time.perf_counter() - t0
    rss_open, hwm_open = _status_mb("VmRSS"), _status_mb("VmHWM")
    t0 = time.perf_counter()
    total = 0
    for node in model.graph.nodes:
        for w in node.weights:
            total += int(np.asarray(w.tensor.numpy()).size)
    read_all = time.perf_counter() - t0
    print(json.dumps({
        "open_s": opened, "rss_before_mb": before, "rss_open_mb": rss_open,
        "hwm_open_mb": hwm_open, "read_weights_s": read_all, "hwm_weights_mb": _status_mb("VmHWM"),
        "nodes": len(model.graph.nodes), "weights_read": total,
        "parameters": sum(n.parameter_count for n in model.graph.nodes),
    }))


def child_convert(path: str, cache: str) -> None:
    """Convert into `cache` (first call) and again (cached); print times as JSON."""
    from inspector.runtime.keras_convert import convert_keras

    t0 = time.perf_counter()
    first = convert_keras(Path(path), cache_dir=Path(cache))
    t_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = convert_keras(Path(path), cache_dir=Path(cache))
    print(json.dumps({
        "first_s": t_first, "first_from_cache": first.from_cache, "again_s": time.perf_counter() - t0,
        "again_from_cache": again.from_cache, "outputs": len(first.outputs),
        "peak_rss_mb": _status_mb("VmHWM"), "onnx_mb": first.onnx_path.stat().st_size / 2**20,
    }))


def child_cached(path: str, cache: str) -> None:
    """A new process finding the conversion in the cache (TensorFlow still imported)."""
    from inspector.runtime.keras_convert import convert_keras

    t0 = time.perf_counter()
    hit = convert_keras(Path(path), cache_dir=Path(cache))
    print(json.dumps({"cached_s": time.perf_counter() - t0, "from_cache": hit.from_cache,
                      "peak_rss_mb": _status_mb("VmHWM")}))


def _child(*args: str) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True,
                         check=True, env=env).stdout.strip().splitlines()
    return json.loads(out[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--convert", default="mobilenetv2", help="models to convert ('' for none)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child", nargs="+")
    args = ap.parse_args()
    if args.child:
        {"open": child_open, "convert": child_convert, "cached": child_cached}[args.child[0]](
            *args.child[1:]
        )
        return
    print(f"load={os.getloadavg()[0]:.1f}")
    print(f"{'file':<18} {'MB':>6} {'nodes':>6} {'open s':>7} {'open max':>8} {'RSS base':>8} "
          f"{'RSS open':>8} {'peak open':>9} {'read all w s':>12} {'peak w/ weights':>15}")
    for name in args.models.split(","):
        for path in build(name).values():
            runs = [_child("open", str(path)) for _ in range(args.repeats)]
            r = runs[-1]
            times = [x["open_s"] for x in runs]
            print(f"{path.name:<18} {path.stat().st_size / 2**20:>6.0f} {r['nodes']:>6} "
                  f"{statistics.median(times):>7.2f} {max(times):>8.2f} {r['rss_before_mb']:>8.0f} "
                  f"{r['rss_open_mb']:>8.0f} {r['hwm_open_mb']:>9.0f} {r['read_weights_s']:>12.2f} "
                  f"{r['hwm_weights_mb']:>15.0f}", flush=True)
    converts = [m for m in args.convert.split(",") if m]
    if converts:
        print(f"\n{'file':<18} {'outputs':>7} {'first s':>8} {'again s':>8} {'new proc s':>10} "
              f"{'peak RSS MB':>11} {'onnx MB':>8}")
    for name in converts:
        for path in build(name).values():
            with tempfile.TemporaryDirectory(prefix="mi-cache-") as cache:
                c = _child("convert", str(path), cache)
                h = _child("cached", str(path), cache)
            assert not c["first_from_cache"] and c["again_from_cache"] and h["from_cache"]
            print(f"{path.name:<18} {c['outputs']:>7} {c['first_s']:>8.1f} {c['again_s']:>8.3f} "
                  f"{h['cached_s']:>10.2f} {c['peak_rss_mb']:>11.0f} {c['onnx_mb']:>8.1f}",
                  flush=True)


if __name__ == "__main__":
    main()
