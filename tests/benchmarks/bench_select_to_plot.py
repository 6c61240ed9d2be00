"""Time from selecting a node to its plots on screen, in the real main window (offscreen).

Run: QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_select_to_plot.py [--rounds N]
     [--models digits,mobilenetv2]
Opens each model in `MainWindow` (settings in a temporary ini), runs one random input, then
selects nodes one after another with `tab.view.select_node(name)`; one sample is
select + processEvents (the dock's panels are filled synchronously) + `window.grab()` (the
paint a person would see) with the Activations tab showing. Nodes are grouped by what the
Activations panel draws: feature-map grids (4-D outputs), bars (vectors), other.
MobileNetV2 is keras.applications (weights=None) converted once with tf2onnx
(bench_activations.build, cached in /tmp/model-inspector-bench).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))


def kind_of(shape: tuple) -> str:
    """What the activation panel draws for an output of this shape."""
    dims = [d for d in shape if d not in (None, 1)] if shape else []
    if shape is not None and len(shape) == 4:
        return "feature maps (4-D)"
    if len(dims) <= 1:
        return "vector (bars)"
    return "other"


def bench(app: object, window: object, path: Path, rounds: int) -> list[tuple[str, list[float], list[float]]]:
    """Open `path`, run a random input, time node selections; rows of (kind, totals, grabs)."""
    from inspector.ui.self_test import wait_until

    errors: list[str] = []
    t0 = time.perf_counter()
    tab = window.open_paths([str(path)])[0]
    tab.load_failed.connect(lambda m, d: errors.append(m))
    tab.job_failed.connect(lambda m, d: errors.append(m))
    if not wait_until(app, lambda: tab.model is not None or bool(errors), 120):
        raise SystemExit(f"{path.name}: did not open")
    opened = time.perf_counter() - t0
    t0 = time.perf_counter()
    window.inspect.request_input("random")
    if not wait_until(app, lambda: tab.activations is not None or bool(errors), 300) or errors:
        raise SystemExit(f"{path.name}: run failed {errors}")
    ran = time.perf_counter() - t0
    print(f"{path.name}: open {opened:.2f} s, first run (session + every value) {ran:.2f} s, "
          f"{len(tab.activations.values)} values", flush=True)
    window.inspect.views.setCurrentIndex(0)  # the Activations tab
    graph = tab.model.graph
    nodes = [n for n in graph.nodes if tab.activations.by_node.get(n.name)]
    by_kind: dict[str, tuple[list[float], list[float]]] = {}
    for _ in range(rounds):
        for node in nodes:
            shape = tab.activations.values[tab.activations.by_node[node.name][0]].shape
            start = time.perf_counter()
            tab.view.select_node(node.name)
            app.processEvents()
            mid = time.perf_counter()
            window.grab()
            end = time.perf_counter()
            totals, grabs = by_kind.setdefault(kind_of(shape), ([], []))
            totals.append(1000 * (end - start))
            grabs.append(1000 * (end - mid))
    window.close_tab(window.tabs.indexOf(tab))  # free its session and values
    return [(k, t, g) for k, (t, g) in sorted(by_kind.items())]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--models", default="digits,mobilenetv2")
    args = ap.parse_args()

    from PySide6.QtCore import QSettings

    from inspector.ui import dialogs
    from inspector.ui.app import _app
    from inspector.ui.main_window import MainWindow

    # A modal error box would block an unattended run; print the message instead.
    dialogs.show_error = lambda parent, msg, details="": print("error:", msg)  # type: ignore[assignment]
    app = _app()
    ini = Path(tempfile.mkdtemp(prefix="mi-bench-")) / "settings.ini"
    window = MainWindow(QSettings(str(ini), QSettings.Format.IniFormat))
    window.resize(1500, 950)
    window.show()
    paths = {"digits": ROOT / "samples" / "digits_cnn.onnx"}
    if "mobilenetv2" in args.models:
        from bench_activations import build

        paths["mobilenetv2"] = build("mobilenetv2")
    print(f"load={os.getloadavg()[0]:.1f} rounds={args.rounds}")
    rows = []
    for name in args.models.split(","):
        for kind, totals, grabs in bench(app, window, paths[name], args.rounds):
            rows.append((name, kind, totals, grabs))
    print(f"{'model':<12} {'kind':<20} {'n':>4} {'median ms':>10} {'max ms':>8} "
          f"{'grab median':>12} {'grab max':>9}")
    for name, kind, totals, grabs in rows:
        print(f"{name:<12} {kind:<20} {len(totals):>4} {statistics.median(totals):>10.1f} "
              f"{max(totals):>8.1f} {statistics.median(grabs):>12.1f} {max(grabs):>9.1f}")


if __name__ == "__main__":
    main()
