"""ONNX loader benchmark: parse time on synthetic graphs and resident memory on > 2 GB of
external weights. Run as a script: `python tests/benchmarks/bench_onnx_parse.py`."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from inspector.loaders.onnx_loader import load
from inspector.progress import Task


def _status() -> dict[str, int]:
    """VmRSS and VmHWM of this process in MB (psutil is not installed)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(rest.split()[0]) // 1024
    return out


def residual_chain(n_nodes: int, width: int = 8) -> onnx.ModelProto:
    """Blocks of MatMul -> Relu -> Add(residual), one small weight per block, named scopes."""
    rng = np.random.default_rng(0)
    nodes, inits = [], []
    prev = "x"
    for b in range(n_nodes // 3):
        w = f"w{b}"
        inits.append(numpy_helper.from_array(rng.standard_normal((width, width)).astype(np.float32), w))
        scope = f"/blocks/block.{b}"
        nodes.append(helper.make_node("MatMul", [prev, w], [f"mm{b}"], name=f"{scope}/MatMul"))
        nodes.append(helper.make_node("Relu", [f"mm{b}"], [f"r{b}"], name=f"{scope}/Relu"))
        nodes.append(helper.make_node("Add", [f"r{b}", prev], [f"h{b}"], name=f"{scope}/Add"))
        prev = f"h{b}"
    graph = helper.make_graph(
        nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", width])],
        [helper.make_tensor_value_info(prev, TensorProto.FLOAT, None)], inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def bench_parse(sizes: tuple[int, ...] = (1_000, 20_000, 100_000)) -> None:
    """Print a table of onnx.load vs our full load for each graph size."""
    print(f"{'nodes':>8} {'file MB':>8} {'onnx.load s':>12} {'inspector load s':>17} {'RSS MB':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"chain_{n}.onnx"
            onnx.save(residual_chain(n), path)
            t0 = time.perf_counter()
            onnx.load(path, load_external_data=False)
            t1 = time.perf_counter()
            model = load(path, Task())
            t2 = time.perf_counter()
            assert len(model.graph.nodes) == n // 3 * 3
            mb = path.stat().st_size / 2**20
            print(f"{n:>8} {mb:>8.1f} {t1 - t0:>12.3f} {t2 - t1:>17.3f} {_status()['VmRSS']:>7}")
            del model


def make_huge_external(folder: Path, n_weights: int = 3, side: int = 16384) -> Path:
    """A model with n_weights float32 [side, side] external weights in one sparse file."""
    per = side * side * 4
    inits = []
    for i in range(n_weights):
        t = TensorProto()
        t.name, t.data_type = f"w{i}", TensorProto.FLOAT
        t.dims.extend([side, side])
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", "huge.bin"), ("offset", str(i * per)), ("length", str(per))):
            e = t.external_data.add()
            e.key, e.value = k, v
        inits.append(t)
    with open(folder / "huge.bin", "wb") as f:
        f.truncate(n_weights * per)  # sparse: costs no disk time
    nodes, prev = [], "x"
    for i in range(n_weights):
        nodes.append(helper.make_node("MatMul", [prev, f"w{i}"], [f"y{i}"], name=f"/layer{i}/MatMul"))
        prev = f"y{i}"
    graph = helper.make_graph(
        nodes, "huge", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, side])],
        [helper.make_tensor_value_info(prev, TensorProto.FLOAT, None)], inits,
    )
    path = folder / "huge.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def _child_open(path: str) -> None:
    before = _status()
    t0 = time.perf_counter()
    model = load(Path(path), Task())
    dt = time.perf_counter() - t0
    after = _status()
    gb = sum(t.nbytes for t in model.graph.initializers.values()) / 2**30
    print(f"external weights {gb:.2f} GB: open {dt:.3f} s, RSS {before['VmRSS']} -> "
          f"{after['VmRSS']} MB, peak (VmHWM) {after['VmHWM']} MB")


def bench_external_memory() -> None:
    """Open a > 2 GB external-data model in a fresh process and print its resident memory."""
    with tempfile.TemporaryDirectory() as tmp:
        path = make_huge_external(Path(tmp))
        out = subprocess.run(
            [sys.executable, __file__, "--open", str(path)], capture_output=True, text=True, check=True
        )
        print(out.stdout.strip())


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--open":
        _child_open(sys.argv[2])
    else:
        bench_parse()
        bench_external_memory()
