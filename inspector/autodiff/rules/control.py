"""Gradients through ONNX If and Loop, by re-running their bodies (see `bodies`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from inspector.autodiff.rules.bodies import (
    StepRecorder,
    SubgraphRunner,
    check_reproduced,
    gather_values,
    node_gradients,
    replay_reverse,
)
from inspector.autodiff.rules.graph import (
    GraphEnv,
    accumulate,
    backprop_graph,
    node_attrs,
    outer_refs,
)
from inspector.autodiff.rules.registry import NotDifferentiable, subgraph_rule


@subgraph_rule("If")
def if_vjp(node: Any, values: Mapping[str, Any], gys: Sequence[np.ndarray | None],
           env: GraphEnv) -> dict[str, np.ndarray]:
    """{outer-scope name: gradient} for an If node, through the branch it took."""
    cond = gather_values(values, [node.input[0]], "If")[node.input[0]]
    branch = node_attrs(node)["then_branch" if bool(np.asarray(cond).reshape(-1)[0])
                              else "else_branch"]
    outer = outer_refs(branch)
    feeds = gather_values(values, outer, "If")
    body_values = SubgraphRunner(branch, outer, feeds, env).run(feeds)
    seeds: dict[str, np.ndarray] = {}
    for out, name, g in zip(branch.output, node.output, gys, strict=False):
        check_reproduced("If", np.asarray(body_values[out.name]), name, values)
        if g is not None:
            accumulate(seeds, out.name, g)
    grads = backprop_graph(branch.node, body_values, seeds, env)
    return {n: grads[n] for n in outer if n in grads}


@subgraph_rule("Loop")
def loop_vjp(node: Any, values: Mapping[str, Any], gys: Sequence[np.ndarray | None],
             env: GraphEnv) -> dict[str, np.ndarray]:
    """{input or outer-scope name: gradient} for a Loop node, through every iteration."""
    body = node_attrs(node)["body"]
    b_in = [i.name for i in body.input]
    b_out = [o.name for o in body.output]
    n_carried = len(node.input) - 2
    if len(b_in) != n_carried + 2 or len(b_out) < n_carried + 1:
        raise NotDifferentiable("Loop: body inputs and outputs do not match the node's")
    gather_values(values, [n for n in node.input if n], "Loop")
    outer = outer_refs(body)
    recorder = StepRecorder(body, outer, env, "Loop")
    carried = _record_loop(node, values, body, outer, recorder)
    scan_names = b_out[1 + n_carried:]
    _check_loop_outputs(node, values, carried, scan_names, recorder.steps)

    def step_seeds(t: int) -> Iterable[tuple[str, np.ndarray]]:
        for k, name in enumerate(scan_names):
            g = gys[n_carried + k] if n_carried + k < len(gys) else None
            if g is not None:
                yield name, np.asarray(g)[t]

    g_carry = [gys[k] if k < len(gys) else None for k in range(n_carried)]
    g_carry, g_outer = replay_reverse(body, recorder.steps, b_out[1:1 + n_carried], b_in[2:],
                                      g_carry, step_seeds, outer, env)
    return node_gradients(node.input[2:], g_carry, g_outer)


def _record_loop(node: Any, values: Mapping[str, Any], body: Any, outer: Sequence[str],
                 recorder: StepRecorder) -> list[np.ndarray]:
    """Run the body until the trip count or the condition stops it; the final carried state."""
    b_in = [i.name for i in body.input]
    b_out = [o.name for o in body.output]
    n_carried = len(node.input) - 2
    trip = int(np.asarray(values[node.input[0]]).reshape(-1)[0]) if node.input[0] else None
    cond = bool(np.asarray(values[node.input[1]]).reshape(-1)[0]) \
        if len(node.input) > 1 and node.input[1] else True
    carried = [values[n] for n in node.input[2:]]
    outer_vals = gather_values(values, outer, "Loop")
    i = 0
    while (trip is None or i < trip) and cond:
        feeds = {b_in[0]: np.array(i, np.int64), b_in[1]: np.array(cond), **outer_vals}
        feeds.update(zip(b_in[2:], carried, strict=True))
        step = recorder.run(feeds)
        cond = bool(np.asarray(step[b_out[0]]).reshape(-1)[0])
        carried = [step[n] for n in b_out[1:1 + n_carried]]
        i += 1
    return carried


def _check_loop_outputs(node: Any, values: Mapping[str, Any], carried: Sequence[np.ndarray],
                        scan_names: Sequence[str], steps: Sequence[Mapping[str, Any]]) -> None:
    """The re-run must reproduce the Loop's final state and its stacked scan outputs."""
    n_carried = len(carried)
    for k, name in enumerate(node.output):
        if not name:
            continue
        if k < n_carried:
            check_reproduced("Loop", np.asarray(carried[k]), name, values)
        elif steps:
            stacked = np.stack([it[scan_names[k - n_carried]] for it in steps])
            check_reproduced("Loop", stacked, name, values)
