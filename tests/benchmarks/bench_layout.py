"""Layout benchmark: time, peak traced memory and crossings of `layered_layout` on
ResNet-, Inception- and transformer-shaped graphs of 1k to 100k nodes.

Run: python tests/benchmarks/bench_layout.py [--repeats N] [SIZES...]   (a table; no asserts)
The "+groups" rows pass nested groups (stages/blocks, encoder/block/attention/MLP) as the
graph view does for expanded name scopes; "+scopes" nests five deep like an exported
encoder after "Expand all" (its block graph is ~10,000 levels deep, not ~12).
Targets (2-core machine, quiet): 20k nodes < 0.5 s; 100k nodes < 3 s without groups and
< 1.2 s with them. Times are the median (and best) of N runs; the load average is printed
because other work on the machine moves them by up to 2x.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from inspector.layout import layered_layout  # noqa: E402
from tests.layout.shapes import (  # noqa: E402
    grouped_resnet,
    grouped_transformer,
    scoped_transformer,
    shaped,
    sizes_for,
)

KINDS = ("resnet", "inception", "transformer", "resnet+groups", "transformer+groups",
         "transformer+scopes")


def _graph(kind: str, approx: int):
    """(n, edges, groups or None) of about `approx` nodes."""
    if kind == "resnet+groups":
        return grouped_resnet(max(1, int(approx / 7.5)))
    if kind == "transformer+groups":
        return grouped_transformer(max(1, int(approx / 32.0)))
    if kind == "transformer+scopes":
        return scoped_transformer(max(1, int(approx / 29.0)))
    return (*shaped(kind, approx), None)


def measure(kind: str, approx: int, repeats: int) -> dict[str, float]:
    """Median and best wall time of `repeats` runs, then one run under tracemalloc."""
    n, edges, groups = _graph(kind, approx)
    sizes = sizes_for(n)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        res = layered_layout(n, edges, sizes, groups=groups)
        times.append(time.perf_counter() - t)
    tracemalloc.start()
    layered_layout(n, edges, sizes, groups=groups)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"n": n, "m": len(edges), "s": statistics.median(times), "best": min(times),
            "mb": peak / 2**20, "x": res.crossings,
            "w": res.width, "h": res.height}


def main(argv: list[str]) -> None:
    repeats = 5
    if argv[:1] == ["--repeats"]:
        repeats, argv = int(argv[1]), argv[2:]
    sizes = [int(a) for a in argv] or [1000, 5000, 20000, 100000]
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores, "
          f"median and best of {repeats}")
    print(f"{'graph':<20}{'nodes':>8}{'edges':>8}{'median s':>9}{'best s':>8}{'peak MB':>9}"
          f"{'crossings':>10}{'width':>10}{'height':>12}")
    for approx in sizes:
        for kind in KINDS:
            r = measure(kind, approx, repeats)
            print(f"{kind:<20}{r['n']:>8}{r['m']:>8}{r['s']:>9.3f}{r['best']:>8.3f}{r['mb']:>9.1f}"
                  f"{r['x']:>10}{r['w']:>10.0f}{r['h']:>12.0f}", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main(sys.argv[1:])
