"""Gradients through the ONNX Scan op (opset 9 and later), by re-running its body per step.

Scan slices each scan input along its axis (last to first for a reverse direction), runs the
body on the state and the slices, and stacks the body's scan outputs along their axes. The
backward pass replays the recorded steps in reverse: the state's gradient is carried back,
each step's slice gradients are written into the scan inputs' gradients at that step's
position, and outer-scope values sum their gradients over the steps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from inspector.autodiff.rules import NotDifferentiable
from inspector.autodiff.rules.control import (
    MAX_ITERATIONS,
    SubgraphRunner,
    check_cancel,
    check_reproduced,
    gather_values,
    sum_outer,
)
from inspector.autodiff.rules.graph import (
    GraphEnv,
    accumulate,
    backprop_graph,
    node_attrs,
    outer_refs,
)


def _axes(attrs: Mapping[str, Any], name: str, count: int, ranks: Sequence[int]) -> list[int]:
    given = attrs.get(name)
    axes = [int(a) for a in given] if given else [0] * count
    if len(axes) != count:
        raise NotDifferentiable(f"Scan: {name} has {len(axes)} entries for {count} values")
    return [a + r if a < 0 else a for a, r in zip(axes, ranks, strict=True)]


def _position(t: int, steps: int, reverse: int) -> int:
    return steps - 1 - t if reverse else t


def scan_vjp(node: Any, values: Mapping[str, Any], gys: Sequence[np.ndarray | None],
             env: GraphEnv) -> dict[str, np.ndarray]:
    """{input or outer-scope name: gradient} for a Scan node."""
    if env.opset < 9:
        raise NotDifferentiable("Scan before opset 9 (batched, with sequence_lens) is not covered")
    attrs = node_attrs(node)
    body = attrs["body"]
    n_scan = int(attrs["num_scan_inputs"])
    b_in = [i.name for i in body.input]
    b_out = [o.name for o in body.output]
    n_state = len(b_in) - n_scan
    n_scan_out = len(b_out) - n_state
    if n_state < 0 or n_scan_out < 0 or len(node.input) != len(b_in):
        raise NotDifferentiable("Scan: body inputs and outputs do not match the node's")
    ins = gather_values(values, [n for n in node.input if n], "Scan")
    states = [np.asarray(ins[n]) for n in node.input[:n_state]]
    xs = [np.asarray(ins[n]) for n in node.input[n_state:]]
    in_axes = _axes(attrs, "scan_input_axes", n_scan, [x.ndim for x in xs])
    in_dirs = list(attrs.get("scan_input_directions") or [0] * n_scan)
    out_dirs = list(attrs.get("scan_output_directions") or [0] * n_scan_out)
    steps = xs[0].shape[in_axes[0]] if xs else 0
    if steps > MAX_ITERATIONS:
        raise NotDifferentiable(f"Scan: more than {MAX_ITERATIONS} steps to record")
    outer = outer_refs(body)
    outer_vals = gather_values(values, outer, "Scan")

    iterations: list[dict[str, np.ndarray]] = []
    runner: SubgraphRunner | None = None
    for t in range(steps):
        check_cancel(env)
        feeds = dict(outer_vals)
        feeds.update(zip(b_in[:n_state], states, strict=True))
        for j, x in enumerate(xs):
            feeds[b_in[n_state + j]] = np.take(x, _position(t, steps, in_dirs[j]), axis=in_axes[j])
        if runner is None:
            runner = SubgraphRunner(body, outer, feeds, env)
        step = runner.run(feeds)
        iterations.append(step)
        states = [step[n] for n in b_out[:n_state]]

    scan_names = b_out[n_state:]
    out_ranks = [np.ndim(iterations[0][n]) + 1 for n in scan_names] if iterations \
        else [1] * n_scan_out
    out_axes = _axes(attrs, "scan_output_axes", n_scan_out, out_ranks)
    for k, name in enumerate(node.output):
        if not name:
            continue
        if k < n_state:
            check_reproduced("Scan", states[k], name, values)
        elif iterations:
            j = k - n_state
            ys = [it[scan_names[j]] for it in iterations]
            if out_dirs[j]:
                ys = ys[::-1]
            check_reproduced("Scan", np.stack(ys, axis=out_axes[j]), name, values)

    g_state: list[np.ndarray | None] = [gys[k] if k < len(gys) else None for k in range(n_state)]
    g_xs: list[np.ndarray | None] = [None] * n_scan
    g_outer: dict[str, np.ndarray] = {}
    for t in range(steps - 1, -1, -1):
        check_cancel(env)
        seeds: dict[str, np.ndarray] = {}
        for name, g in zip(b_out[:n_state], g_state, strict=True):
            if g is not None:
                accumulate(seeds, name, g)
        for j, name in enumerate(scan_names):
            g = gys[n_state + j] if n_state + j < len(gys) else None
            if g is not None:
                pos = _position(t, steps, out_dirs[j])
                accumulate(seeds, name, np.take(np.asarray(g), pos, axis=out_axes[j]))
        if not seeds:
            g_state = [None] * n_state
            continue
        grads = backprop_graph(body.node, iterations[t], seeds, env)
        g_state = [grads.get(n) for n in b_in[:n_state]]
        for j in range(n_scan):
            g = grads.get(b_in[n_state + j])
            if g is None:
                continue
            if g_xs[j] is None:
                g_xs[j] = np.zeros(xs[j].shape, dtype=g.dtype)
            # A view with the scan axis first: the step's slice gradient lands at its position.
            np.moveaxis(g_xs[j], in_axes[j], 0)[_position(t, steps, in_dirs[j])] += g
        sum_outer(g_outer, grads, outer)

    out: dict[str, np.ndarray] = {}
    for name, g in zip(node.input, list(g_state) + g_xs, strict=True):
        if name and g is not None:
            accumulate(out, name, g)
    for n, g in g_outer.items():
        accumulate(out, n, g)
    return out
