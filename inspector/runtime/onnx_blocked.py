"""Capture every value without paying for onnxruntime's NCHWc reorders.

On x86 onnxruntime runs 2-D convolutions in a blocked layout (NCHWc: channels in blocks of 8
or 16) and adds a `ReorderOutput` (blocked -> NCHW) for every value that is a graph output,
plus `ReorderInput` when a plain op (opset-11+ Clip) sits between two blocked convolutions.
With every node output exposed those reorders cost as much as the model's own arithmetic
(MobileNetV2: 79 ReorderOutput + 34 ReorderInput, about 9 of 31 ms). Here we take the graph
onnxruntime itself optimised, expose the blocked tensors instead, run element-wise ops on the
blocked layout, and turn a value back into NCHW only when someone reads it (`CapturedValues`).
The numbers are the same bits: the kernels that compute them are unchanged.

Constant `Pad` outputs are left out of the probe and recomputed with numpy (exact: a copy plus
a constant), so onnxruntime can fuse the Pad into the next Conv as in a plain run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import onnx
from onnx import helper, numpy_helper

NCHWC = "com.microsoft.nchwc"
# Standard ops that map each element on its own (extra inputs, if any, are scalars), so they
# give the same bits on a blocked tensor as on NCHW.
_ELEMENTWISE = frozenset(
    {"Clip", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Elu", "Selu", "HardSigmoid",
     "Softplus", "Abs", "Neg", "Identity"}
)


@lru_cache(maxsize=1)
def nchwc_block_size() -> int | None:
    """onnxruntime's NCHWc block (8 with AVX2, 16 with AVX-512), or None where it has none.

    Asked of onnxruntime itself: reordering a 4-channel tensor pads it to one block.
    """
    import onnxruntime as ort

    node = helper.make_node("ReorderInput", ["x"], ["y"], domain=NCHWC)
    graph = helper.make_graph(
        [node], "block", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4, 1, 1])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(NCHWC, 1)]
    )
    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    try:
        sess = ort.InferenceSession(
            model.SerializeToString(), opts, providers=["CPUExecutionProvider"]
        )
        (y,) = sess.run(None, {"x": np.zeros((1, 4, 1, 1), np.float32)})
    except Exception:  # noqa: BLE001 - a build without NCHWc kernels: no fast path
        return None
    block = int(y.shape[1])
    return block if block >= 4 and block % 4 == 0 else None


@dataclass(frozen=True)
class BlockedValue:
    """A value held in NCHWc layout: the fetched tensor's name and the true channel count."""

    source: str
    channels: int
    block: int


def unblock(raw: np.ndarray, channels: int, block: int, *, use_ort: bool = True) -> np.ndarray:
    """NCHWc tensor (shape N, C rounded up to `block`, H, W) -> contiguous NCHW array."""
    if raw.ndim != 4 or raw.shape[1] % block or raw.shape[1] < channels:
        raise ValueError(f"not an NCHWc tensor of {channels} channels: shape {raw.shape}")
    if use_ort and raw.dtype == np.float32:
        sess = _reorder_session(channels)
        if sess is not None:
            # onnxruntime's own ReorderOutput kernel: 3-4x faster than the numpy copy below.
            return sess.run(None, {"x": raw})[0]
    n, cp, h, w = raw.shape
    out = np.empty((n, cp // block, block, h * w), raw.dtype)
    # Memory is (N, C/block, H, W, block); one strided copy puts each channel's plane together.
    np.copyto(out, raw.reshape(n, cp // block, h * w, block).transpose(0, 1, 3, 2))
    full = out.reshape(n, cp, h, w)
    return full if cp == channels else np.ascontiguousarray(full[:, :channels])


@lru_cache(maxsize=64)
def _reorder_session(channels: int) -> object | None:
    """A one-node onnxruntime session turning NCHWc float tensors of `channels` into NCHW."""
    import onnxruntime as ort

    node = helper.make_node(
        "ReorderOutput", ["x"], ["y"], domain=NCHWC, channels=channels, channels_last=0
    )
    graph = helper.make_graph(
        [node], "unblock",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", "c", "h", "w"])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(NCHWC, 1)]
    )
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 4
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(
            model.SerializeToString(), opts, providers=["CPUExecutionProvider"]
        )
    except Exception:  # noqa: BLE001 - no NCHWc kernels: numpy does it
        return None


class BatchUnblocker:
    """One onnxruntime session that turns every blocked value of a probe into NCHW at once
    (one call instead of one per value; MobileNetV2's 114 values: 17 -> 15 ms). Still
    slower than reordering inside the probe run, where each value is still in cache."""

    def __init__(self, blocked: Mapping[str, BlockedValue]) -> None:
        self._blocked = dict(blocked)
        self._session: object | None = None
        self._lock = threading.Lock()

    def _build(self) -> object:
        import onnxruntime as ort

        sources = sorted({b.source for b in self._blocked.values()})
        nodes = [
            helper.make_node("ReorderOutput", [b.source], [name], domain=NCHWC,
                             channels=b.channels, channels_last=0)
            for name, b in self._blocked.items()
        ]
        graph = helper.make_graph(
            nodes, "unblock_all",
            [helper.make_tensor_value_info(s, onnx.TensorProto.FLOAT, None) for s in sources],
            [helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in self._blocked],
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(NCHWC, 1)]
        )
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 4
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(
            model.SerializeToString(), opts, providers=["CPUExecutionProvider"]
        )

    def __call__(self, raw: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """{value name: NCHW array} for every blocked value, from the fetched tensors."""
        with self._lock:
            if self._session is None:
                self._session = self._build()
        sess = self._session
        feeds = {i.name: raw[i.name] for i in sess.get_inputs()}  # type: ignore[attr-defined]
        names = list(self._blocked)
        return dict(zip(names, sess.run(names, feeds), strict=True))  # type: ignore[attr-defined]


def _attr(node: onnx.NodeProto, name: str, default: object = None) -> object:
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _is(node: onnx.NodeProto | None, op: str) -> bool:
    return node is not None and node.domain == NCHWC and node.op_type == op


def _scalar_inits(node: onnx.NodeProto, inits: Mapping[str, onnx.TensorProto]) -> bool:
    return all(
        not name or (name in inits and len(inits[name].dims) == 0) for name in node.input[1:]
    )


def rewrite_blocked(
    opt: onnx.ModelProto, block: int
) -> tuple[onnx.ModelProto, dict[str, BlockedValue]] | None:
    """Rewrite onnxruntime's optimised probe: element-wise ops run on blocked tensors and
    graph outputs stay blocked.

    Returns (model, {exposed value name: BlockedValue}), or None when there is nothing to
    gain. `opt` is modified in place.
    """
    graph = opt.graph
    inits = {i.name: i for i in graph.initializer}

    def full_blocks(n: onnx.NodeProto) -> bool:
        return _attr(n, "channels_last", 0) == 0 and int(_attr(n, "channels", 0)) % block == 0

    nodes = _elementwise_on_blocked(list(graph.node), inits, full_blocks)
    producer = {o: n for n in nodes for o in n.output}
    nodes = _skip_reorder_round_trips(nodes, producer, full_blocks)
    blocked, outputs = _fetch_outputs_blocked(graph, producer, block)
    if not blocked:
        return None
    live = _live_nodes(nodes, {o.name for o in outputs})
    del graph.node[:]
    graph.node.extend(live)
    del graph.output[:]
    graph.output.extend(outputs)
    del graph.value_info[:]  # stale for renamed values; nothing after this needs them
    return opt, blocked


def _elementwise_on_blocked(
    nodes: list[onnx.NodeProto], inits: Mapping[str, onnx.TensorProto],
    full_blocks: Callable[[onnx.NodeProto], bool],
) -> list[onnx.NodeProto]:
    """Run element-wise ops on the blocked tensor and reorder their output instead. Only for
    channel counts that fill whole blocks, so there are no padding lanes to worry about."""
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for n in nodes:
        for name in n.input:
            consumers.setdefault(name, []).append(n)
    pending: list[tuple[onnx.NodeProto, onnx.NodeProto]] = []
    for n in nodes:
        if not (_is(n, "ReorderOutput") and full_blocks(n)):
            continue
        for e in consumers.get(n.output[0], []):
            if (e.domain in ("", "ai.onnx") and e.op_type in _ELEMENTWISE and len(e.output) == 1
                    and e.input[0] == n.output[0] and _scalar_inits(e, inits)):
                plain_out = e.output[0]
                e.input[0] = n.input[0]
                e.output[0] = f"{plain_out}__nchwc"
                reorder = helper.make_node(
                    "ReorderOutput", [e.output[0]], [plain_out], domain=NCHWC,
                    channels=int(_attr(n, "channels")), channels_last=0,
                )
                pending.append((e, reorder))
    return _insert_after(nodes, pending)


def _skip_reorder_round_trips(
    nodes: list[onnx.NodeProto], producer: Mapping[str, onnx.NodeProto],
    full_blocks: Callable[[onnx.NodeProto], bool],
) -> list[onnx.NodeProto]:
    """ReorderOutput then ReorderInput is the identity on full blocks: use the blocked tensor."""
    rename: dict[str, str] = {}
    dropped: set[int] = set()
    for n in nodes:
        if _is(n, "ReorderInput") and _attr(n, "channels_last", 0) == 0:
            p = producer.get(n.input[0])
            if _is(p, "ReorderOutput") and full_blocks(p):  # type: ignore[arg-type]
                rename[n.output[0]] = p.input[0]  # type: ignore[union-attr]
                dropped.add(id(n))
    nodes = [n for n in nodes if id(n) not in dropped]
    for n in nodes:
        for i, name in enumerate(n.input):
            if name in rename:
                n.input[i] = rename[name]
    return nodes


def _fetch_outputs_blocked(
    graph: onnx.GraphProto, producer: Mapping[str, onnx.NodeProto], block: int,
) -> tuple[dict[str, BlockedValue], list[onnx.ValueInfoProto]]:
    """Graph outputs fetched in blocked form; the reorder happens later, on demand, in numpy.
    ({exposed name: BlockedValue}, the new graph outputs)."""
    blocked: dict[str, BlockedValue] = {}
    outputs: list[onnx.ValueInfoProto] = []
    fetched: set[str] = set()
    for vi in graph.output:
        p = producer.get(vi.name)
        if _is(p, "ReorderOutput") and _attr(p, "channels_last", 0) == 0:  # type: ignore[arg-type]
            src = p.input[0]  # type: ignore[union-attr]
            blocked[vi.name] = BlockedValue(src, int(_attr(p, "channels")), block)  # type: ignore[arg-type]
            if src not in fetched:
                outputs.append(helper.make_tensor_value_info(src, vi.type.tensor_type.elem_type, None))
                fetched.add(src)
        elif vi.name not in fetched:
            outputs.append(vi)
            fetched.add(vi.name)
    return blocked, outputs


def _live_nodes(nodes: list[onnx.NodeProto], needed: set[str]) -> list[onnx.NodeProto]:
    """The nodes that compute `needed` (nodes are in topological order: drop what nothing reads)."""
    needed = set(needed)
    live: list[onnx.NodeProto] = []
    for n in reversed(nodes):
        if any(o in needed for o in n.output):
            live.append(n)
            needed.update(i for i in n.input if i)
    live.reverse()
    return live


def _insert_after(
    nodes: list[onnx.NodeProto], pairs: list[tuple[onnx.NodeProto, onnx.NodeProto]]
) -> list[onnx.NodeProto]:
    after: dict[int, list[onnx.NodeProto]] = {}
    for node, new in pairs:
        after.setdefault(id(node), []).append(new)
    out: list[onnx.NodeProto] = []
    for n in nodes:
        out.append(n)
        out.extend(after.get(id(n), []))
    return out


@dataclass(frozen=True)
class PaddedValue:
    """A constant-mode Pad output, recomputed from its input: (before, after) per axis."""

    source: str
    widths: tuple[tuple[int, int], ...]
    constant: float


def _pad_spec(node: onnx.NodeProto, inits: Mapping[str, onnx.TensorProto]) -> PaddedValue | None:
    if node.domain not in ("", "ai.onnx") or node.op_type != "Pad" or len(node.output) != 1:
        return None
    mode = _attr(node, "mode", b"constant")
    if (mode.decode() if isinstance(mode, bytes) else mode) != "constant":
        return None
    inputs = list(node.input) + [""] * (4 - len(node.input))
    if inputs[3]:  # axes: rare, and not worth the extra bookkeeping
        return None
    if _attr(node, "pads") is not None:  # opset < 11 kept pads and value as attributes
        pads = [int(p) for p in _attr(node, "pads")]  # type: ignore[union-attr]
        constant = float(_attr(node, "value", 0.0))  # type: ignore[arg-type]
    else:
        if inputs[1] not in inits:
            return None
        pads = [int(p) for p in numpy_helper.to_array(inits[inputs[1]]).ravel()]
        constant = 0.0
        if inputs[2]:
            if inputs[2] not in inits:
                return None
            cv = numpy_helper.to_array(inits[inputs[2]]).ravel()
            if cv.size != 1:
                return None
            constant = cv[0].item()
    if not pads or len(pads) % 2 or min(pads) < 0:  # negative pads crop: leave to onnxruntime
        return None
    rank = len(pads) // 2
    widths = tuple((pads[i], pads[i + rank]) for i in range(rank))
    return PaddedValue(node.input[0], widths, constant)


def derivable_pads(graph: onnx.GraphProto, available: set[str]) -> dict[str, PaddedValue]:
    """Pad outputs numpy can recompute from values in `available` (or recomputed themselves)."""
    inits = {i.name: i for i in graph.initializer}
    found: dict[str, PaddedValue] = {}
    for node in graph.node:
        spec = _pad_spec(node, inits)
        if spec is not None and (spec.source in available or spec.source in found):
            found[node.output[0]] = spec
    return found


class CapturedValues(Mapping[str, np.ndarray]):
    """Every value of one run, each turned into a plain NCHW array the first time it is read.

    Reading is thread-safe; a value is computed once and the blocked tensor behind it is
    released once every value that needs it has been read.
    """

    def __init__(
        self,
        names: list[str],
        raw: dict[str, np.ndarray],
        blocked: Mapping[str, BlockedValue],
        padded: Mapping[str, PaddedValue],
        batch: BatchUnblocker | None = None,
    ) -> None:
        self._names = names
        self._name_set = set(names)
        self._raw = raw
        self._blocked = blocked
        self._padded = padded
        self._batch = batch
        self._done: dict[str, np.ndarray] = {}
        self._lock = threading.RLock()
        self._uses: dict[str, int] = {}
        for b in blocked.values():
            self._uses[b.source] = self._uses.get(b.source, 0) + 1

    def __getitem__(self, key: str) -> np.ndarray:
        got = self._done.get(key)
        if got is not None:
            return got
        with self._lock:
            got = self._done.get(key)
            if got is None:
                got = self._compute(key)
                self._done[key] = got
            return got

    def _compute(self, key: str) -> np.ndarray:
        b = self._blocked.get(key)
        if b is not None:
            arr = unblock(self._raw[b.source], b.channels, b.block)
            self._uses[b.source] -= 1
            if self._uses[b.source] == 0 and b.source not in self._name_set:
                del self._raw[b.source]
            return arr
        p = self._padded.get(key)
        if p is not None:
            src = self[p.source]
            if src.ndim != len(p.widths):
                raise ValueError(f"{key}: pads for rank {len(p.widths)}, input has {src.ndim}")
            return np.pad(src, p.widths, constant_values=np.asarray(p.constant, src.dtype))
        if key in self._raw and key in self._name_set:
            return self._raw[key]
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, key: object) -> bool:
        return key in self._done or key in self._blocked or key in self._padded or (
            key in self._raw and key in self._name_set
        )

    def materialize(self) -> dict[str, np.ndarray]:
        """All values as a plain dict (reads every value now)."""
        with self._lock:
            todo = [k for k in self._blocked if k not in self._done]
            if self._batch is not None and len(todo) > 1:
                try:
                    arrays = self._batch(self._raw)
                except Exception:  # noqa: BLE001 - one value at a time still works
                    arrays = {}
                for k in todo:
                    if k in arrays:
                        self._done[k] = arrays[k]
                if arrays:
                    for src in {self._blocked[k].source for k in todo}:
                        if src not in self._name_set:
                            self._raw.pop(src, None)
                    self._uses.clear()
        return {k: self[k] for k in self._names}


__all__ = [
    "BlockedValue", "CapturedValues", "PaddedValue", "derivable_pads", "nchwc_block_size",
    "rewrite_blocked", "unblock",
]
