"""The ONNX loader: a `.onnx` ModelProto (with external data) -> the graph IR.

Registers itself with the loader registry on import. Weights stay in the parsed protobuf or in
their external files until viewed; external locations must resolve inside the model's folder.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import onnx
from google.protobuf.message import DecodeError
from onnx import GraphProto, ModelProto

from inspector.ir import Model
from inspector.ir.model import count_parameters
from inspector.loaders.onnx_graph import GraphBuilder, as_text
from inspector.loaders.onnx_tensors import ExternalData
from inspector.loaders.registry import LoaderSpec, ModelLoadError, register
from inspector.progress import Task

# Protobuf refuses messages of 2 GB or more; models that large keep weights in external files.
PROTOBUF_LIMIT = 2**31 - 1
# Shape inference copies the model through C++; past this size it is skipped with a warning.
INFERENCE_LIMIT = 1 << 30
# Initializers with more raw bytes than this are passed to shape inference as type-only stubs.
_STUB_BYTES = 4096
_MAX_IR_VERSION = 64

# ModelProto fields (onnx.proto3): number -> wire type (0 varint, 2 length-delimited).
_MODEL_FIELDS = {1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2, 26: 2}


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while i < len(buf) and shift < 64:
        b = buf[i]
        value |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            return value, i
        shift += 7
    raise ValueError("truncated varint")


def sniff(head: bytes, path: Path | None = None) -> bool:
    """True when the first bytes parse as ModelProto fields including a plausible ir_version."""
    if not head or head[0] not in (0x08, 0x12, 0x1A, 0x22, 0x3A, 0x42):
        return False
    i, seen = 0, set()
    ir_ok = False
    while i < len(head):
        try:
            tag, i = _varint(head, i)
        except ValueError:
            break
        field, wire = tag >> 3, tag & 7
        if _MODEL_FIELDS.get(field) != wire:
            return False
        seen.add(field)
        try:
            if wire == 0:
                value, i = _varint(head, i)
                if field == 1:
                    ir_ok = 1 <= value <= _MAX_IR_VERSION
            else:
                length, i = _varint(head, i)
                i += length  # a field running past the head is fine: the head is only 4 KB
        except ValueError:
            break
    # ir_version plus one more field (producer, opset, graph): a lone varint proves nothing.
    return (ir_ok and len(seen) >= 2) or (7 in seen and bool(seen & {2, 8}))


def _fail(path: Path, message: str) -> ModelLoadError:
    return ModelLoadError(f"{path.name}: {message}")


def _read_proto(path: Path) -> ModelProto:
    try:
        size = path.stat().st_size
    except OSError as e:
        raise _fail(path, f"cannot be read ({e.strerror or e})") from None
    if size > PROTOBUF_LIMIT:
        raise _fail(
            path,
            f"is {size / 2**30:.1f} GB, over protobuf's 2 GB limit; "
            "large ONNX models must keep their weights as external data",
        )
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except DecodeError as e:
        if "recurs" in str(e).lower() or "depth" in str(e).lower():
            raise _fail(path, "the ONNX protobuf is nested too deeply to read") from None
        raise _fail(path, "not an ONNX model (the protobuf is truncated or corrupt)") from None
    except RecursionError:
        raise _fail(path, "the ONNX protobuf is nested too deeply to read") from None
    except MemoryError:
        raise _fail(path, "not enough memory to read the ONNX protobuf") from None
    except OSError as e:
        raise _fail(path, f"cannot be read ({e.strerror or e})") from None
    except Exception as e:  # noqa: BLE001 - onnx raises assorted errors for odd bytes
        raise _fail(path, f"not an ONNX model ({type(e).__name__}: {e})") from None
    # Random bytes can decode as a near-empty ModelProto; a real model has all three.
    if not proto.ir_version or not proto.HasField("graph") or proto.ir_version > _MAX_IR_VERSION:
        raise _fail(path, "not an ONNX model (no IR version or graph in the protobuf)")
    g = proto.graph
    if not g.node and not g.input and not g.output:
        raise _fail(path, "not an ONNX model (its graph is empty)")
    return proto


def _inference_copy(proto: ModelProto) -> ModelProto:
    """The model with large initializers replaced by type-only stubs, for shape inference.

    Inference only needs initializer types, plus the values of small ones (shape constants
    for data propagation); marking big ones external keeps it from copying every weight.
    When no initializer is big the model itself is returned: inference serializes its input
    anyway, and copying 100k nodes first cost ~0.2 s.
    """
    if not any(tp.data_location != onnx.TensorProto.EXTERNAL and tp.ByteSize() > _STUB_BYTES
               for tp in proto.graph.initializer):
        return proto
    m = ModelProto()
    m.ir_version = proto.ir_version
    m.opset_import.extend(proto.opset_import)
    m.functions.extend(proto.functions)
    g, src = m.graph, proto.graph
    g.name = src.name
    g.node.extend(src.node)
    g.input.extend(src.input)
    g.output.extend(src.output)
    g.value_info.extend(src.value_info)
    g.sparse_initializer.extend(src.sparse_initializer)
    for tp in src.initializer:
        if tp.data_location == onnx.TensorProto.EXTERNAL or tp.ByteSize() <= _STUB_BYTES:
            g.initializer.append(tp)
            continue
        stub = g.initializer.add()
        stub.name = tp.name
        stub.data_type = tp.data_type
        stub.dims.extend(tp.dims)
        stub.data_location = onnx.TensorProto.EXTERNAL
        entry = stub.external_data.add()
        entry.key, entry.value = "location", "__not_read__"
    return m


# Sentinels exporters write for "to the end" (Slice ends) or "no limit"; other integer
# constants this large are a corrupt file. onnx's data propagation walks such values
# element by element (a Reshape target of 2**40 + 1 took minutes and gigabytes).
_INT_SENTINELS = frozenset({2**63 - 1, -(2**63), 2**31 - 1, -(2**31), 2**63 - 2**10})
_SMALL_CONSTANT = 64


def _absurd_shape_constant(proto: ModelProto) -> bool:
    """True when a small int32/int64 constant or initializer of the main graph holds a value
    over 2**31 that is not a sentinel."""
    from onnx import numpy_helper

    ints = (onnx.TensorProto.INT64, onnx.TensorProto.INT32)
    tensors = [t for t in proto.graph.initializer
               if t.data_type in ints and t.data_location != onnx.TensorProto.EXTERNAL]
    for n in proto.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value" and a.t.data_type in ints:
                    tensors.append(a.t)
                elif a.name == "value_ints" and any(
                        abs(v) >= 2**31 and v not in _INT_SENTINELS for v in a.ints):
                    return True
    for t in tensors:
        count = 1
        for d in t.dims:
            count *= max(int(d), 0)
        if count > _SMALL_CONSTANT:
            continue
        try:
            values = numpy_helper.to_array(t).reshape(-1).tolist()
        except Exception:  # noqa: BLE001 - an undecodable constant: inference will say so
            continue
        if any(abs(int(v)) >= 2**31 and int(v) not in _INT_SENTINELS for v in values):
            return True
    return False


def _infer(proto: ModelProto, warnings: list[str]) -> GraphProto | None:
    """The shape-inferred main graph, or None (with a warning) when inference fails."""
    known = {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.preview.training", "ai.onnx.preview"}
    local = {f.domain for f in proto.functions}
    custom = {o.domain for o in proto.opset_import} - known - local
    try:
        copy = _inference_copy(proto)
        if copy.ByteSize() > INFERENCE_LIMIT:
            warnings.append("Shapes were not inferred: the graph is too large for shape inference.")
            return None
        data_prop = not _absurd_shape_constant(proto)
        if not data_prop:
            warnings.append("A shape constant holds an absurd value (over 2**31); shapes were "
                            "inferred without propagating values.")
        inferred = onnx.shape_inference.infer_shapes(copy, strict_mode=False, data_prop=data_prop)
        return inferred.graph
    except Exception as e:  # noqa: BLE001 - inference is best effort; the graph still opens
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        extra = f" (custom domains: {', '.join(sorted(custom))})" if custom else ""
        warnings.append(f"Shape inference failed, some shapes are unknown{extra}: {first}")
        return None


def load(path: Path, task: Task) -> Model:
    """Open an ONNX file as a Model; ModelLoadError with one clear sentence on bad input."""
    path = Path(path)
    task.report(0.0, "Reading ONNX protobuf")
    proto = _read_proto(path)
    task.report(0.15, "Inferring shapes")
    warnings: list[str] = []
    if proto.ir_version > onnx.IR_VERSION:
        warnings.append(
            f"The file uses ONNX IR v{proto.ir_version}, newer than this onnx library "
            f"(v{onnx.IR_VERSION}); some details may be missing."
        )
    opsets = {as_text(o.domain) or "ai.onnx": int(o.version) for o in proto.opset_import}
    schema_opsets = {("" if d == "ai.onnx" else d): v for d, v in opsets.items()}
    newest = onnx.defs.onnx_opset_version()
    if opsets.get("ai.onnx", 0) > newest:
        warnings.append(
            f"The model uses opset {opsets['ai.onnx']}, newer than this onnx library knows ({newest})."
        )
    typed = _infer(proto, warnings)
    task.report(0.3, "Reading nodes")

    ext = ExternalData(path)
    total = len(proto.graph.node) + sum(len(f.node) for f in proto.functions)
    builder = GraphBuilder(ext, task, total)
    # Building allocates millions of small objects and frees none: generational GC passes
    # over them only cost time (about 30% on a 100k-node graph), so pause it meanwhile.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        functions = builder.build_functions(list(proto.functions), schema_opsets)
        graph = builder.graph(proto.graph, schema_opsets, typed)
    finally:
        if gc_was_enabled:
            gc.enable()
    del typed

    sources = count_parameters(graph)
    parameters = sum(v for k, v in sources.items() if k != "subgraphs")
    producer = f"{as_text(proto.producer_name)} {as_text(proto.producer_version)}".strip()
    task.report(1.0, "Opened")
    return Model(
        format="onnx",
        path=os.fspath(path),
        graph=graph,
        producer=producer,
        format_version=f"ONNX IR v{proto.ir_version}",
        opsets=opsets,
        metadata={as_text(p.key): as_text(p.value) for p in proto.metadata_props},
        doc=as_text(proto.doc_string),
        functions=tuple(functions),
        parameters=parameters,
        parameter_sources=sources,
        warnings=tuple(warnings),
    )


SPEC = register(LoaderSpec(name="ONNX", extensions=(".onnx",), sniff=sniff, load=load, priority=10))
