"""Re-running and differentiating ONNX bodies: what If, Loop and Scan share.

Values inside a body cannot be exposed by the probe (a body's values are not graph outputs),
so the backward pass re-executes the body itself: each body becomes a small ONNX model of its
own (body inputs and the outer-scope values it reads as graph inputs, every value as a graph
output), run by onnxruntime once for an If branch and once per iteration for Loop and Scan.
The recorded iterations are then differentiated in reverse with the same engine
(`backprop_graph`), carrying the gradient of the loop state backwards and summing the
gradients of outer-scope values (weights used in every step) over the iterations. The
re-executed outputs must reproduce the model's own, or the node is reported as uncovered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from inspector.autodiff.rules.graph import GraphEnv, accumulate, backprop_graph
from inspector.autodiff.rules.registry import Grad, NotDifferentiable

#: More iterations than this are not recorded: every iteration's values are kept in memory.
MAX_ITERATIONS = 10_000


class SubgraphRunner:
    """One body graph as its own onnxruntime model: inputs and outer values in, every value out."""

    def __init__(self, graph: Any, outer: Sequence[str], sample: Mapping[str, np.ndarray],
                 env: GraphEnv) -> None:
        import onnx
        import onnxruntime as ort
        from onnx import helper, numpy_helper

        self.inputs = [i.name for i in graph.input] + [n for n in outer]
        self._consts = {t.name: _widen(numpy_helper.to_array(t)) for t in graph.initializer}
        self._dtypes = _feed_dtypes(graph, outer, sample, env)
        body = onnx.GraphProto()
        body.CopyFrom(graph)
        body.name = graph.name or "body"
        del body.input[:], body.output[:], body.value_info[:]
        for name in self.inputs:
            body.input.append(_tensor_info(name, sample[name], self._dtypes[name], True))
        model = helper.make_model(body, opset_imports=list(env.opset_imports))
        model.ir_version = env.ir_version
        types = _inferred_types(model)
        wanted = list(dict.fromkeys([o.name for o in graph.output]
                                    + [o for n in graph.node for o in n.output if o]))
        self.outputs = [n for n in wanted if n in types and n not in self._consts]
        unknown = [o.name for o in graph.output if o.name not in self.outputs
                   and o.name not in self._consts]
        if unknown:
            raise NotDifferentiable(f"body output '{unknown[0]}' has no tensor type to run it")
        # Shapes are left open: carried state or scan slices may change shape per iteration.
        del body.input[:]
        for name in self.inputs:
            body.input.append(_tensor_info(name, sample[name], self._dtypes[name], False))
        for name in self.outputs:
            body.output.append(helper.make_tensor_value_info(name, types[name], None))
        model = helper.make_model(body, opset_imports=list(env.opset_imports))
        model.ir_version = env.ir_version
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # bodies are small; one thread avoids hand-off costs
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(model.SerializeToString(), sess_options=opts,
                                                 providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - ORT raises many types; the rule reports one line
            raise NotDifferentiable(f"its body cannot run on its own ({_first_line(e)})") from None

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Every value of the body for these feeds: feeds, constants and node outputs."""
        typed = {n: np.asarray(feeds[n]).astype(self._dtypes[n], copy=False)
                 for n in self.inputs}
        try:
            arrays = self._session.run(self.outputs, typed)
        except Exception as e:  # noqa: BLE001
            raise NotDifferentiable(f"re-running its body failed ({_first_line(e)})") from None
        values: dict[str, np.ndarray] = dict(self._consts)
        values.update((n, _widen(typed[n])) for n in self.inputs)
        values.update((n, _widen(a)) for n, a in zip(self.outputs, arrays, strict=True))
        return values


def _widen(a: np.ndarray) -> np.ndarray:
    """float16 as float32, as the engine's forward values are (half precision loses the
    backward signal)."""
    return a.astype(np.float32) if a.dtype == np.float16 else a


def _feed_dtypes(graph: Any, outer: Sequence[str], sample: Mapping[str, np.ndarray],
                 env: GraphEnv) -> dict[str, np.dtype]:
    """The dtype each body input must be fed in: as the body declares it, and float16 for
    outer values the engine widened to float32, so the body runs as the model ran it."""
    from onnx import helper

    out: dict[str, np.dtype] = {}
    for i in graph.input:
        elem = i.type.tensor_type.elem_type if i.type.HasField("tensor_type") else 0
        try:
            out[i.name] = np.dtype(helper.tensor_dtype_to_np_dtype(elem)) if elem else None
        except (KeyError, TypeError, ValueError):
            out[i.name] = None
    for n in outer:
        out[n] = np.dtype(np.float16) if n in env.widened else None
    for n, dt in out.items():
        if dt is None:
            value = sample.get(n)
            if not isinstance(value, np.ndarray | np.generic):
                raise NotDifferentiable(f"'{n}' is not a tensor (sequences and maps are not "
                                        "covered)")
            out[n] = np.asarray(value).dtype
    return out


def _first_line(e: Exception) -> str:
    s = str(e).strip()
    return s.splitlines()[0][:200] if s else type(e).__name__


def _tensor_info(name: str, value: Any, dtype: np.dtype, with_shape: bool) -> Any:
    from onnx import helper

    try:
        elem = helper.np_dtype_to_tensor_dtype(dtype)
    except (KeyError, TypeError, ValueError):
        raise NotDifferentiable(f"'{name}' has dtype {dtype}, which cannot be fed") from None
    return helper.make_tensor_value_info(name, elem,
                                         list(np.shape(value)) if with_shape else None)


def _inferred_types(model: Any) -> dict[str, int]:
    """Element type of every value shape inference can type (concrete input shapes help it)."""
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False)
    except Exception:  # noqa: BLE001 - best effort; untyped values are simply not exposed
        inferred = model
    g = inferred.graph
    types: dict[str, int] = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        t = vi.type
        if t.WhichOneof("value") == "tensor_type" and t.tensor_type.elem_type:
            types[vi.name] = t.tensor_type.elem_type
    return types


def gather_values(values: Mapping[str, Any], names: Sequence[str], op: str) -> dict[str, Any]:
    """The forward values of `names`; NotDifferentiable naming the first one missing."""
    missing = [n for n in names if n not in values]
    if missing:
        raise NotDifferentiable(f"{op}: forward value '{missing[0]}' unavailable")
    return {n: values[n] for n in names}


def check_reproduced(op: str, got: np.ndarray, name: str, values: Mapping[str, Any]) -> None:
    """The re-executed body must reproduce the model's own output (when the probe has it)."""
    ref = values.get(name)
    if ref is None or not isinstance(ref, np.ndarray):
        return
    ok = got.shape == ref.shape
    if ok and np.issubdtype(ref.dtype, np.floating):
        scale = float(np.max(np.abs(ref))) if ref.size else 0.0
        ok = bool(np.allclose(got, ref, rtol=1e-4, atol=1e-5 * max(1.0, scale)))
    elif ok:
        ok = bool(np.array_equal(got, ref))
    if not ok:
        raise NotDifferentiable(f"{op}: re-running its body does not reproduce '{name}'")


def sum_outer(total: dict[str, np.ndarray], grads: Mapping[str, np.ndarray],
              outer: Sequence[str]) -> None:
    """Add one iteration's outer-scope gradients into `total`, in place.

    In place because a body reading a whole outer tensor (a Gather of step t from the input
    sequence) gets a full-size gradient every iteration; new sums each time cost O(T^2).
    """
    for n in outer:
        g = grads.get(n)
        if g is None:
            continue
        if n in total:
            total[n] += g
        else:
            total[n] = np.array(g, copy=True)  # owned: a rule may hand back a shared array


def check_cancel(env: GraphEnv) -> None:
    """Raise Cancelled when the engine's task was cancelled (long loops check every step)."""
    if env.check is not None:
        env.check()


class StepRecorder:
    """Runs a Loop or Scan body once per iteration and keeps every iteration's values."""

    def __init__(self, body: Any, outer: Sequence[str], env: GraphEnv, op: str) -> None:
        self._body, self._outer, self._env, self._op = body, outer, env, op
        self._runner: SubgraphRunner | None = None
        self.steps: list[dict[str, np.ndarray]] = []

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The body's values for one iteration (the runner is built on the first)."""
        if len(self.steps) >= MAX_ITERATIONS:
            raise NotDifferentiable(f"{self._op}: more than {MAX_ITERATIONS} iterations to record")
        check_cancel(self._env)
        if self._runner is None:
            self._runner = SubgraphRunner(self._body, self._outer, feeds, self._env)
        step = self._runner.run(feeds)
        self.steps.append(step)
        return step


def replay_reverse(body: Any, steps: Sequence[Mapping[str, Any]], state_out: Sequence[str],
                   state_in: Sequence[str], g_state: Sequence[Grad],
                   step_seeds: Callable[[int], Iterable[tuple[str, np.ndarray]]],
                   outer: Sequence[str], env: GraphEnv,
                   on_step: Callable[[int, Mapping[str, np.ndarray]], None] | None = None,
                   ) -> tuple[list[Grad], dict[str, np.ndarray]]:
    """Back through the recorded iterations, last to first: (gradient at the initial state,
    summed outer-scope gradients).

    Each iteration is seeded with the state gradient carried back from the next one (at the
    body's state outputs `state_out`) plus `step_seeds(t)` (its scan outputs' slices); the
    gradient at the body's state inputs `state_in` is carried on. `on_step(t, grads)` sees
    each iteration's gradients (Scan writes its input slices' gradients from them).
    """
    g_state = list(g_state)
    g_outer: dict[str, np.ndarray] = {}
    for t in range(len(steps) - 1, -1, -1):
        check_cancel(env)
        seeds: dict[str, np.ndarray] = {}
        for name, g in zip(state_out, g_state, strict=True):
            if g is not None:
                accumulate(seeds, name, g)
        for name, g in step_seeds(t):
            accumulate(seeds, name, g)
        if not seeds:
            g_state = [None] * len(state_out)
            continue
        grads = backprop_graph(body.node, steps[t], seeds, env)
        g_state = [grads.get(n) for n in state_in]
        if on_step is not None:
            on_step(t, grads)
        sum_outer(g_outer, grads, outer)
    return g_state, g_outer


def node_gradients(names: Sequence[str], grads: Sequence[Grad],
                   g_outer: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{input or outer-scope name: gradient} of a node from its inputs' and outer values'."""
    out: dict[str, np.ndarray] = {}
    for name, g in zip(names, grads, strict=True):
        if name and g is not None:
            accumulate(out, name, g)
    for n, g in g_outer.items():
        accumulate(out, n, g)
    return out
