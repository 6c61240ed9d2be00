"""Gradients through the ONNX Scan op (opset 9 and later), by re-running its body per step.

Scan slices each scan input along its axis (last to first for a reverse direction), runs the
body on the state and the slices, and stacks the body's scan outputs along their axes. The
backward pass replays the recorded steps in reverse: the state's gradient is carried back,
each step's slice gradients are written into the scan inputs' gradients at that step's
position, and outer-scope values sum their gradients over the steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from inspector.autodiff.rules.bodies import (
    MAX_ITERATIONS,
    StepRecorder,
    check_reproduced,
    gather_values,
    node_gradients,
    replay_reverse,
)
from inspector.autodiff.rules.graph import GraphEnv, node_attrs, outer_refs
from inspector.autodiff.rules.registry import Grad, NotDifferentiable, subgraph_rule


def _axes(attrs: Mapping[str, Any], name: str, count: int, ranks: Sequence[int]) -> list[int]:
    given = attrs.get(name)
    axes = [int(a) for a in given] if given else [0] * count
    if len(axes) != count:
        raise NotDifferentiable(f"Scan: {name} has {len(axes)} entries for {count} values")
    return [a + r if a < 0 else a for a, r in zip(axes, ranks, strict=True)]


def _position(t: int, steps: int, reverse: int) -> int:
    return steps - 1 - t if reverse else t


@dataclass
class _ScanShape:
    """A Scan node's body split into state and scan parts, with its axes and directions."""

    b_in: list[str]
    b_out: list[str]
    n_state: int
    n_scan: int
    in_axes: list[int]
    in_dirs: list[int]
    out_dirs: list[int]

    @property
    def scan_names(self) -> list[str]:
        return self.b_out[self.n_state:]


def _scan_shape(attrs: Mapping[str, Any], xs: Sequence[np.ndarray]) -> _ScanShape:
    body = attrs["body"]
    n_scan = int(attrs["num_scan_inputs"])
    b_in = [i.name for i in body.input]
    b_out = [o.name for o in body.output]
    n_state = len(b_in) - n_scan
    n_scan_out = len(b_out) - n_state
    return _ScanShape(b_in, b_out, n_state, n_scan,
                      _axes(attrs, "scan_input_axes", n_scan, [x.ndim for x in xs]),
                      list(attrs.get("scan_input_directions") or [0] * n_scan),
                      list(attrs.get("scan_output_directions") or [0] * n_scan_out))


@subgraph_rule("Scan")
def scan_vjp(node: Any, values: Mapping[str, Any], gys: Sequence[np.ndarray | None],
             env: GraphEnv) -> dict[str, np.ndarray]:
    """{input or outer-scope name: gradient} for a Scan node."""
    if env.opset < 9:
        raise NotDifferentiable("Scan before opset 9 (batched, with sequence_lens) is not covered")
    attrs = node_attrs(node)
    body = attrs["body"]
    n_scan = int(attrs["num_scan_inputs"])
    n_state = len(body.input) - n_scan
    if n_state < 0 or len(body.output) < n_state or len(node.input) != len(body.input):
        raise NotDifferentiable("Scan: body inputs and outputs do not match the node's")
    ins = gather_values(values, [n for n in node.input if n], "Scan")
    states = [np.asarray(ins[n]) for n in node.input[:n_state]]
    xs = [np.asarray(ins[n]) for n in node.input[n_state:]]
    shape = _scan_shape(attrs, xs)
    steps = xs[0].shape[shape.in_axes[0]] if xs else 0
    if steps > MAX_ITERATIONS:
        raise NotDifferentiable(f"Scan: more than {MAX_ITERATIONS} steps to record")
    outer = outer_refs(body)
    recorder = StepRecorder(body, outer, env, "Scan")
    states = _record_scan(shape, states, xs, steps, gather_values(values, outer, "Scan"),
                          recorder)
    iterations = recorder.steps
    out_ranks = [np.ndim(iterations[0][n]) + 1 for n in shape.scan_names] if iterations \
        else [1] * len(shape.scan_names)
    out_axes = _axes(attrs, "scan_output_axes", len(shape.scan_names), out_ranks)
    _check_scan_outputs(node, values, shape, states, iterations, out_axes)

    def step_seeds(t: int) -> Iterable[tuple[str, np.ndarray]]:
        for j, name in enumerate(shape.scan_names):
            g = gys[n_state + j] if n_state + j < len(gys) else None
            if g is not None:
                pos = _position(t, steps, shape.out_dirs[j])
                yield name, np.take(np.asarray(g), pos, axis=out_axes[j])

    g_xs: list[Grad] = [None] * n_scan

    def add_slice_grads(t: int, grads: Mapping[str, np.ndarray]) -> None:
        for j in range(n_scan):
            g = grads.get(shape.b_in[n_state + j])
            if g is None:
                continue
            if g_xs[j] is None:
                g_xs[j] = np.zeros(xs[j].shape, dtype=g.dtype)
            # A view with the scan axis first: the step's slice gradient lands at its position.
            np.moveaxis(g_xs[j], shape.in_axes[j], 0)[_position(t, steps, shape.in_dirs[j])] += g

    g_state = [gys[k] if k < len(gys) else None for k in range(n_state)]
    g_state, g_outer = replay_reverse(body, iterations, shape.b_out[:n_state],
                                      shape.b_in[:n_state], g_state, step_seeds, outer, env,
                                      add_slice_grads)
    return node_gradients(node.input, list(g_state) + g_xs, g_outer)


def _record_scan(shape: _ScanShape, states: list[np.ndarray], xs: Sequence[np.ndarray],
                 steps: int, outer_vals: Mapping[str, Any],
                 recorder: StepRecorder) -> list[np.ndarray]:
    """Run the body on every step's slices; the final state."""
    n_state = shape.n_state
    for t in range(steps):
        feeds = dict(outer_vals)
        feeds.update(zip(shape.b_in[:n_state], states, strict=True))
        for j, x in enumerate(xs):
            feeds[shape.b_in[n_state + j]] = np.take(
                x, _position(t, steps, shape.in_dirs[j]), axis=shape.in_axes[j])
        step = recorder.run(feeds)
        states = [step[n] for n in shape.b_out[:n_state]]
    return states


def _check_scan_outputs(node: Any, values: Mapping[str, Any], shape: _ScanShape,
                        states: Sequence[np.ndarray], iterations: Sequence[Mapping[str, Any]],
                        out_axes: Sequence[int]) -> None:
    """The re-run must reproduce the Scan's final state and its stacked scan outputs."""
    for k, name in enumerate(node.output):
        if not name:
            continue
        if k < shape.n_state:
            check_reproduced("Scan", states[k], name, values)
        elif iterations:
            j = k - shape.n_state
            ys = [it[shape.scan_names[j]] for it in iterations]
            if shape.out_dirs[j]:
                ys = ys[::-1]
            check_reproduced("Scan", np.stack(ys, axis=out_axes[j]), name, values)
