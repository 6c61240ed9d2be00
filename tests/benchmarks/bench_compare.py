"""Compare MobileNetV2 float32 vs int8: both files opened to the coloured side-by-side graph,
against running both once with every intermediate captured.

Run: python tests/benchmarks/bench_compare.py [--rounds N]
The float model is keras.applications.MobileNetV2 (weights=None) converted with tf2onnx
(bench_activations.build), shape-inferred with onnxruntime's quant_pre_process; the int8 one
is onnxruntime's quantize_static (QDQ, 4 seeded calibration images). Both cached in
/tmp/model-inspector-bench. Rounds alternate the two paths so shared-core load hits both alike.
Budget (issue 11): the comparison under 2x the two capture runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_activations import BENCH_DIR, build  # noqa: E402

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def models() -> tuple[Path, Path]:
    """(float, int8) MobileNetV2 files, made once."""
    import numpy as np
    from onnxruntime.quantization import QuantFormat, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    src = build("mobilenetv2")
    pre, q = BENCH_DIR / "mobilenetv2_pre.onnx", BENCH_DIR / "mobilenetv2_int8.onnx"
    if not pre.exists():
        quant_pre_process(str(src), str(pre))
    if not q.exists():
        rng = np.random.default_rng(0)
        data = iter([{"image": rng.random((1, 224, 224, 3), dtype=np.float32)} for _ in range(4)])

        class Reader:
            def get_next(self) -> dict | None:
                return next(data, None)

        quantize_static(str(pre), str(q), Reader(), quant_format=QuantFormat.QDQ)
    return pre, q


def capture_both(a: Path, b: Path) -> float:
    """Load both and run each once with every intermediate captured (fresh sessions)."""
    from inspector.loaders import load_model
    from inspector.runtime.activations import clear_sessions, run_activations
    from inspector.runtime.inputs import make_inputs

    clear_sessions()
    t = time.perf_counter()
    ma, mb = load_model(a), load_model(b)
    feeds = make_inputs(ma, "random", seed=0)
    run_activations(ma, feeds)
    run_activations(mb, feeds)
    return time.perf_counter() - t


def compare_to_screen(app, a: Path, b: Path) -> tuple[float, object]:
    """Open both files in a CompareTab and wait until both graphs are laid out and coloured."""
    from PySide6.QtCore import QEventLoop

    from inspector.runtime.activations import clear_sessions
    from inspector.ui.compare_tab import CompareTab

    clear_sessions()
    t = time.perf_counter()
    tab = CompareTab(str(a), str(b))
    tab.resize(1600, 1000)
    tab.show()
    loop = QEventLoop()
    tab.shown.connect(loop.quit)
    tab.start()
    loop.exec()
    tab.repaint()  # the coloured graphs painted
    assert tab.view_a._colors and tab.view_b._colors
    elapsed = time.perf_counter() - t
    if tab.weights_job.busy:  # measured after the colours, outside the timed span
        loop = QEventLoop()
        tab.weights_measured.connect(loop.quit)
        loop.exec()
    report = tab.report
    tab.close()
    tab.deleteLater()
    app.processEvents()
    return elapsed, report


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ns = ap.parse_args()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    a, b = models()
    capture_both(a, b)  # warm the file cache and imports for both paths alike
    base, cmp = [], []
    report = None
    for _ in range(ns.rounds):
        base.append(capture_both(a, b))
        s, report = compare_to_screen(app, a, b)
        cmp.append(s)
    mb, mc = statistics.median(base), statistics.median(cmp)
    print(f"models: {a.name} ({len(report.a.graph.nodes)} nodes) vs {b.name} "
          f"({len(report.b.graph.nodes)} nodes)")
    print(f"matched values {len(report.values)}, weights {len(report.weights)}, "
          f"unmatched A {len(report.matching.unmatched_a)}, B {len(report.matching.unmatched_b)}, "
          f"first divergence {report.first_divergence and report.first_divergence.a}")
    print("phases of the last comparison: " +
          ", ".join(f"{k} {v:.3f} s" for k, v in report.seconds.items()))
    print(f"capture both (load + run each, every value): median {mb:.3f} s  {base}")
    print(f"compare to coloured graph:                   median {mc:.3f} s  {cmp}")
    print(f"ratio {mc / mb:.2f}x (budget < 2x)")


if __name__ == "__main__":
    main()
