"""Start to first window, no model (budget 1.5 s): a fresh process per run, offscreen.

    python tests/benchmarks/bench_startup.py [RUNS]

Prints the median and worst of RUNS (default 7) fresh starts, measured from just before the
process is launched to the first painted main window.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

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


def main() -> None:
    """Run the fresh starts and print the figures."""
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
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


if __name__ == "__main__":
    main()
