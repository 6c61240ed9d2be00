"""Start-up, measured as whole fresh processes, offscreen.

    python tests/benchmarks/bench_startup.py [RUNS]

1. start to first window, no model (budget 1.5 s): from just before the process is launched to
   the first painted main window;
2. launch to first graph (budget 1.2 s): `model-inspector FILE` on a 20-node ONNX model, from
   just before the process is launched to the end of the graph view's first complete paint
   (the app appends that moment to the file named by MI_FIRST_PAINT_FILE).

Prints the median and worst of RUNS (default 7) fresh starts of each.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import os, sys, time
t0 = time.time()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import QSettings
from inspector.ui.app import _app
from inspector.ui.main_window import MainWindow
app = _app()
w = MainWindow(QSettings(os.environ["MI_INI"], QSettings.Format.IniFormat))
w.show()
app.processEvents()
w.grab()  # forces a real paint of the whole window
now = time.time()
print(f"{now - float(os.environ['MI_T_START']):.4f} {now - t0:.4f}")
print("onnxruntime" in sys.modules, "tensorflow" in sys.modules)
"""


def small_model(path: Path, nodes: int = 20) -> Path:
    """A 20-node Conv/Relu/Add chain with weights, like a small sample."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits, ops, prev = [], [], "x"
    for i in range(nodes):
        out = f"t{i}"
        if i % 2 == 0:
            inits.append(numpy_helper.from_array(rng.standard_normal((4, 4, 3, 3)).astype(np.float32), f"w{i}"))
            ops.append(helper.make_node("Conv", [prev, f"w{i}"], [out], name=f"conv{i}", pads=[1, 1, 1, 1]))
        else:
            ops.append(helper.make_node("Relu", [prev], [out], name=f"relu{i}"))
        prev = out
    g = helper.make_graph(ops, "small", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 16, 16])],
                          [helper.make_tensor_value_info(prev, TensorProto.FLOAT, None)], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def first_window(runs: int) -> None:
    """Median and worst start to the first painted empty window."""
    totals, inner, heavy = [], [], ""
    for _ in range(runs):
        with tempfile.NamedTemporaryFile(suffix=".ini") as ini:
            env = {**os.environ, "MI_INI": ini.name, "MI_T_START": repr(time.time())}
            out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                                 text=True, check=True).stdout.split("\n")
        total, body = map(float, out[0].split())
        totals.append(total)
        inner.append(body)
        heavy = out[1]
    print(f"start to first window: median {statistics.median(totals):.3f} s, "
          f"worst {max(totals):.3f} s over {runs} runs (budget 1.5 s)")
    print(f"  imports + window after the interpreter started: median "
          f"{statistics.median(inner):.3f} s")
    print(f"  onnxruntime / tensorflow imported at start-up: {heavy}")


def first_graph(runs: int, timeout: float = 30.0) -> list[float]:
    """Launch `python -m inspector.cli FILE` and time it to the first complete graph paint."""
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        model = small_model(Path(tmp) / "small20.onnx")
        for i in range(runs):
            stamp = Path(tmp) / f"paint{i}.txt"
            env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MI_FIRST_PAINT_FILE": str(stamp),
                   "XDG_CONFIG_HOME": str(Path(tmp) / f"cfg{i}")}
            start = time.time()
            proc = subprocess.Popen([sys.executable, "-m", "inspector.cli", str(model), "--new-instance"],
                                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                while not (stamp.exists() and stamp.read_text().strip()):
                    if proc.poll() is not None:
                        raise RuntimeError(f"the app exited: {proc.stderr.read().decode()[-500:]}")
                    if time.time() - start > timeout:
                        raise RuntimeError("no graph painted within the timeout")
                    time.sleep(0.005)
                times.append(float(stamp.read_text().split()[0]) - start)
            finally:
                proc.kill()
                proc.wait()
    print(f"launch to first graph (20 nodes): median {statistics.median(times):.3f} s, "
          f"worst {max(times):.3f} s over {runs} runs (budget 1.2 s)")
    return times


def main() -> None:
    """Run the fresh starts and print the figures."""
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    first_window(runs)
    first_graph(runs)


if __name__ == "__main__":
    main()
