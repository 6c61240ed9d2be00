"""Panel timings: a 4096 x 4096 weight heatmap to screen (set_weights + processEvents +
grab; budget 100 ms) and set_activation on big tensors. Run: python tests/benchmarks/bench_panels.py"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from inspector.ir import Node, Tensor, Weight  # noqa: E402


def _time(fn, repeats: int = 5) -> tuple[float, float, float]:
    """(median wall ms, worst wall ms, median CPU ms): CPU time is the steadier figure when
    other jobs share the two cores."""
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    return statistics.median(times), max(times), statistics.median(cpu)


def main() -> None:
    """Print one line per measurement: median and worst of 5 runs, in ms."""
    app = QApplication.instance() or QApplication([])
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    from inspector.ui.panels import ActivationPanel, WeightPanel

    rng = np.random.default_rng(0)
    big = rng.normal(size=(4096, 4096)).astype(np.float32)
    node = Node("fc", "Gemm", weights=(Weight("B", Tensor("B", big.shape, "float32",
                                                         lambda: big)),))
    panel = WeightPanel()
    panel.resize(1000, 700)
    panel.show()
    app.processEvents()

    def heatmap() -> None:
        panel.set_weights(node)
        app.processEvents()
        panel.grab()

    med, worst, cpu = _time(heatmap)
    print(f"4096x4096 heatmap to screen: median {med:.1f} ms, worst {worst:.1f} ms, "
          f"CPU {cpu:.1f} ms (budget 100)")

    acts = ActivationPanel()
    acts.resize(1000, 700)
    acts.show()
    cases = {
        "1x512x56x56 NCHW": (rng.normal(size=(1, 512, 56, 56)).astype(np.float32), "NCHW"),
        "1x112x112x96 NHWC": (rng.normal(size=(1, 112, 112, 96)).astype(np.float32), "NHWC"),
        "1x1000000 vector": (rng.normal(size=(1, 1_000_000)).astype(np.float32), None),
        "1x2048x1024 sequence": (rng.normal(size=(1, 2048, 1024)).astype(np.float32), None),
    }
    for label, (arr, layout) in cases.items():
        def run(arr=arr, layout=layout) -> None:
            acts.set_activation(Node("n", "Relu"), "n", arr, layout=layout)
            app.processEvents()
            acts.grab()

        med, worst, cpu = _time(run)
        print(f"set_activation {label} to screen: median {med:.1f} ms, worst {worst:.1f} ms, "
              f"CPU {cpu:.1f} ms")


if __name__ == "__main__":
    main()
