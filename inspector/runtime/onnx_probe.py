"""Every intermediate value of an ONNX model from one onnxruntime run.

A "probe" model is the original with each main-graph node output added as a graph output
(after shape inference, so each output has a type). Values onnxruntime cannot hand back as
numpy arrays (bfloat16, float8, int4, sequences, maps, optionals) are left out and listed
with the reason. Values inside If/Loop/Scan bodies cannot be graph outputs at all.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto

from inspector.progress import NO_TASK, Cancelled, Task
from inspector.runtime.errors import InputError, RunError

# Element types onnxruntime returns as plain numpy arrays; the rest (bfloat16, float8, 4-bit,
# complex) make `InferenceSession.run` fail with "No corresponding Numpy type".
_NUMPY_TYPES: dict[int, str] = {
    TensorProto.FLOAT: "float32",
    TensorProto.DOUBLE: "float64",
    TensorProto.FLOAT16: "float16",
    TensorProto.INT8: "int8",
    TensorProto.INT16: "int16",
    TensorProto.INT32: "int32",
    TensorProto.INT64: "int64",
    TensorProto.UINT8: "uint8",
    TensorProto.UINT16: "uint16",
    TensorProto.UINT32: "uint32",
    TensorProto.UINT64: "uint64",
    TensorProto.BOOL: "bool",
    TensorProto.STRING: "object",
}

def _elem_type_name(elem_type: int) -> str:
    try:
        return TensorProto.DataType.Name(elem_type).lower()
    except ValueError:
        return f"element type {elem_type}"


def _skip_reason(vtype: onnx.TypeProto | None) -> str | None:
    """None when a value of this type can be a probe output, else why not."""
    if vtype is None:
        return "type unknown after shape inference"
    kind = vtype.WhichOneof("value")
    if kind == "tensor_type":
        et = vtype.tensor_type.elem_type
        if et == TensorProto.UNDEFINED:
            return "element type unknown after shape inference"
        if et not in _NUMPY_TYPES:
            return f"{_elem_type_name(et)} has no numpy type in onnxruntime"
        return None
    if kind is None:
        return "type unknown after shape inference"
    return f"{kind.replace('_type', '')} values cannot be returned as arrays"


def _infer(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Shape-inferred copy, or the model unchanged when inference fails (custom ops, bugs)."""
    try:
        return onnx.shape_inference.infer_shapes(proto, check_type=False, strict_mode=False)
    except Exception:  # noqa: BLE001 - inference is a best effort; ORT validates later
        return proto


def expose_all_values(proto: onnx.ModelProto) -> tuple[onnx.ModelProto, list[str]]:
    """Return (probe model with every main-graph node output as a graph output, skipped).

    `skipped` lists `"name: reason"` for node outputs that could not be exposed. The input
    proto is not modified. Weights may be left external (`load_external_data=False`).
    """
    probe = _infer(proto)
    if probe is proto:
        probe = onnx.ModelProto()
        probe.CopyFrom(proto)
    graph = probe.graph
    types: dict[str, onnx.TypeProto] = {}
    for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
        if vi.type.WhichOneof("value") is not None:
            types[vi.name] = vi.type
    already = {o.name for o in graph.output}
    skipped: list[str] = []
    for node in graph.node:
        for out in node.output:
            if not out or out in already:
                continue
            reason = _skip_reason(types.get(out))
            if reason is not None:
                skipped.append(f"{out}: {reason}")
                continue
            vi = graph.output.add()
            vi.name = out
            vi.type.CopyFrom(types[out])
            already.add(out)
    return probe, skipped


def _has_external_data(proto: onnx.ModelProto) -> bool:
    for init in proto.graph.initializer:
        if init.data_location == TensorProto.EXTERNAL:
            return True
    return False


class ProbeSession:
    """An onnxruntime session on the probe model of an ONNX file: one run gives every value.

    `threads` sets onnxruntime's intra-op threads; `expose=False` skips adding node outputs.
    """

    def __init__(
        self, model_path: str | Path, *, threads: int | None = None, expose: bool = True
    ) -> None:
        import onnxruntime as ort

        path = Path(model_path)
        try:
            # Weights stay on disk: shape inference needs only their dims and types.
            proto = onnx.load(str(path), load_external_data=False)
        except FileNotFoundError:
            raise RunError(f"{path}: no such file") from None
        except Exception as e:  # noqa: BLE001 - a corrupt protobuf must not be a traceback
            raise RunError(f"{path.name}: not a readable ONNX model ({type(e).__name__})") from None
        # expose=False runs the file as is (a Keras probe already outputs every layer).
        probe, skipped = expose_all_values(proto) if expose else (proto, [])
        self.skipped: dict[str, str] = dict(s.split(": ", 1) for s in skipped)

        opts = ort.SessionOptions()
        if threads is not None:
            opts.intra_op_num_threads = int(threads)
            opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # Spinning worker threads steal the GUI's core and, on a shared 2-core machine, made
        # runs slower (bench_activations: MobileNetV2 probe median 107 -> 53 ms).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if _has_external_data(probe):
            # Loaded from bytes, onnxruntime resolves external data relative to this folder.
            opts.add_session_config_entry(
                "session.model_external_initializers_file_folder_path",
                str(path.resolve().parent),
            )
        try:
            data = probe.SerializeToString()
        except ValueError:
            raise RunError(f"{path.name}: model graph over 2 GB cannot be probed") from None
        try:
            self._session = ort.InferenceSession(
                data, sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # noqa: BLE001 - ORT raises many types; the user gets one line
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise RunError(f"{path.name}: onnxruntime cannot run this model ({msg})") from None

        self.path = path
        self.input_names: list[str] = [i.name for i in self._session.get_inputs()]
        self.output_names: list[str] = [o.name for o in proto.graph.output]
        self._fetch: list[str] = [o.name for o in self._session.get_outputs()]
        self._input_meta = {i.name: i for i in self._session.get_inputs()}
        order = {name: k for k, name in enumerate(_node_output_order(probe.graph.node))}
        body = sorted(self._fetch, key=lambda n: order.get(n, len(order)))
        self.value_names: list[str] = self.input_names + [
            n for n in body if n not in self._input_meta
        ]

    def run(self, feeds: dict[str, np.ndarray], task: Task = NO_TASK) -> dict[str, np.ndarray]:
        """Run once; return {value name: array} for the inputs and every exposed value."""
        import onnxruntime as ort

        missing = [n for n in self.input_names if n not in feeds]
        if missing:
            raise InputError(f"missing input(s): {', '.join(missing)}")
        extra = [n for n in feeds if n not in self._input_meta]
        if extra:
            raise InputError(
                f"unknown input(s) {', '.join(extra)}; the model takes "
                f"{', '.join(self.input_names)}"
            )
        task.report(0.0, "running the model")
        run_opts = ort.RunOptions()
        stop = threading.Event()
        watcher = None
        if task.cancelled is not None:
            watcher = threading.Thread(
                target=_watch_cancel, args=(task, run_opts, stop), daemon=True
            )
            watcher.start()
        try:
            arrays = self._session.run(self._fetch, dict(feeds), run_opts)
        except Exception as e:  # noqa: BLE001
            if task.cancelled is not None and task.cancelled():
                raise Cancelled() from None
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise RunError(f"{self.path.name}: the run failed ({msg})") from None
        finally:
            stop.set()
            if watcher is not None:
                watcher.join()
        task.check()
        result: dict[str, np.ndarray] = {n: np.asarray(feeds[n]) for n in self.input_names}
        result.update(zip(self._fetch, arrays, strict=True))
        task.report(1.0, "done")
        return result


def _node_output_order(nodes: Iterable[onnx.NodeProto]) -> list[str]:
    return [o for n in nodes for o in n.output if o]


def _watch_cancel(task: Task, run_opts: object, stop: threading.Event) -> None:
    """Poll the task's cancel check while onnxruntime runs; ask ORT to stop when set."""
    while not stop.wait(0.05):
        if task.cancelled is not None and task.cancelled():
            run_opts.terminate = True  # type: ignore[attr-defined]
            return


__all__ = ["ProbeSession", "expose_all_values"]
