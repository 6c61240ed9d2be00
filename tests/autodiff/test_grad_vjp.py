"""Every ONNX VJP rule against central finite differences of onnxruntime itself.

Each case is a one-node model built with onnx.helper. f(inputs) = sum(c * op(inputs)) for a
random cotangent c, evaluated by onnxruntime (float64 where ORT has a double kernel, else
float32 with a wider step); the rule's gradient must match the finite-difference one.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from inspector.autodiff.rules import RULES, NotDifferentiable, OpCtx, backward_node

_ORT_TYPES = {np.float64: TensorProto.DOUBLE, np.float32: TensorProto.FLOAT,
              np.int64: TensorProto.INT64, np.bool_: TensorProto.BOOL}


def op_session(op, inputs, attrs, opset, n_out, consts):
    names = [f"x{i}" for i in range(len(inputs))]
    node = helper.make_node(op, [n if n is not None else "" for n in
                                 [None if a is None else names[i] for i, a in enumerate(inputs)]],
                            [f"y{i}" for i in range(n_out)], **attrs)
    g_in, inits = [], []
    for i, a in enumerate(inputs):
        if a is None:
            continue
        if i in consts:
            inits.append(numpy_helper.from_array(np.asarray(a), names[i]))
        else:
            g_in.append(helper.make_tensor_value_info(
                names[i], _ORT_TYPES[np.asarray(a).dtype.type], np.shape(a)))
    outs = [onnx.ValueInfoProto(name=f"y{i}") for i in range(n_out)]
    graph = helper.make_graph([node], "t", g_in, outs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    # Graph optimisations would constant-fold or fuse; we want the op's own kernel.
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    return sess, node


def check_vjp(op, inputs, attrs=None, *, opset=17, n_out=1, consts=(), diff=None,
              rtol=None, seed=0):
    """Compare backward_node with finite differences of onnxruntime on a one-node model.

    `inputs` are arrays (None for an omitted optional); float64 is tried first and float32
    used when onnxruntime has no double kernel. `consts` are input indices given as
    initializers (not perturbed); `diff` the indices to check (default: float, non-const).
    """
    attrs = attrs or {}
    rng = np.random.default_rng(seed)
    for dtype in (np.float64, np.float32):
        cast = [None if a is None else (np.asarray(a, dtype) if np.asarray(a).dtype.kind == "f"
                                         else np.asarray(a)) for a in inputs]
        try:
            sess, node = op_session(op, cast, attrs, opset, n_out, set(consts))
            feeds = {f"x{i}": a for i, a in enumerate(cast) if a is not None and i not in consts}
            ys = sess.run(None, feeds)
            break
        except Exception:  # noqa: BLE001 - no double kernel: fall back to float32
            if dtype is np.float32:
                raise
    cot = [rng.standard_normal(np.shape(y)).astype(y.dtype) if y.dtype.kind == "f" else None
           for y in ys]

    def f(fd):
        out = sess.run(None, fd)
        return sum(float(np.sum(c.astype(np.float64) * o)) for c, o in zip(cot, out, strict=True)
                   if c is not None)

    attr_vals = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    attr_vals = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in attr_vals.items()}
    ctx = OpCtx(op, attr_vals, list(cast), list(ys), opset, node)
    grads = backward_node(ctx, cot)
    idx = diff if diff is not None else [
        i for i, a in enumerate(cast) if a is not None and a.dtype.kind == "f" and i not in consts]
    assert idx, "nothing to check"
    h = 1e-6 if dtype is np.float64 else 1e-2
    tol = rtol if rtol is not None else (1e-5 if dtype is np.float64 else 1e-3)
    for i in idx:
        x = cast[i]
        g = grads[i]
        assert g is not None, f"{op}: no gradient for input {i}"
        assert g.shape == x.shape
        flat_ix = range(x.size) if x.size <= 48 else rng.choice(x.size, 48, replace=False)
        num = np.zeros(len(flat_ix))
        for k, j in enumerate(flat_ix):
            fp, fm = dict(feeds), dict(feeds)
            xp, xm = x.copy().reshape(-1), x.copy().reshape(-1)
            xp[j] += h
            xm[j] -= h
            fp[f"x{i}"], fm[f"x{i}"] = xp.reshape(x.shape), xm.reshape(x.shape)
            num[k] = (f(fp) - f(fm)) / (2 * h)
        ana = g.reshape(-1)[list(flat_ix)].astype(np.float64)
        scale = max(1.0, float(np.abs(num).max()))
        np.testing.assert_allclose(ana, num, rtol=0, atol=tol * scale,
                                   err_msg=f"{op} input {i} ({dtype.__name__})")
    return grads


R = np.random.default_rng(42)


def rnd(*shape, away=0.0):
    """Random normal values, kept at least `away` from 0 (so kinks are not straddled)."""
    a = R.standard_normal(shape)
    if away:
        a = np.where(np.abs(a) < away, np.sign(a + 1e-12) * away + a, a)
    return a


def pos(*shape):
    return R.uniform(0.5, 2.0, shape)


UNARY = [
    ("Relu", {}, rnd(3, 4, away=0.1)), ("LeakyRelu", {"alpha": 0.1}, rnd(3, 4, away=0.1)),
    ("Elu", {"alpha": 0.7}, rnd(3, 4, away=0.1)), ("Selu", {}, rnd(3, 4, away=0.1)),
    ("Sigmoid", {}, rnd(3, 4)), ("HardSigmoid", {}, rnd(3, 4, away=0.1) * 2),
    ("Tanh", {}, rnd(3, 4)), ("Softplus", {}, rnd(3, 4)), ("Softsign", {}, rnd(3, 4, away=0.1)),
    ("HardSwish", {}, rnd(3, 4, away=0.1) * 3), ("Erf", {}, rnd(3, 4)), ("Exp", {}, rnd(3, 4)),
    ("Log", {}, pos(3, 4)), ("Sqrt", {}, pos(3, 4)), ("Neg", {}, rnd(3, 4)),
    ("Abs", {}, rnd(3, 4, away=0.1)), ("Identity", {}, rnd(3, 4)), ("Reciprocal", {}, pos(3, 4)),
    ("Sin", {}, rnd(3, 4)), ("Cos", {}, rnd(3, 4)), ("Celu", {"alpha": 1.5}, rnd(3, 4, away=0.1)),
    ("Mish", {}, rnd(3, 4)),
]


@pytest.mark.parametrize("op,attrs,x", UNARY, ids=[u[0] for u in UNARY])
def test_unary(op, attrs, x):
    check_vjp(op, [x], attrs, opset=18)


@pytest.mark.parametrize("approx", ["none", "tanh"])
def test_gelu(approx):
    check_vjp("Gelu", [rnd(2, 5)], {"approximate": approx}, opset=20)


def test_dropout_inference_and_cast():
    check_vjp("Dropout", [rnd(2, 3)], {}, opset=13)
    g = check_vjp("Cast", [rnd(2, 3)], {"to": TensorProto.FLOAT}, opset=13, rtol=3e-2)
    assert g[0].dtype == np.float64  # the gradient keeps the input's dtype


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((2, 1, 4), (3, 1)),
                                    ((), (2, 3)), ((3, 4), ()), ((2, 3, 4), (1, 1, 1)),
                                    ((3, 2000), ())])
def test_binary_broadcast(op, shapes):
    a = rnd(*shapes[0])
    b = pos(*shapes[1]) if op == "Div" else rnd(*shapes[1])
    check_vjp(op, [a, b])


@pytest.mark.parametrize("op", ["Mul", "Div"])
def test_scalar_operand_gradient_is_an_accurate_float32_sum(op):
    """The gradient of a float32 scale or divisor (GELU's 0.5, attention's sqrt d) is one sum
    over the whole tensor, now taken without the product array: it must match the exact sum
    to float32 rounding, as the pairwise sum of the product array did."""
    from inspector.autodiff.rules import backward_node

    rng = np.random.default_rng(5)
    a = (rng.standard_normal((4, 128, 768)) + 3).astype(np.float32)  # sums that do not cancel
    b = np.asarray(np.float32(0.5 if op == "Mul" else 1.4142135))
    g = rng.uniform(0.5, 1.5, a.shape).astype(np.float32)
    y = a * b if op == "Mul" else a / b
    node = helper.make_node(op, ["a", "b"], ["y"])
    ga, gb = backward_node(OpCtx(op, {}, [a, b], [y], 17, node), [g])
    prods = g.astype(np.float64) * a.astype(np.float64)
    exact = math.fsum(prods.ravel()) * (1 if op == "Mul" else -1 / float(b) ** 2)
    assert gb.dtype == np.float32 and gb.shape == ()
    assert abs(float(gb) - exact) <= 2e-7 * abs(exact)
    want_a = g * b if op == "Mul" else g / b
    np.testing.assert_array_equal(ga, want_a)


def test_pow_const_exponent_and_variadic():
    check_vjp("Pow", [pos(3, 4), np.array(2.5)], consts=[1])
    check_vjp("Pow", [pos(3, 4), rnd(4)])
    check_vjp("Sum", [rnd(3, 4), rnd(4), rnd(3, 1)])
    check_vjp("Mean", [rnd(3, 4), rnd(4)])
    check_vjp("Max", [rnd(3, 4), rnd(4)])
    check_vjp("Min", [rnd(3, 4), rnd(3, 4)])
    check_vjp("PRelu", [rnd(2, 3, 4, away=0.1), rnd(3, 1)], opset=16)


def test_clip_both_opsets():
    x = np.array([[-2.0, -0.5, 0.2, 0.9, 1.7, 3.0]])
    check_vjp("Clip", [x], {"min": -1.0, "max": 1.0}, opset=6)
    check_vjp("Clip", [x, np.array(0.0), np.array(1.0)], opset=13, consts=[1, 2])
    check_vjp("Clip", [x, None, np.array(1.0)], opset=13, consts=[2])


@pytest.mark.parametrize("opset,axis", [(13, -1), (13, 1), (11, 1), (11, 2)])
@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
def test_softmax(op, opset, axis):
    check_vjp(op, [rnd(2, 3, 4)], {"axis": axis}, opset=opset)


@pytest.mark.parametrize("ta,tb", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_gemm(ta, tb):
    a = rnd(3, 4) if not ta else rnd(4, 3)
    b = rnd(4, 5) if not tb else rnd(5, 4)
    check_vjp("Gemm", [a, b, rnd(5)], {"alpha": 0.7, "beta": 1.3, "transA": ta, "transB": tb})
    check_vjp("Gemm", [a, b], {"transA": ta, "transB": tb})


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)),
                                   ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,))])
def test_matmul(sa, sb):
    check_vjp("MatMul", [rnd(*sa), rnd(*sb)])


def test_shape_ops():
    x = rnd(2, 3, 4)
    check_vjp("Reshape", [x, np.array([4, -1])], consts=[1])
    check_vjp("Flatten", [x], {"axis": 2})
    check_vjp("Transpose", [x], {"perm": [2, 0, 1]})
    check_vjp("Transpose", [x])
    check_vjp("Squeeze", [rnd(2, 1, 3), np.array([1])], consts=[1])
    check_vjp("Squeeze", [rnd(2, 1, 3)], {"axes": [1]}, opset=11)
    check_vjp("Unsqueeze", [x, np.array([0, 3])], consts=[1])
    check_vjp("Expand", [rnd(3, 1), np.array([2, 3, 4])], consts=[1])
    check_vjp("Tile", [rnd(2, 3), np.array([2, 3])], consts=[1])
    check_vjp("Concat", [rnd(2, 3), rnd(2, 1), rnd(2, 4)], {"axis": 1})
    check_vjp("Concat", [rnd(2, 3), rnd(1, 3)], {"axis": -2})


def test_split_both_opsets():
    x = rnd(2, 7)
    check_vjp("Split", [x, np.array([3, 4])], {"axis": 1}, n_out=2, consts=[1])
    check_vjp("Split", [x], {"axis": 1, "split": [2, 5]}, opset=11, n_out=2)
    check_vjp("Split", [rnd(6, 2)], {"axis": 0, "num_outputs": 3}, opset=18, n_out=3)


@pytest.mark.parametrize("starts,ends,axes,steps", [
    ([1], [3], [1], [1]), ([0, -3], [2, 100], [0, 2], [1, 2]), ([-1], [-100], [1], [-1]),
    ([4], [0], [2], [-2]),
])
def test_slice(starts, ends, axes, steps):
    x = rnd(3, 4, 5)
    ins = [x, np.array(starts), np.array(ends), np.array(axes), np.array(steps)]
    check_vjp("Slice", ins, consts=[1, 2, 3, 4])


def test_slice_opset9():
    check_vjp("Slice", [rnd(3, 4)], {"starts": [1, 0], "ends": [3, -1]}, opset=9)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_gather(axis):
    x = rnd(4, 5, 3)
    idx = np.array([[0, 2], [-1, 0]])  # repeats and a negative index accumulate
    check_vjp("Gather", [x, idx], {"axis": axis}, consts=[1])


def test_pad_constant_with_negative():
    x = rnd(2, 3, 4)
    check_vjp("Pad", [x, np.array([0, 1, 2, 0, 2, 1]), np.array(0.5)], consts=[1, 2])
    check_vjp("Pad", [x, np.array([0, -1, 1, 0, 0, -2])], consts=[1])
    check_vjp("Pad", [x], {"pads": [0, 1, 1, 0, 1, 1]}, opset=10)
    check_vjp("Pad", [x, np.array([1, 2]), None, np.array([1])], opset=18, consts=[1, 3])


def test_pad_reflect_is_uncovered():
    with pytest.raises(NotDifferentiable, match="reflect"):
        check_vjp("Pad", [rnd(3, 4), np.array([1, 1, 1, 1])], {"mode": "reflect"}, consts=[1])


def test_where():
    c = R.random((3, 4)) > 0.5
    check_vjp("Where", [c, rnd(3, 4), rnd(4)], consts=[0])


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceL2",
                                "ReduceSumSquare"])
@pytest.mark.parametrize("keep", [0, 1])
def test_reduce(op, keep):
    x = rnd(2, 3, 4)
    check_vjp(op, [x, np.array([0, 2])], {"keepdims": keep}, opset=18, consts=[1])
    check_vjp(op, [x], {"keepdims": keep}, opset=18)
    if op in ("ReduceMean", "ReduceMax"):
        check_vjp(op, [x], {"axes": [-1], "keepdims": keep}, opset=13)


def test_reduce_sum_opset13_input_axes():
    check_vjp("ReduceSum", [rnd(2, 3, 4), np.array([1])], {"keepdims": 0}, opset=13, consts=[1])


@pytest.mark.parametrize("kw", [
    {}, {"strides": [2, 2]}, {"pads": [1, 1, 1, 1]}, {"pads": [0, 1, 2, 0], "strides": [2, 1]},
    {"dilations": [2, 1], "pads": [1, 1, 1, 1]}, {"auto_pad": "SAME_UPPER", "strides": [2, 2]},
    {"auto_pad": "SAME_LOWER"}, {"group": 2}, {"group": 4, "pads": [1, 1, 1, 1]},
])
def test_conv2d(kw):
    groups = kw.get("group", 1)
    x = rnd(2, 4, 6, 5)
    m = 4 if groups == 4 else 6
    w = rnd(m, 4 // groups, 3, 3)
    check_vjp("Conv", [x, w, rnd(m)], dict(kw))


def test_conv1d_and_3d_and_depthwise_multiplier():
    check_vjp("Conv", [rnd(2, 3, 9), rnd(4, 3, 3), rnd(4)], {"strides": [2], "pads": [1, 0]})
    check_vjp("Conv", [rnd(1, 2, 4, 4, 3), rnd(3, 2, 2, 2, 2)], {})
    check_vjp("Conv", [rnd(1, 3, 5, 5), rnd(6, 1, 3, 3)], {"group": 3, "strides": [2, 2]})


@pytest.mark.parametrize("kw", [{}, {"strides": [2, 2]}, {"strides": [3, 2]},
                                {"auto_pad": "SAME_UPPER", "strides": [2, 2]}])
def test_pointwise_conv(kw):
    # 1x1 kernels take a matrix-product path with no window copies; odd sizes and strides
    # leave input rows and columns that no output reads (their gradient must be 0).
    check_vjp("Conv", [rnd(2, 5, 7, 6), rnd(3, 5, 1, 1), rnd(3)], dict(kw))
    check_vjp("Conv", [rnd(2, 5, 7, 6), rnd(3, 5, 1, 1)], dict(kw))


def test_pointwise_conv_1d_and_3d():
    check_vjp("Conv", [rnd(2, 3, 9), rnd(4, 3, 1), rnd(4)], {"strides": [2]})
    check_vjp("Conv", [rnd(1, 2, 3, 4, 5), rnd(3, 2, 1, 1, 1)], {"strides": [1, 2, 2]})


@pytest.mark.parametrize("kw", [{}, {"strides": [2, 2]}, {"pads": [1, 0, 1, 1], "strides": [2, 2]},
                                {"group": 2, "dilations": [1, 2]},
                                {"strides": [2, 2], "output_padding": [1, 1]}])
def test_conv_transpose(kw):
    groups = kw.get("group", 1)
    check_vjp("ConvTranspose", [rnd(2, 4, 3, 4), rnd(4, 6 // groups, 3, 3), rnd(6)], dict(kw))


@pytest.mark.parametrize("kw", [{"kernel_shape": [2, 2]}, {"kernel_shape": [3, 3], "strides": [2, 2]},
                                {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
                                {"kernel_shape": [3, 2], "ceil_mode": 1, "strides": [2, 2]},
                                {"kernel_shape": [2, 2], "dilations": [2, 2]},
                                {"kernel_shape": [3, 3], "auto_pad": "SAME_UPPER", "strides": [2, 2]}])
def test_max_pool(kw):
    x = R.permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6) * 0.1  # no ties within h
    check_vjp("MaxPool", [x], dict(kw))


@pytest.mark.parametrize("kw", [{"kernel_shape": [2, 2]}, {"kernel_shape": [3, 3], "strides": [2, 2]},
                                {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
                                {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 1},
                                {"kernel_shape": [3, 2], "ceil_mode": 1, "strides": [2, 2]},
                                {"kernel_shape": [3], "strides": [2]}])
def test_avg_pool(kw):
    x = rnd(2, 3, 7) if len(kw["kernel_shape"]) == 1 else rnd(2, 3, 7, 6)
    check_vjp("AveragePool", [x], dict(kw), opset=19)


def test_global_pools():
    check_vjp("GlobalAveragePool", [rnd(2, 3, 4, 5)])
    check_vjp("GlobalMaxPool", [R.permutation(60).reshape(1, 3, 4, 5) * 0.1])


def test_normalizations():
    x = rnd(2, 3, 4, 4)
    check_vjp("BatchNormalization", [x, rnd(3), rnd(3), rnd(3), pos(3)], {"epsilon": 1e-3},
              opset=15)
    check_vjp("InstanceNormalization", [x, rnd(3), rnd(3)])
    check_vjp("LayerNormalization", [rnd(2, 3, 5), rnd(5), rnd(5)], {"axis": -1})
    check_vjp("LayerNormalization", [rnd(2, 3, 5), rnd(3, 5)], {"axis": 1, "epsilon": 1e-3})


def test_index_traced_copies():
    x = rnd(1, 8, 2, 3)
    check_vjp("DepthToSpace", [x], {"blocksize": 2, "mode": "CRD"})
    check_vjp("DepthToSpace", [x], {"blocksize": 2})
    check_vjp("SpaceToDepth", [rnd(1, 2, 4, 6)], {"blocksize": 2})
    check_vjp("Resize", [rnd(1, 2, 3, 4), None, np.array([1, 1, 2, 1.5], dtype=np.float32)],
              {"mode": "nearest"}, consts=[2], opset=13)


def test_resize_linear_is_uncovered():
    with pytest.raises(NotDifferentiable, match="linear"):
        check_vjp("Resize", [rnd(1, 1, 2, 2), None, np.array([1, 1, 2, 2], dtype=np.float32)],
                  {"mode": "linear"}, consts=[2], opset=13)


def test_every_required_op_has_a_rule():
    required = """Gemm MatMul Add Sub Mul Div Relu LeakyRelu Elu Selu Sigmoid HardSigmoid Tanh
    Softmax LogSoftmax Softplus Softsign Gelu HardSwish Erf Exp Log Sqrt Pow Neg Abs Clip
    Identity Dropout Cast Reshape Flatten Transpose Squeeze Unsqueeze Concat Split Slice Gather
    Pad Conv ConvTranspose MaxPool AveragePool GlobalAveragePool GlobalMaxPool
    BatchNormalization LayerNormalization ReduceMean ReduceSum Expand Tile Where Resize""".split()
    assert [op for op in required if op not in RULES] == []
    # Every rule is for a real ONNX op, not a made-up name.
    assert all(onnx.defs.has(op) for op in RULES)
