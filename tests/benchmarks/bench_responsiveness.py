"""How well the window keeps turning while a big model opens in the background.

    python tests/benchmarks/bench_responsiveness.py [NODES ...]   (default 20000 100000)

Opens a synthetic Relu chain of NODES nodes in the real MainWindow (offscreen) and records a
20 ms QTimer's ticks until the tab is ready: the number of ticks, the longest gap between two
(the longest the window could not answer), and the total time.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def chain(path: Path, n: int) -> Path:
    """A Relu chain with name scopes, like the window tests' big model."""
    import onnx
    from onnx import TensorProto, helper

    nodes, prev = [], "x"
    for i in range(n):
        nodes.append(helper.make_node("Relu", [prev], [f"v{i}"], name=f"/blk{i // 100}/relu{i}"))
        prev = f"v{i}"
    graph = helper.make_graph(
        nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [1, 8])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def measure(path: Path) -> tuple[int, float, float]:
    """(ticks, longest gap s, total s) while `path` opens in a fresh window."""
    from PySide6.QtCore import QSettings, QTimer

    from inspector.ui.app import _app
    from inspector.ui.main_window import MainWindow

    app = _app()
    ini = Path(tempfile.mkdtemp()) / "bench.ini"
    window = MainWindow(QSettings(str(ini), QSettings.Format.IniFormat))
    window.show()
    app.processEvents()
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(20)
    t0 = time.monotonic()
    tab = window.open_paths([str(path)])[0]
    while tab.model is None or tab.busy:
        app.processEvents()
        time.sleep(0.002)
    t1 = time.monotonic()
    timer.stop()
    marks = [t0] + [t for t in ticks if t0 < t < t1] + [t1]
    gap = max(b - a for a, b in zip(marks, marks[1:], strict=False))
    window.close()
    return len(marks) - 2, gap, t1 - t0


def main() -> None:
    """Print one row per size."""
    sizes = [int(a) for a in sys.argv[1:]] or [20_000, 100_000]
    folder = Path(tempfile.mkdtemp())
    import inspector.ui  # noqa: F401 - sets the GIL switch interval the app runs with

    print(f"switch interval {sys.getswitchinterval() * 1000:.2f} ms (set by inspector.ui)")
    print(f"{'nodes':>8} {'ticks':>6} {'longest gap ms':>15} {'total s':>8}")
    for n in sizes:
        ticks, gap, total = measure(chain(folder / f"chain{n}.onnx", n))
        print(f"{n:>8} {ticks:>6} {gap * 1000:>15.0f} {total:>8.2f}")


if __name__ == "__main__":
    main()
