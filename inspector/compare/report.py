"""Run two matched models on one input and measure every matched value and weight."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inspector.compare.matching import Matching, match_models
from inspector.compare.metrics import ValueDiff, align, dequantize, value_diff
from inspector.compare.weights import weight_diffs
from inspector.ir import Model
from inspector.progress import NO_TASK, Task
from inspector.runtime.errors import RunError

DEFAULT_THRESHOLD = 1e-3
# Below this share of A's nodes with a partner in B, the two files are not two forms of one model.
MIN_COVERAGE = 0.25


class CompareError(RunError):
    """The two models cannot be compared (unrelated, different inputs): one clear line."""


@dataclass
class CompareReport:
    """Everything a comparison found: the matching, one ValueDiff per matched value (A's
    topological order) and per matched weight, and the first value past `threshold`
    (on `max_rel`)."""

    a: Model
    b: Model
    matching: Matching
    values: list[ValueDiff]
    weights: list[ValueDiff]
    first_divergence: ValueDiff | None
    threshold: float
    feeds: dict[str, np.ndarray]
    acts_a: Mapping[str, np.ndarray] = field(repr=False, default_factory=dict)
    acts_b: Mapping[str, np.ndarray] = field(repr=False, default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def node_errors(self, side: str) -> dict[str, float]:
        """{node name: worst max_rel of the values it computes} for side "a" or "b"."""
        by_a = {p.a: p for p in self.matching.pairs}
        out: dict[str, float] = {}
        for d in self.values:
            pair = by_a.get(d.a)
            if pair is None:
                continue
            for n in pair.a_nodes if side == "a" else pair.b_nodes:
                out[n] = max(out.get(n, 0.0), d.max_rel)
        return out

    def arrays(self, diff: ValueDiff) -> tuple[np.ndarray, np.ndarray]:
        """A's and B's arrays of one matched value, B laid out as A."""
        a = np.asarray(self.acts_a[diff.a])
        raw = np.asarray(self.acts_b[diff.b])
        b = align(a, raw)
        if self.a.format != self.b.format and a.shape == raw.shape and a.ndim >= 3:
            # The reading value_diff kept (see its cross_layout): the closer one.
            cands = [raw] + [np.moveaxis(raw, s, d) for s, d in ((-1, 1), (1, -1))]
            cands = [c for c in cands if c.shape == a.shape]
            b = min(cands, key=lambda c: float(np.max(np.abs(a.astype(np.float32) - c))))
        return a, (b if b is not None else raw)

    def as_dict(self) -> dict[str, Any]:
        """The `compare --json` object (DESIGN.md)."""
        fd = self.first_divergence
        return {
            "a": self.a.path,
            "b": self.b.path,
            "threshold": self.threshold,
            "values": [d.as_dict() for d in self.values],
            "weights": [d.as_dict() for d in self.weights],
            "unmatched_a": list(self.matching.unmatched_a),
            "unmatched_b": list(self.matching.unmatched_b),
            "first_divergence": None if fd is None else {**fd.as_dict()},
            "skipped": dict(self.skipped),
        }


def make_feeds(model: Model, spec: str, seed: int) -> dict[str, np.ndarray]:
    """Inputs for `model`: "random", "zeros", "ones" or a file (see runtime.inputs)."""
    from inspector.runtime.inputs import load_inputs, make_inputs

    if spec in ("random", "zeros", "ones"):
        return make_inputs(model, kind=spec, seed=seed)
    return load_inputs(Path(spec), model)


def feeds_for_b(a: Model, b: Model, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A's feeds keyed and typed for B: by name, else by position; refuses a different
    input signature with one line."""
    from inspector.runtime.inputs import input_specs, resolve_shape

    sa, sb = input_specs(a), input_specs(b)
    if len(sa) != len(sb):
        raise CompareError(f"mismatched input signatures: A takes {len(sa)} input(s), "
                           f"B takes {len(sb)}")
    names_b = {s.name: s for s in sb}
    out: dict[str, np.ndarray] = {}
    for i, spec_a in enumerate(sa):
        spec_b = names_b.get(spec_a.name, sb[i])
        arr = feeds[spec_a.name]
        dims = {str(d): int(n) for d, n in zip(spec_b.shape or (), arr.shape, strict=False)
                if isinstance(d, str) and len(spec_b.shape or ()) == arr.ndim}
        try:
            want = resolve_shape(spec_b, dims)
        except RunError:
            want = arr.shape
        da, db = arr.dtype, spec_b.numpy_dtype
        same_kind = da == db or (da.kind == "f" and db.kind == "f")
        if not same_kind or np.empty(want).size != arr.size or (
            tuple(want) != arr.shape and [d for d in want if d != 1]
            != [d for d in arr.shape if d != 1]
        ):
            raise CompareError(
                f"mismatched input signatures: A's {spec_a.name!r} is {da}[{'x'.join(map(str, arr.shape))}], "
                f"B's {spec_b.name!r} is {db}[{spec_b.shape_label}]"
            )
        out[spec_b.name] = arr.reshape(want).astype(db, copy=False)
    return out


def first_divergence_of(values: list[ValueDiff], threshold: float) -> ValueDiff | None:
    for d in values:
        if not math.isfinite(d.max_rel) or d.max_rel > threshold:
            return d
    return None


def compare_models(
    a: Model,
    b: Model,
    input_spec: str = "random",
    *,
    seed: int = 0,
    threshold: float = DEFAULT_THRESHOLD,
    manual: list[tuple[str, str]] = (),
    feeds: dict[str, np.ndarray] | None = None,
    task: Task = NO_TASK,
    weights: bool = True,
) -> CompareReport:
    """Match A to B, run both on one input, and measure every matched value and (unless
    `weights=False`) every matched weight."""
    from inspector.runtime.activations import run_activations

    t0 = time.perf_counter()
    task.report(0.0, "matching the two graphs")
    feeds_a = feeds if feeds is not None else make_feeds(a, input_spec, seed)
    feeds_b = feeds_for_b(a, b, feeds_a)
    matching = match_models(a, b, manual)
    if not matching.pairs or matching.coverage < MIN_COVERAGE:
        n = matching.compute_a
        raise CompareError(
            f"unrelated models: only {n - len(matching.unmatched_a)} of {n} nodes of "
            f"{Path(a.path).name} have a counterpart in {Path(b.path).name}"
        )
    t1 = time.perf_counter()
    task.report(0.05, "running A and B")
    # Side by side: session creation is partly single-threaded, and two onnxruntime runs
    # overlap on two cores (MobileNetV2 float + int8: 0.15 -> 0.11 s, bench_compare).
    with ThreadPoolExecutor(2, thread_name_prefix="compare-run") as pool:
        fa = pool.submit(run_activations, a, feeds_a, task.part(0.05, 0.5))
        fb = pool.submit(run_activations, b, feeds_b, task.part(0.5, 0.95))
        ra, rb = fa.result(), fb.result()
    t2 = time.perf_counter()
    task.report(0.95, "measuring the differences")
    values: list[ValueDiff] = []
    skipped: dict[str, str] = {}
    for pair in matching.pairs:
        if pair.a not in ra.values or pair.b not in rb.values:
            skipped[pair.a] = "not captured by the run"
            continue
        xa, xb = np.asarray(ra.values[pair.a]), np.asarray(rb.values[pair.b])
        if xa.dtype.kind not in "fiu" or xb.dtype.kind not in "fiu":
            skipped[pair.a] = f"not numeric ({xa.dtype}, {xb.dtype})"
            continue
        d = value_diff(pair.a, pair.b, xa, xb, cross_layout=a.format != b.format)
        if d is None:
            skipped[pair.a] = f"shapes {xa.shape} and {xb.shape} do not align"
            continue
        values.append(d)
    weight_rows = weight_diffs(a, b, matching) if weights else []
    t3 = time.perf_counter()
    task.report(1.0, "done")
    return CompareReport(
        a, b, matching, values, weight_rows, first_divergence_of(values, threshold), threshold,
        feeds_a, ra.values, rb.values, skipped,
        {"match": t1 - t0, "run": t2 - t1, "measure": t3 - t2},
    )


__all__ = ["DEFAULT_THRESHOLD", "CompareError", "CompareReport", "compare_models",
           "dequantize", "make_feeds"]
