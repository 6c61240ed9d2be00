"""Layout benchmark: time, peak traced memory and crossings of `layered_layout` on
ResNet-, Inception- and transformer-shaped graphs of 1k to 100k nodes.

Run: python tests/benchmarks/bench_layout.py [SIZES...]   (prints a table; no asserts)
The "+groups" rows pass nested groups (stages/blocks, encoder/block/attention/MLP) as the
graph view does for expanded name scopes.
Targets from the issue: 20k nodes < 0.5 s, 100k nodes < 3 s (2-core machine).
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from inspector.layout import layered_layout  # noqa: E402
from tests.layout.shapes import grouped_resnet, grouped_transformer, shaped, sizes_for  # noqa: E402

KINDS = ("resnet", "inception", "transformer", "resnet+groups", "transformer+groups")


def _graph(kind: str, approx: int):
    """(n, edges, groups or None) of about `approx` nodes."""
    if kind == "resnet+groups":
        return grouped_resnet(max(1, int(approx / 7.5)))
    if kind == "transformer+groups":
        return grouped_transformer(max(1, int(approx / 32.0)))
    return (*shaped(kind, approx), None)


def measure(kind: str, approx: int, repeats: int) -> dict[str, float]:
    """Best-of-`repeats` wall time, then one run under tracemalloc for the peak."""
    n, edges, groups = _graph(kind, approx)
    sizes = sizes_for(n)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        res = layered_layout(n, edges, sizes, groups=groups)
        best = min(best, time.perf_counter() - t)
    tracemalloc.start()
    layered_layout(n, edges, sizes, groups=groups)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"n": n, "m": len(edges), "s": best, "mb": peak / 2**20, "x": res.crossings,
            "w": res.width, "h": res.height}


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [1000, 5000, 20000, 100000]
    print(f"{'graph':<20}{'nodes':>8}{'edges':>8}{'time s':>9}{'peak MB':>9}{'crossings':>10}"
          f"{'width':>10}{'height':>12}")
    for approx in sizes:
        for kind in KINDS:
            r = measure(kind, approx, repeats=3 if approx <= 20000 else 1)
            print(f"{kind:<20}{r['n']:>8}{r['m']:>8}{r['s']:>9.3f}{r['mb']:>9.1f}{r['x']:>10}"
                  f"{r['w']:>10.0f}{r['h']:>12.0f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
