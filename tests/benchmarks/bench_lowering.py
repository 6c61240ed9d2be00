"""A whole `run` of a Keras file in a fresh process: our lowering against the tf2onnx path.

Run: python tests/benchmarks/bench_lowering.py [--files a.keras,b.h5] [--repeats 1]
Without `--files`: the three Keras samples (.keras and .h5) and a MobileNetV2 .keras
(keras.applications, weights=None, 224 px), saved once into /tmp/model-inspector-bench/keras.
Each measurement is one child `python -m inspector run FILE --input random -o OUT.npz` with an
empty cache, so the first-run cost is what is measured; its wall time and peak resident memory
(wait4's ru_maxrss) are reported. The tf2onnx child is the same command with the lowering
made to decline the model (as an unlowered layer would), so the fallback runs it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KERAS_DIR = Path("/tmp/model-inspector-bench/keras")
SAMPLES = [ROOT / "samples" / f"{n}.{e}" for n in ("iris_mlp", "digits_cnn", "trend_gru")
           for e in ("keras", "h5")]

FORCE_TF2ONNX = (
    "import sys, inspector.runtime.activations as a\n"
    "from inspector.runtime.keras_lowered import KerasLowering\n"
    "from inspector.lowering import Unlowered\n"
    "a.lower_keras_file = lambda m, *x, **k: KerasLowering(None, {}, {}, (), {},"
    " (Unlowered('bench', 'Dense', 'forced by the benchmark'),))\n"
    "from inspector.cli import main\n"
    "raise SystemExit(main(sys.argv[1:]))\n"
)


def mobilenet() -> Path:
    path = KERAS_DIR / "mobilenetv2_224.keras"
    if not path.exists():
        KERAS_DIR.mkdir(parents=True, exist_ok=True)
        code = (
            "import os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'; import keras\n"
            "m = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))\n"
            f"m.save({str(path)!r})\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return path


def child(path: Path, engine: str) -> tuple[float, float]:
    """(seconds, peak MB) of one fresh `run` of `path`."""
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, MODEL_INSPECTOR_CACHE=d, TF_CPP_MIN_LOG_LEVEL="3",
                   PYTHONPATH=str(ROOT))
        args = ["run", str(path), "--input", "random", "-o", str(Path(d) / "out.npz")]
        cmd = ([sys.executable, "-m", "inspector", *args] if engine == "lowering"
               else [sys.executable, "-c", FORCE_TF2ONNX, *args])
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(p.pid, 0)
        seconds = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        err = p.stderr.read().decode() if p.stderr else ""
        if p.returncode != 0:
            raise SystemExit(f"{engine} run of {path.name} failed: {err.strip()[-300:]}")
        return seconds, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", default="")
    ap.add_argument("--repeats", type=int, default=1)
    ns = ap.parse_args()
    files = [Path(f) for f in ns.files.split(",") if f] or [*SAMPLES, mobilenet()]
    print(f"{'file':28} {'lowered s':>9} {'MB':>6} {'tf2onnx s':>9} {'MB':>6} {'time x':>7} {'mem x':>6}")
    for f in files:
        res = {}
        for engine in ("lowering", "tf2onnx"):
            runs = [child(f, engine) for _ in range(ns.repeats)]
            res[engine] = (statistics.median(r[0] for r in runs), max(r[1] for r in runs))
        (ls, lm), (ts, tm) = res["lowering"], res["tf2onnx"]
        print(f"{f.name:28} {ls:9.2f} {lm:6.0f} {ts:9.2f} {tm:6.0f} {ts / ls:7.1f} {tm / lm:6.1f}",
              flush=True)


if __name__ == "__main__":
    main()
