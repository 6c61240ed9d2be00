"""Weight differences between matched nodes, quantized weights dequantized first."""

from __future__ import annotations

import numpy as np

from inspector.compare.matching import Matching
from inspector.compare.metrics import ValueDiff, align, dequantize, value_diff
from inspector.ir import Graph, Model, Node

# onnxruntime.quantization names a quantized weight W as W_quantized, W_scale, W_zero_point.
_Q_SUFFIX = "_quantized"


def _float_weights(node: Node) -> list[tuple[str, np.ndarray]]:
    out = []
    for w in node.weights:
        if w.tensor.dtype.startswith("float") and w.tensor.size >= 1:
            out.append((w.tensor.name, w.tensor.numpy()))
    return out


def _init(graph: Graph, name: str) -> np.ndarray | None:
    t = graph.initializers.get(name)
    return None if t is None else t.numpy()


def _candidates(graph: Graph, node: Node) -> list[tuple[str, np.ndarray]]:
    """A node's weights as floats: plain, behind a DequantizeLinear, or ORT's `_quantized`."""
    if node.op_type == "DequantizeLinear":
        names = node.input_names or node.inputs
        if names and names[0] in graph.initializers:
            x = graph.initializers[names[0]].numpy()
            scale = _init(graph, names[1]) if len(names) > 1 else None
            zp = _init(graph, names[2]) if len(names) > 2 and names[2] else None
            if scale is not None:
                return [(names[0], dequantize(x, scale, zp, node.attr("axis", 1)))]
        return []
    out = _float_weights(node)
    for w in node.weights:
        base = w.tensor.name
        if w.tensor.dtype in ("int8", "uint8") and base.endswith(_Q_SUFFIX):
            stem = base[: -len(_Q_SUFFIX)]
            scale = _init(graph, stem + "_scale")
            if scale is not None:
                zp = _init(graph, stem + "_zero_point")
                axis = 0 if node.op_type == "ConvInteger" else 1
                out.append((base, dequantize(w.tensor.numpy(), scale, zp, axis)))
    return out


def _layouts(w: np.ndarray) -> list[np.ndarray]:
    # Keras kernels are (kh, kw, in, out), ONNX Conv (out, in, kh, kw); Gemm may transpose B.
    out = [w]
    if w.ndim == 4:
        out.append(np.transpose(w, (3, 2, 0, 1)))
        out.append(np.transpose(w, (2, 3, 0, 1)))  # depthwise (kh, kw, in, mult)
    if w.ndim == 2:
        out.append(w.T)
    return out


def weight_diffs(a: Model, b: Model, matching: Matching) -> list[ValueDiff]:
    """One ValueDiff per weight of a matched A node that has a same-shaped partner in B."""
    b_glue_of: dict[str, list[str]] = {}
    for g, owner in matching.absorbed_b.items():
        b_glue_of.setdefault(owner, []).append(g)
    out: list[ValueDiff] = []
    done: set[str] = set()
    for na in a.graph.nodes:
        b_nodes = matching.a_to_b.get(na.name)
        if not b_nodes or not na.weights:
            continue
        cands: list[tuple[str, np.ndarray]] = []
        for bn in b_nodes:
            for name in [bn, *b_glue_of.get(bn, [])]:
                cands += _candidates(b.graph, b.graph.node(name))
        used: set[str] = set()
        for wname, wa in sorted(_float_weights(na), key=lambda kv: -kv[1].size):
            if wname in done:
                continue
            for bname, wb in cands:
                if bname in used:
                    continue
                hit = next((lay for lay in _layouts(wa) if lay.shape == wb.shape or
                            align(lay, wb) is not None and lay.shape == wb.shape), None)
                if hit is None:
                    continue
                d = value_diff(wname, bname, hit, wb)
                if d is not None:
                    out.append(d)
                    used.add(bname)
                    done.add(wname)
                    break
    return out
