"""Soak: open and close the samples and 50 generated models many times in one window and
watch resident memory and threads.

    QT_QPA_PLATFORM=offscreen python -m tests.fuzz.soak [--iterations 200] [--every 20]

Each iteration opens every sample and generated model in its own tab, waits until each has
loaded (or been refused), then closes every tab. RSS (from /proc/self/statm) is printed
every `--every` iterations; the script ends with the thread count against the start.
"""

from __future__ import annotations

import argparse
import gc
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.fuzz.mutators import samples

N_GENERATED = 50


def rss_mb() -> float:
    """Resident set size of this process, in MB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def generated_models(folder: Path, n: int = N_GENERATED) -> list[Path]:
    """n small real ONNX MLPs of different widths and depths, checked by onnx."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    rng = np.random.default_rng(0)
    for k in range(n):
        width, depth = 4 + k % 13, 1 + k % 5
        nodes, inits, x = [], [], "x"
        for d in range(depth):
            w = numpy_helper.from_array(
                rng.standard_normal((width, width)).astype(np.float32), f"w{d}")
            inits.append(w)
            nodes.append(helper.make_node("MatMul", [x, f"w{d}"], [f"m{d}"], name=f"dense{d}"))
            nodes.append(helper.make_node("Relu", [f"m{d}"], [f"r{d}"], name=f"relu{d}"))
            x = f"r{d}"
        graph = helper.make_graph(
            nodes, f"gen{k}", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, width])],
            [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, width])], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        onnx.checker.check_model(model)
        path = folder / f"gen_{k:02d}.onnx"
        onnx.save(model, path)
        out.append(path)
    return out


def soak(window, paths: list[Path], iterations: int, wait: Callable[[Callable[[], bool]], None],
         every: int = 20, report: Callable[[str], None] = print) -> list[tuple[int, float]]:
    """Open and close every path `iterations` times; return [(iteration, RSS MB)]."""
    from PySide6.QtCore import QCoreApplication, QEvent, QThreadPool
    from PySide6.QtWidgets import QMessageBox

    curve = [(0, rss_mb())]
    report(f"iteration {0:4d}  rss {curve[0][1]:7.1f} MB  threads {threading.active_count()}")
    for it in range(1, iterations + 1):
        tabs = window.open_paths([str(p) for p in paths])
        wait(lambda tabs=tabs: all(t.model is not None or not t.busy for t in tabs))
        for box in window.findChildren(QMessageBox):
            box.close()
            box.deleteLater()
        while window.model_tabs():
            window.close_tab(window.tabs.indexOf(window.model_tabs()[0]))
        QThreadPool.globalInstance().waitForDone(10_000)
        QCoreApplication.processEvents()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        gc.collect()
        if it % every == 0 or it == iterations:
            curve.append((it, rss_mb()))
            report(f"iteration {it:4d}  rss {curve[-1][1]:7.1f} MB  "
                   f"threads {threading.active_count()}")
    return curve


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--every", type=int, default=20)
    a = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import tempfile

    from PySide6.QtCore import QCoreApplication, QSettings
    from PySide6.QtWidgets import QApplication

    from inspector.ui.main_window import MainWindow

    _app = QApplication.instance() or QApplication([])  # kept alive for the soak
    tmp = Path(tempfile.mkdtemp(prefix="mi-soak-"))
    paths = samples() + generated_models(tmp / "gen")
    win = MainWindow(settings=QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat))
    win.resize(1200, 800)
    win.show()

    def wait(cond: Callable[[], bool], timeout: float = 120.0) -> None:
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise TimeoutError("models did not finish loading")
            QCoreApplication.processEvents()
            time.sleep(0.005)

    threads0 = {t.ident for t in threading.enumerate()}
    print(f"{len(paths)} files per iteration ({len(paths) - N_GENERATED} samples + {N_GENERATED} generated)")
    curve = soak(win, paths, a.iterations, wait, a.every)
    left = [t.name for t in threading.enumerate() if t.ident not in threads0
            and not isinstance(t, threading._DummyThread)]  # noqa: SLF001
    first = curve[1][1] if len(curve) > 1 else curve[0][1]
    print(f"RSS after the first {a.every} iterations {first:.1f} MB, at the end "
          f"{curve[-1][1]:.1f} MB ({curve[-1][1] - first:+.1f} MB)")
    print(f"threads left behind: {left or 'none'}")
    win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
