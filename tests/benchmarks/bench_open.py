"""End-to-end open benchmark: load + prepare (view graph, measure, layout, index) + show + first
paint, per graph size, with a per-phase breakdown and the peak resident memory of each open.

Run: QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_open.py
         [--sizes 1000,5000,20000,100000] [--resnet] [--profile N]
Each open runs in a fresh process, so its peak RSS (VmHWM) is its own. `cpu s` is the
process's CPU time for the open: on a shared machine it is steadier than the wall clock. Phases come from the
progress messages the loader and `prepare` report (the same ones the status bar shows).
`--profile N` runs one N-node open under cProfile in this process and prints the top entries.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

W, H = 1600, 1000


def chain(n: int, path: Path) -> Path:
    """A flat Conv -> Relu -> Add(skip) chain of n nodes (no name scopes: nothing collapses)."""
    nodes = []
    x, k = "x", 0
    while len(nodes) < n:
        a, b, c = f"c{k}", f"r{k}", f"a{k}"
        nodes.append(helper.make_node("Conv", [x, "w"], [a], name=f"conv_{k}", kernel_shape=[3, 3],
                                      pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [a], [b], name=f"relu_{k}"))
        nodes.append(helper.make_node("Add", [b, x], [c], name=f"add_{k}"))
        x, k = c, k + 1
    w = numpy_helper.from_array(np.ones((8, 8, 3, 3), np.float32), "w")
    graph = helper.make_graph(
        nodes, f"chain_{n}", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 16, 16])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 8, 16, 16])], [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def resnet50(path: Path) -> Path:
    """ResNet-50 v1 as torch exports it (Conv+BN+Relu, bottlenecks 3-4-6-3), random weights."""
    rng = np.random.default_rng(0)
    nodes, inits = [], []

    def w(name: str, shape: tuple[int, ...]) -> str:
        inits.append(numpy_helper.from_array((rng.standard_normal(shape) * 0.01).astype(np.float32), name))
        return name

    def conv_bn(x: str, cin: int, cout: int, k: int, s: int, scope: str, relu: bool) -> str:
        c = f"{scope}/conv"
        nodes.append(helper.make_node("Conv", [x, w(f"{c}.w", (cout, cin, k, k))], [f"{c}:0"], name=c,
                                      kernel_shape=[k, k], strides=[s, s], pads=[k // 2] * 4))
        b = f"{scope}/bn"
        ins = [f"{c}:0"] + [w(f"{b}.{p}", (cout,)) for p in ("g", "b", "m")]
        inits.append(numpy_helper.from_array(np.ones(cout, np.float32), f"{b}.v"))
        nodes.append(helper.make_node("BatchNormalization", ins + [f"{b}.v"], [f"{b}:0"], name=b))
        if not relu:
            return f"{b}:0"
        nodes.append(helper.make_node("Relu", [f"{b}:0"], [f"{scope}/relu:0"], name=f"{scope}/relu"))
        return f"{scope}/relu:0"

    x = conv_bn("input", 3, 64, 7, 2, "/stem", True)
    nodes.append(helper.make_node("MaxPool", [x], ["pool:0"], name="/stem/maxpool", kernel_shape=[3, 3],
                                  strides=[2, 2], pads=[1, 1, 1, 1]))
    x, cin = "pool:0", 64
    for li, (blocks, mid) in enumerate(((3, 64), (4, 128), (6, 256), (3, 512))):
        for bi in range(blocks):
            scope = f"/layer{li + 1}/block{bi}"
            s = 2 if bi == 0 and li > 0 else 1
            h = conv_bn(x, cin, mid, 1, 1, f"{scope}/a", True)
            h = conv_bn(h, mid, mid, 3, s, f"{scope}/b", True)
            h = conv_bn(h, mid, mid * 4, 1, 1, f"{scope}/c", False)
            skip = conv_bn(x, cin, mid * 4, 1, s, f"{scope}/down", False) if bi == 0 else x
            nodes.append(helper.make_node("Add", [h, skip], [f"{scope}/add:0"], name=f"{scope}/add"))
            nodes.append(helper.make_node("Relu", [f"{scope}/add:0"], [f"{scope}/out:0"],
                                          name=f"{scope}/relu"))
            x, cin = f"{scope}/out:0", mid * 4
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap:0"], name="/head/gap"))
    nodes.append(helper.make_node("Flatten", ["gap:0"], ["flat:0"], name="/head/flatten"))
    nodes.append(helper.make_node("Gemm", ["flat:0", w("fc.w", (1000, 2048)), w("fc.b", (1000,))],
                                  ["logits"], name="/head/fc", transB=1))
    graph = helper.make_graph(
        nodes, "resnet50", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, None)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


class PhaseTask:
    """A Task whose progress callback stamps the time each new progress message starts."""

    def __init__(self, prefix: str) -> None:
        from inspector.progress import Task

        self.prefix = prefix
        self.marks: list[tuple[float, float, str]] = []
        self.task = Task(progress=self._progress)

    def _progress(self, fraction: float, message: str) -> None:
        if message and (not self.marks or self.marks[-1][2] != message):
            self.marks.append((time.perf_counter(), time.process_time(), message))

    def phases(self, end: tuple[float, float]) -> dict[str, tuple[float, float]]:
        """{prefix: message -> (wall, cpu) seconds until the next message (or `end`)}."""
        out: dict[str, tuple[float, float]] = {}
        ends = [(m[0], m[1]) for m in self.marks[1:]] + [end]
        for (t, c, msg), (t1, c1) in zip(self.marks, ends, strict=True):
            key = f"{self.prefix}: {msg}"
            w0, c0 = out.get(key, (0.0, 0.0))
            out[key] = (w0 + t1 - t, c0 + c1 - c)
        return out


def _hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def open_once(path: Path) -> dict[str, object]:
    """Open `path` the way the app does (load, prepare, show, first paint) and time each phase."""
    from PySide6.QtWidgets import QApplication

    from inspector.loaders.registry import load_model
    from inspector.ui.graph.scene import prepare
    from inspector.ui.graph.view import GraphView

    app = QApplication.instance() or QApplication(sys.argv[:1])
    view = GraphView()
    view.resize(W, H)
    base = _hwm_mb()
    load_t = PhaseTask("load")
    c0 = _cpu_s()
    t0 = time.perf_counter()
    model = load_model(path, load_t.task)
    t1, p1 = time.perf_counter(), time.process_time()
    prep_t = PhaseTask("prepare")
    data = prepare(model, None, None, view._options, task=prep_t.task)
    t2, p2 = time.perf_counter(), time.process_time()
    try:
        view.show_scene(data, model)
    except TypeError:  # an older GraphView (comparing before/after with PYTHONPATH)
        view.show_scene(data)
    t3, p3 = time.perf_counter(), time.process_time()
    view.render_image(W, H)
    app.processEvents()
    t4, p4 = time.perf_counter(), time.process_time()
    phases = {**load_t.phases((t1, p1)), **prep_t.phases((t2, p2)),
              "show: install": (t3 - t2, p3 - p2), "show: first paint": (t4 - t3, p4 - p3)}
    return {"nodes": len(model.graph.nodes), "items": view.item_count(), "load": t1 - t0,
            "prepare": t2 - t1, "show": t4 - t2, "total": t4 - t0, "cpu": _cpu_s() - c0,
            "phases": phases,
            "hwm_mb": _hwm_mb(), "base_mb": base}


def _run_child(path: Path) -> dict[str, object]:
    out = subprocess.run([sys.executable, __file__, "--one", str(path)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,5000,20000,100000")
    ap.add_argument("--resnet", action="store_true", help="also open a ResNet-50 built with onnx.helper")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--profile", type=int, default=0, help="cProfile one open of this many nodes")
    ap.add_argument("--phases", action="store_true", help="print every phase, not only the totals")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(open_once(Path(args.one))))
        return
    tmp = Path(tempfile.mkdtemp())
    if args.profile:
        import cProfile
        import pstats

        path = chain(args.profile, tmp / "p.onnx")
        prof = cProfile.Profile()
        prof.runcall(open_once, path)
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
        return
    paths = [(f"chain {int(s)}", chain(int(s), tmp / f"c{s}.onnx")) for s in args.sizes.split(",")]
    if args.resnet:
        paths.append(("resnet50", resnet50(tmp / "resnet50.onnx")))
    print(f"{'model':>14} {'nodes':>7} {'items':>7} {'load s':>7} {'prep s':>7} {'show s':>7} "
          f"{'total s':>7} {'cpu s':>6} {'peak MB':>8}")
    for label, path in paths:
        r = _run_child(path)
        print(f"{label:>14} {r['nodes']:>7} {r['items']:>7} {r['load']:>7.2f} {r['prepare']:>7.2f} "
              f"{r['show']:>7.2f} {r['total']:>7.2f} {r['cpu']:>6.2f} {r['hwm_mb']:>8.0f}", flush=True)
        if args.phases:
            for k, (wall, cpu) in r["phases"].items():  # type: ignore[union-attr]
                if wall >= 0.005:
                    print(f"{'':>16}{k:<44} {wall:>7.3f} s wall {cpu:>7.3f} s cpu")


if __name__ == "__main__":
    main()
