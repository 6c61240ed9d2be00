"""Rules: layers_attention (see rules.py for the contract).

MultiHeadAttention's projections are EinsumDense kernels (d, heads, key_dim) and an output
kernel (heads, key_dim, d): ONNX Einsum takes them in that layout directly.
"""

from __future__ import annotations

import numpy as np

from inspector.lowering.rules import LayerCall, NotLowered, rule


@rule("MultiHeadAttention")
def multi_head_attention(c: LayerCall) -> list[str]:
    args, kwargs = c.call_args()
    named = dict(zip(("query", "value", "key", "query_mask", "value_mask", "key_mask", "attention_mask"), args, strict=False))
    named.update(kwargs)
    if c.config.get("attention_axes") not in (None, [1], (1,)):
        raise NotLowered("attention over axes other than the sequence axis")
    if c.rank(0) != 3:
        raise NotLowered("MultiHeadAttention is lowered for rank-3 query/value")
    if kwargs.get("return_attention_scores"):
        raise NotLowered("return_attention_scores")
    if any(isinstance(named.get(k), str) for k in ("query_mask", "value_mask", "key_mask")):
        raise NotLowered("query/value/key masks")
    b, h = c.b, c.name
    q_in, v_in = named["query"], named["value"]
    k_in = named.get("key") if isinstance(named.get("key"), str) else v_in

    def proj(x: str, part: str) -> str:
        y = b.op("Einsum", [x, c.weight(f"{part}/kernel")], h, equation="btd,dnk->btnk")
        return b.op("Add", [y, c.weight(f"{part}/bias")], h) if c.has_weight(f"{part}/bias") else y

    q, k, v = proj(q_in, "query"), proj(k_in, "key"), proj(v_in, "value")
    key_dim = int(c.cfg("key_dim"))
    q = b.op("Mul", [q, b.const(np.float32(1.0 / np.sqrt(key_dim)))], h)
    scores = b.op("Einsum", [q, k], h, equation="btnk,bsnk->bnts")
    mask = named.get("attention_mask")
    mask = mask if isinstance(mask, str) else None
    if named.get("use_causal_mask"):
        # lower-triangular (T, S): ones below and on the diagonal, by CumSum of a ones matrix
        ones_q = b.op("Shape", [q_in], h, start=1, end=2)
        ones_v = b.op("Shape", [v_in], h, start=1, end=2)
        row = b.op("CumSum", [b.op("ConstantOfShape", [ones_q], h, value=_one_i64()), b.const(np.int64(0))], h)
        col = b.op("CumSum", [b.op("ConstantOfShape", [ones_v], h, value=_one_i64()), b.const(np.int64(0))], h)
        causal = b.op("GreaterOrEqual", [b.op("Unsqueeze", [row, b.ints([1])], h), b.op("Unsqueeze", [col, b.ints([0])], h)], h)
        causal = b.op("Unsqueeze", [causal, b.ints([0])], h)
        mask = causal if mask is None else b.op("And", [b.op("Cast", [mask], h, to=9), causal], h)
    if mask is not None:
        m = b.op("Unsqueeze", [b.op("Cast", [mask], h, to=9), b.ints([1])], h)
        # Keras's masked softmax adds -1e9 where the mask is off (keras.src.layers.Softmax)
        scores = b.op("Where", [m, scores, b.op("Add", [scores, b.const(np.float32(-1e9))], h)], h)
    probs = b.op("Softmax", [scores], h, axis=-1)
    o = b.op("Einsum", [probs, v], h, equation="bnts,bsnk->btnk")
    out = b.op("Einsum", [o, c.weight("attention_output/kernel")], h, equation="btnk,nkd->btd")
    if c.has_weight("attention_output/bias"):
        out = b.op("Add", [out, c.weight("attention_output/bias")], h)
    return [out]


def _one_i64():
    from onnx import helper

    return helper.make_tensor("one", 7, [1], [1])


@rule("Attention")
def attention(c: LayerCall) -> list[str]:
    """keras.layers.Attention (Luong, score_mode dot or concat) at inference."""
    args, kwargs = c.call_args()
    ins = args[0] if args and isinstance(args[0], list) else args
    if kwargs.get("return_attention_scores") or isinstance(kwargs.get("mask"), list):
        raise NotLowered("attention scores output or masks")
    q, v = ins[0], ins[1]
    k = ins[2] if len(ins) > 2 else v
    b, h = c.b, c.name
    mode = c.cfg("score_mode", "dot")
    if mode == "dot":
        scores = b.op("MatMul", [q, b.op("Transpose", [k], h, perm=[0, 2, 1])], h)
        if c.has_weight("scale"):
            scores = b.op("Mul", [scores, c.weight("scale")], h)
    elif mode == "concat":
        t = b.op("Tanh", [b.op("Add", [b.op("Unsqueeze", [q, b.ints([-2])], h), b.op("Unsqueeze", [k, b.ints([-3])], h)], h)], h)
        if c.has_weight("scale"):
            t = b.op("Mul", [t, c.weight("scale")], h)
        scores = b.op("Mul", [b.op("ReduceSum", [t, b.ints([-1])], h, keepdims=0), c.weight("concat_score_weight")], h)
    else:
        raise NotLowered(f"score_mode {mode!r}")
    if kwargs.get("use_causal_mask"):
        ones_q = b.op("Shape", [q], h, start=1, end=2)
        ones_v = b.op("Shape", [v], h, start=1, end=2)
        row = b.op("CumSum", [b.op("ConstantOfShape", [ones_q], h, value=_one_i64()), b.const(np.int64(0))], h)
        col = b.op("CumSum", [b.op("ConstantOfShape", [ones_v], h, value=_one_i64()), b.const(np.int64(0))], h)
        causal = b.op("GreaterOrEqual", [b.op("Unsqueeze", [row, b.ints([1])], h), b.op("Unsqueeze", [col, b.ints([0])], h)], h)
        # keras.layers.Attention subtracts 1e9 where the mask is off
        scores = b.op("Where", [causal, scores, b.op("Add", [scores, b.const(np.float32(-1e9))], h)], h)
    probs = b.op("Softmax", [scores], h, axis=-1)
    return [b.op("MatMul", [probs, v], h)]
