"""Exact VJPs of pure data-movement ops by tracing where each output element comes from.

Nearest-neighbour Resize, Upsample, DepthToSpace and SpaceToDepth copy input elements to
output positions. Running the op itself in onnxruntime on an input whose elements are their
own flat indices gives that map exactly (whatever the coordinate-transformation mode), and
the VJP is then a scatter-add of the output gradient onto those indices.
"""

from __future__ import annotations

import numpy as np

from inspector.autodiff.rules.registry import Grad, NotDifferentiable, OpCtx

# float32 holds every integer exactly up to 2**24: beyond that the index trace is ambiguous.
_MAX_EXACT = 2**24


def _mode(ctx: OpCtx) -> str:
    mode = ctx.attr("mode", "nearest")
    return mode.decode() if isinstance(mode, bytes) else str(mode)


def index_map_vjp(ctx: OpCtx, g: np.ndarray) -> list[Grad]:
    """Gradient of the data input (and None for the rest) of a copying op."""
    x = ctx.x[0]
    if ctx.op_type in ("Resize", "Upsample") and _mode(ctx) != "nearest":
        raise NotDifferentiable(f"{ctx.op_type} mode '{_mode(ctx)}' has no gradient rule")
    if ctx.node is None:
        raise NotDifferentiable(f"{ctx.op_type}: node definition unavailable")
    if x.size >= _MAX_EXACT:
        raise NotDifferentiable(f"{ctx.op_type}: input too large to trace ({x.size} elements)")
    src = _trace(ctx, np.arange(x.size, dtype=np.float32).reshape(x.shape))
    idx = np.rint(src).astype(np.int64).reshape(-1)
    dx = np.bincount(idx, weights=g.reshape(-1).astype(np.float64), minlength=x.size)
    return [dx.reshape(x.shape).astype(x.dtype)] + [None] * (len(ctx.x) - 1)


def _trace(ctx: OpCtx, probe: np.ndarray) -> np.ndarray:
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    node = ctx.node
    inits, inputs = [], []
    for i, name in enumerate(node.input):
        if not name:
            continue
        if i == 0:
            inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, probe.shape))
        else:
            inits.append(numpy_helper.from_array(np.asarray(ctx.x[i]), name))
    out = helper.make_tensor_value_info(node.output[0], TensorProto.FLOAT, None)
    graph = helper.make_graph([node], "trace", inputs, [out], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ctx.opset)])
    model.ir_version = min(model.ir_version, onnx.IR_VERSION)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {node.input[0]: probe})[0]
