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

from inspector.loaders.onnx_types import NUMPY_NAMES
from inspector.progress import NO_TASK, Cancelled, Task
from inspector.runtime.errors import InputError, RunError
from inspector.runtime.onnx_blocked import (
    BatchUnblocker,
    BlockedValue,
    CapturedValues,
    PaddedValue,
    derivable_pads,
    nchwc_block_size,
    rewrite_blocked,
)
from inspector.runtime.structured_values import StructuredValue, split_values

# The fast path writes onnxruntime's optimised copy of the probe to a temporary file.
_FAST_PATH_MAX_BYTES = 1 << 30
_INLINE_MAX_BYTES = 1 << 16
_SHAPE_TYPES = frozenset({TensorProto.INT64, TensorProto.INT32})

# Element types onnxruntime returns as plain numpy arrays; the rest (bfloat16, float8, 4-bit,
# complex) make `InferenceSession.run` fail with "No corresponding Numpy type". Strings come
# back as object arrays.
_NUMPY_TYPES: dict[int, str] = {
    t: name for t, name in NUMPY_NAMES.items() if not name.startswith("complex")
} | {TensorProto.STRING: "object"}

def _elem_type_name(elem_type: int) -> str:
    try:
        return TensorProto.DataType.Name(elem_type).lower()
    except ValueError:
        return f"element type {elem_type}"


def _skip_reason(vtype: onnx.TypeProto | None) -> str | None:
    """None when a value of this type can be a probe output, else why not.

    Sequences, maps and optionals come back from onnxruntime as lists, dicts and None (see
    structured_values) when every tensor inside them has a numpy type.
    """
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
    if kind == "sequence_type":
        if not vtype.sequence_type.HasField("elem_type"):
            return "sequence element type unknown after shape inference"
        return _skip_reason(vtype.sequence_type.elem_type)
    if kind == "optional_type":
        if not vtype.optional_type.HasField("elem_type"):
            return "optional element type unknown after shape inference"
        return _skip_reason(vtype.optional_type.elem_type)
    if kind == "map_type":
        if vtype.map_type.key_type not in _NUMPY_TYPES:
            return f"map key {_elem_type_name(vtype.map_type.key_type)} has no numpy type"
        return _skip_reason(vtype.map_type.value_type)
    if kind is None:
        return "type unknown after shape inference"
    return f"{kind.replace('_type', '')} values cannot be returned by onnxruntime"


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
            try:
                vi = onnx.ValueInfoProto()
                vi.name = out
                vi.type.CopyFrom(types[out])
            except (UnicodeError, ValueError, TypeError):
                # A corrupt name (bytes that are not UTF-8) cannot be a graph output.
                skipped.append(f"{out!r}: the name is not valid text")
                continue
            graph.output.append(vi)
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
    `lazy=True` captures values in onnxruntime's blocked NCHWc layout and makes each a plain
    array when first read (see onnx_blocked): MobileNetV2 runs at 1.4x a plain run instead of
    2.0x, but reading every value then costs more (2.7x in all) because the reorders no
    longer run while the data is still in cache. So lazy suits readers of a few values.
    `layout` says which path was taken: "blocked", "pads" (only Pad outputs recomputed) or
    "plain".
    """

    def __init__(
        self,
        model_path: str | Path,
        *,
        threads: int | None = None,
        expose: bool = True,
        lazy: bool = False,
    ) -> None:
        path = Path(model_path)
        try:
            # Weights stay on disk: shape inference needs only their dims and types.
            proto = onnx.load(str(path), load_external_data=False)
        except FileNotFoundError:
            raise RunError(f"{path}: no such file") from None
        except Exception as e:  # noqa: BLE001 - a corrupt protobuf must not be a traceback
            raise RunError(f"{path.name}: not a readable ONNX model ({type(e).__name__})") from None
        _inline_small_external(proto, path.resolve().parent)
        # expose=False runs the file as is (a Keras probe already outputs every layer).
        try:
            probe, skipped = expose_all_values(proto) if expose else (proto, [])
        except RecursionError:
            raise RunError(f"{path.name}: the model is nested too deeply to run") from None
        except (UnicodeError, ValueError, TypeError, AttributeError) as e:
            # Corrupt protobufs can parse and still hold fields python cannot decode.
            raise RunError(f"{path.name}: the model cannot be prepared for a run "
                           f"({type(e).__name__}: {e})") from None
        self.skipped: dict[str, str] = dict(s.split(": ", 1) for s in skipped)
        self.path = path
        self._threads = threads
        self._external = _has_external_data(probe)
        self._blocked: dict[str, BlockedValue] = {}
        self._padded: dict[str, PaddedValue] = {}
        self.layout = "plain"
        session = None
        if expose and lazy and not self._external:
            session = self._fast_session(probe, proto)
        if session is None:
            self._blocked, self._padded = {}, {}
            self.layout = "plain"
            session = self._make_session(_serialize(probe, path), optimize=True)
        self._session = session
        self._batch = BatchUnblocker(self._blocked) if self._blocked else None

        self.input_names: list[str] = [i.name for i in session.get_inputs()]
        self.output_names: list[str] = [o.name for o in proto.graph.output]
        self._fetch: list[str] = [o.name for o in session.get_outputs()]
        self._input_meta = {i.name: i for i in session.get_inputs()}
        order = {name: k for k, name in enumerate(_node_output_order(probe.graph.node))}
        logical = [o.name for o in probe.graph.output]
        body = sorted(logical, key=lambda n: order.get(n, len(order)))
        self.value_names: list[str] = self.input_names + [
            n for n in body if n not in self._input_meta
        ]

    def _options(self, optimize: bool, save_to: str | None = None) -> object:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if self._threads is not None:
            opts.intra_op_num_threads = int(self._threads)
            opts.inter_op_num_threads = 1
        # FATAL only: a failed kernel logs its error to stderr (fd 2) beside the RunError we
        # raise, breaking the CLI's one-line contract.
        opts.log_severity_level = 4
        # Spinning worker threads steal the GUI's core and, on a shared 2-core machine, made
        # runs slower (bench_activations: MobileNetV2 probe median 107 -> 53 ms).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if not optimize:  # an already optimised graph with onnxruntime's own NCHWc ops
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        if save_to is not None:
            opts.optimized_model_filepath = save_to
        if self._external:
            # Loaded from bytes, onnxruntime resolves external data relative to this folder.
            opts.add_session_config_entry(
                "session.model_external_initializers_file_folder_path",
                str(self.path.resolve().parent),
            )
        return opts

    def _make_session(self, data: bytes, *, optimize: bool, save_to: str | None = None) -> object:
        import onnxruntime as ort

        try:
            return ort.InferenceSession(
                data, sess_options=self._options(optimize, save_to),
                providers=["CPUExecutionProvider"],
            )
        except Exception as e:  # noqa: BLE001 - ORT raises many types; the user gets one line
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise RunError(f"{self.path.name}: onnxruntime cannot run this model ({msg})") from None

    def _fast_session(self, probe: onnx.ModelProto, proto: onnx.ModelProto) -> object | None:
        """The probe without NCHWc reorders and with Pads left to numpy, or None to fall back."""
        import tempfile

        if probe.ByteSize() > _FAST_PATH_MAX_BYTES:
            return None  # the optimised copy would be written to disk: not for huge models
        final = {o.name for o in proto.graph.output}
        available = {i.name for i in probe.graph.input} | {o.name for o in probe.graph.output}
        padded = {
            k: v for k, v in derivable_pads(probe.graph, available).items() if k not in final
        }
        trimmed = onnx.ModelProto()
        trimmed.CopyFrom(probe)
        outs = [o for o in trimmed.graph.output if o.name not in padded]
        del trimmed.graph.output[:]
        trimmed.graph.output.extend(outs)
        try:
            with tempfile.TemporaryDirectory(prefix="mi-probe-") as tmp:
                saved = str(Path(tmp) / "optimized.onnx")
                first = self._make_session(trimmed.SerializeToString(), optimize=True, save_to=saved)
                block = nchwc_block_size()
                rewritten = (
                    rewrite_blocked(onnx.load(saved), block) if block is not None else None
                )
            if rewritten is None:
                self._padded = padded
                self.layout = "pads" if padded else "plain"
                return first
            model, blocked = rewritten
            # Two sessions' weights plus the optimised proto at once: ResNet50 peaked near 1 GB.
            del first
            data = model.SerializeToString()
            del model, rewritten
            session = self._make_session(data, optimize=False)
        except Exception:  # noqa: BLE001 - any surprise in onnxruntime's own graph: plain path
            return None
        self._padded, self._blocked = padded, blocked
        self.layout = "blocked"
        return session

    def run(self, feeds: dict[str, np.ndarray], task: Task = NO_TASK) -> CapturedValues:
        """Run once; return {value name: array} for the inputs and every exposed tensor.

        Values are converted to plain NCHW arrays when first read (see CapturedValues).
        Sequences, maps and optionals are left out; `run_all` returns them too.
        """
        return self.run_all(feeds, task)[0]

    def run_all(
        self, feeds: dict[str, np.ndarray], task: Task = NO_TASK
    ) -> tuple[CapturedValues, dict[str, StructuredValue]]:
        """Run once; return (every tensor value, every sequence/map/optional value)."""
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
        run_opts.log_severity_level = 4
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
        raw, structured = split_values(dict(zip(self._fetch, arrays, strict=True)))
        raw.update((n, np.asarray(feeds[n])) for n in self.input_names)
        task.report(1.0, "done")
        names = [n for n in self.value_names if n not in structured]
        captured = CapturedValues(names, raw, self._blocked, self._padded, self._batch)
        return captured, structured


def _inline_small_external(proto: onnx.ModelProto, folder: Path) -> None:
    """Read small integer tensors kept in external files (pads, shapes, axes) into the proto.

    onnxruntime's shape inference needs their values and, given the model as bytes, cannot
    read external files for them ("Cannot parse data from external tensors"). Only files
    inside the model's folder are read; large weights stay on disk.
    """
    from onnx.external_data_helper import load_external_data_for_tensor

    root = folder.resolve()
    for init in proto.graph.initializer:
        if init.data_location != TensorProto.EXTERNAL or init.data_type not in _SHAPE_TYPES:
            continue
        info = {e.key: e.value for e in init.external_data}
        target = (root / info.get("location", "")).resolve()
        try:
            small = 0 <= int(info.get("length", "-1")) <= _INLINE_MAX_BYTES
        except ValueError:
            small = False
        if small and target.is_relative_to(root) and target.is_file():
            try:
                load_external_data_for_tensor(init, str(root))
            except Exception:  # noqa: BLE001 - left external; onnxruntime will say why
                continue
            init.data_location = TensorProto.DEFAULT
            del init.external_data[:]


def _serialize(probe: onnx.ModelProto, path: Path) -> bytes:
    try:
        return probe.SerializeToString()
    except ValueError:
        raise RunError(f"{path.name}: model graph over 2 GB cannot be probed") from None


def _node_output_order(nodes: Iterable[onnx.NodeProto]) -> list[str]:
    return [o for n in nodes for o in n.output if o]


def _watch_cancel(task: Task, run_opts: object, stop: threading.Event) -> None:
    """Poll the task's cancel check while onnxruntime runs; ask ORT to stop when set."""
    while not stop.wait(0.05):
        if task.cancelled is not None and task.cancelled():
            run_opts.terminate = True  # type: ignore[attr-defined]
            return


__all__ = ["CapturedValues", "ProbeSession", "expose_all_values"]
