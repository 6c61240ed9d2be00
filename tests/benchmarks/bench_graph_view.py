"""Graph view benchmark: open + layout + first paint, and pan/zoom frame times, 1k-100k nodes.

Run: QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_graph_view.py [--sizes 1000,20000]
Frames are rendered into a 1600x1000 QImage with the widget's own paint code.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

W, H = 1600, 1000


def synthetic(n: int, path: Path) -> Path:
    """A ResNet-like chain of n nodes: Conv -> Relu -> Add(skip) blocks, weights on every Conv."""
    nodes, inits = [], []
    x = "x"
    w = numpy_helper.from_array(np.ones((8, 8, 3, 3), np.float32), "w")
    inits.append(w)
    k = 0
    while len(nodes) < n:
        a, b, c = f"c{k}", f"r{k}", f"a{k}"
        nodes.append(helper.make_node("Conv", [x, "w"], [a], name=f"conv_{k}", kernel_shape=[3, 3],
                                      pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [a], [b], name=f"relu_{k}"))
        nodes.append(helper.make_node("Add", [b, x], [c], name=f"add_{k}"))
        x, k = c, k + 1
    graph = helper.make_graph(
        nodes, f"synthetic_{n}", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 16, 16])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 8, 16, 16])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def rss_mb() -> float:
    """Peak resident set size of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def frame_ms(view, frames: int, step) -> tuple[float, float]:
    """Median and worst time to render the viewport, calling step(i) before each frame."""
    from PySide6.QtGui import QImage, QPainter

    img = QImage(W, H, QImage.Format.Format_ARGB32_Premultiplied)
    times = []
    for i in range(frames):
        step(i)
        t = time.perf_counter()
        p = QPainter(img)
        view.paint_viewport(p, W, H)
        p.end()
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times)), float(max(times))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,5000,20000,100000")
    args = ap.parse_args()
    from PySide6.QtWidgets import QApplication

    from inspector.loaders.registry import load_model
    from inspector.ui.graph.scene import all_groups
    from inspector.ui.graph.view import GraphView

    app = QApplication.instance() or QApplication(sys.argv[:1])
    tmp = Path(tempfile.mkdtemp())
    print(f"{'nodes':>7} {'items':>7} {'open s':>7} {'layout s':>8} {'paint s':>7} "
          f"{'total s':>7} {'RSS MB':>7}")
    views = {}
    for n in [int(s) for s in args.sizes.split(",")]:
        path = synthetic(n, tmp / f"s{n}.onnx")
        t0 = time.perf_counter()
        model = load_model(path)
        t1 = time.perf_counter()
        data = GraphView.prepare(model, expanded=all_groups(model.graph))
        t2 = time.perf_counter()
        view = GraphView()
        view.resize(W, H)
        view.show_scene(data)
        view.render_image(W, H)
        app.processEvents()
        t3 = time.perf_counter()
        print(f"{len(model.graph.nodes):>7} {view.item_count():>7} {t1 - t0:>7.2f} {t2 - t1:>8.2f} "
              f"{t3 - t2:>7.2f} {t3 - t0:>7.2f} {rss_mb():>7.0f}", flush=True)
        if n >= 20000:
            views[n] = view
    if not views:
        return
    print(f"\n{'nodes':>7} {'zoom':>9} {'mode':>6} {'pan med':>8} {'pan max':>8} "
          f"{'zoom med':>9} {'zoom max':>9}  (ms per {W}x{H} frame)")
    for n, view in views.items():
        view.fit()
        fit = view.zoom()
        for z in (fit, fit * 4, 0.05, 0.15, 0.3, 0.6, 1.0, 2.0):
            view.set_zoom(z)
            view.center_on(*view._item_center(len(view.scene_data.items) // 2))
            view.render_image(W, H)  # warm caches (the far-out raster) once
            pan = frame_ms(view, 30, lambda i, v=view: v.pan_by(7.0, 11.0))
            zoom = frame_ms(view, 30, lambda i, v=view, z=z: v.set_zoom(z * (1.02 ** (i % 10))))
            print(f"{n:>7} {z:>9.4f} {view.last_mode:>6} {pan[0]:>8.2f} {pan[1]:>8.2f} "
                  f"{zoom[0]:>9.2f} {zoom[1]:>9.2f}", flush=True)
    print(f"\npeak RSS {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
