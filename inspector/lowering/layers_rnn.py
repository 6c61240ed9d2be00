"""Rules: layers_rnn (see rules.py for the contract).

LSTM, GRU and SimpleRNN become the ONNX LSTM/GRU/RNN ops, run on a time-major input. Keras's
weights go in as they are stored and are reordered with Transpose/Split/Concat (folded by
onnxruntime): Keras LSTM packs gates i, f, c, o where ONNX expects i, o, f, c; GRU packs z, r, h
in both. Bidirectional runs the wrapped layer twice, the backward copy on the reversed
sequence, as keras.layers.Bidirectional does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from inspector.lowering.rules import LayerCall, NotLowered, rule

ONNX_OP = {"LSTM": "LSTM", "GRU": "GRU", "SimpleRNN": "RNN"}
GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}

# Keras activation name -> (ONNX RNN activation, alpha, beta); hard_sigmoid is Keras 3's
# relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1).
ACTS: dict[str, tuple[str, float | None, float | None]] = {
    "tanh": ("Tanh", None, None), "sigmoid": ("Sigmoid", None, None), "relu": ("Relu", None, None),
    "hard_sigmoid": ("HardSigmoid", 1 / 6, 0.5), "linear": ("Affine", 1.0, 0.0),
    "softsign": ("Softsign", None, None), "softplus": ("Softplus", None, None),
    "elu": ("Elu", 1.0, None),
}


def _act(a: Any) -> tuple[str, float | None, float | None]:
    name = a if isinstance(a, str) else (a or {}).get("config", a) if isinstance(a, dict) else None
    if isinstance(name, dict):
        name = name.get("name")
    name = name or "linear"
    if name not in ACTS:
        raise NotLowered(f"recurrent activation {name!r} has no ONNX RNN activation")
    return ACTS[name]


def _reverse_time(c: LayerCall, x: str, axis: int) -> str:
    b = c.b
    return b.op("Slice", [x, b.ints([-1]), b.ints([-(2**62)]), b.ints([axis]), b.ints([-1])], c.name)


def _gate_rows(c: LayerCall, w: str, cls: str, hint: str) -> str:
    """(in, G*u) Keras kernel -> (1, G*u, in) ONNX weight, gates reordered for LSTM."""
    b = c.b
    t = b.op("Transpose", [w], hint, perm=[1, 0])
    if cls == "LSTM":
        i, f, g, o = b.op("Split", [t], hint, n_out=4, axis=0)
        t = b.op("Concat", [i, o, f, g], hint, axis=0)
    return b.op("Unsqueeze", [t, b.ints([0])], hint)


def _bias(c: LayerCall, cls: str, cfg: dict[str, Any], weight: Callable[[str], str | None], units: int) -> str | None:
    b = c.b
    bias = weight("bias")
    if bias is None:
        return None
    g = GATES[cls]
    if cls == "GRU" and cfg.get("reset_after", True):
        # (2, 3u): input bias then recurrent bias, ONNX B's two halves
        return b.op("Reshape", [bias, b.ints([1, 2 * g * units])], c.name)
    if cls == "LSTM":
        i, f, gg, o = b.op("Split", [bias], c.name, n_out=4, axis=0)
        bias = b.op("Concat", [i, o, f, gg], c.name, axis=0)
    zeros = b.const(np.zeros(g * units, np.float32), f"{c.name}/zero_bias")
    return b.op("Unsqueeze", [b.op("Concat", [bias, zeros], c.name, axis=0), b.ints([0])], c.name)


def run_rnn(
    c: LayerCall, cls: str, cfg: dict[str, Any], weight: Callable[[str], str | None], x: str,
    go_backwards: bool,
) -> list[str]:
    """One Keras recurrent layer on batch-major `x`: [output, *states] as Keras returns them."""
    if cls not in ONNX_OP:
        raise NotLowered(f"{cls} is not a lowered recurrent layer")
    if cfg.get("stateful"):
        raise NotLowered("stateful RNNs carry state between calls")
    b, units = c.b, int(cfg["units"])
    kernel, rec = weight("kernel"), weight("recurrent_kernel")
    if kernel is None or rec is None:
        raise NotLowered("the recurrent layer's kernels are missing from the file")
    if cfg.get("use_bias", True) and weight("bias") is None:
        raise NotLowered("weight 'bias' is missing from the file")
    xt = b.op("Transpose", [x], c.name, perm=[1, 0, 2])
    if go_backwards:
        xt = _reverse_time(c, xt, 0)
    W = _gate_rows(c, kernel, cls, c.name)
    R = _gate_rows(c, rec, cls, c.name)
    B = _bias(c, cls, cfg, weight, units) if cfg.get("use_bias", True) else None
    act = _act(cfg.get("activation", "tanh"))
    if cls == "SimpleRNN":
        acts = [act]
    else:
        acts = [_act(cfg.get("recurrent_activation", "sigmoid")), act]
        if cls == "LSTM":
            acts.append(act)
    attrs: dict[str, Any] = {
        "hidden_size": units, "activations": [a[0] for a in acts],
    }
    alphas = [a[1] for a in acts if a[1] is not None]
    if alphas:
        # ONNX takes alpha/beta only for the activations that have them, in order
        attrs["activation_alpha"] = alphas
        attrs["activation_beta"] = [a[2] for a in acts if a[1] is not None and a[2] is not None] or None
        if any(a[1] is not None and a[2] is None for a in acts) and attrs["activation_beta"]:
            raise NotLowered("this mix of recurrent activations has no ONNX alpha/beta layout")
    if cls == "GRU":
        attrs["linear_before_reset"] = int(bool(cfg.get("reset_after", True)))
    ins = [xt, W, R] + ([B] if B else [])
    n_out = 3 if cls == "LSTM" else 2
    outs = b.op(ONNX_OP[cls], ins, c.name, n_out=n_out, **attrs)
    y, h = outs[0], outs[1]
    h = b.op("Squeeze", [h, b.ints([0])], c.name)
    if cfg.get("return_sequences"):
        seq = b.op("Squeeze", [y, b.ints([1])], c.name)
        out = b.op("Transpose", [seq], c.name, perm=[1, 0, 2])
    else:
        out = h
    result = [out]
    if cfg.get("return_state"):
        # the same value under two keys would be renamed twice by the driver: copy it
        result.append(h if out != h else b.op("Identity", [h], c.name))
        if cls == "LSTM":
            result.append(b.op("Squeeze", [outs[2], b.ints([0])], c.name))
    return result


def _own_weights(c: LayerCall, prefix: str = "") -> Callable[[str], str | None]:
    def get(n: str) -> str | None:
        if prefix + n in c.weight_names or prefix != "backward/":
            return c.weight_names.get(prefix + n)
        # legacy .h5 names a custom backward_layer's group by its own name (e.g. gru_1/kernel)
        rest = [k for k in c.weight_names if k.endswith("/" + n) and not k.startswith("forward/")]
        return c.weight_names[rest[0]] if len(rest) == 1 else None

    return get


@rule("LSTM", "GRU", "SimpleRNN")
def recurrent(c: LayerCall) -> list[str]:
    if len(c.inputs) > 1:
        raise NotLowered("initial states passed as inputs are not lowered")
    return run_rnn(c, c.cls, c.config, _own_weights(c), c.inputs[0], bool(c.cfg("go_backwards", False)))


def _inner(layer: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(layer, dict):
        raise NotLowered("the wrapped layer's config is missing")
    return str(layer.get("class_name")), dict(layer.get("config") or {})


@rule("Bidirectional")
def bidirectional(c: LayerCall) -> list[str]:
    if len(c.inputs) > 1:
        raise NotLowered("initial states passed as inputs are not lowered")
    fcls, fcfg = _inner(c.config.get("layer"))
    if c.config.get("backward_layer"):
        bcls, bcfg = _inner(c.config["backward_layer"])
    else:
        bcls, bcfg = fcls, {**fcfg, "go_backwards": not fcfg.get("go_backwards", False)}
    x = c.inputs[0]
    fwd = run_rnn(c, fcls, fcfg, _own_weights(c, "forward/"), x, bool(fcfg.get("go_backwards", False)))
    bwd = run_rnn(c, bcls, bcfg, _own_weights(c, "backward/"), x, bool(bcfg.get("go_backwards", False)))
    b = c.b
    if fcfg.get("return_sequences"):
        # keras.layers.Bidirectional flips the backward sequence back into input order
        bwd[0] = _reverse_time(c, bwd[0], 1)
    mode = c.config.get("merge_mode", "concat")
    y, yb = fwd[0], bwd[0]
    if mode == "concat":
        merged = [b.op("Concat", [y, yb], c.name, axis=-1)]
    elif mode == "sum":
        merged = [b.op("Add", [y, yb], c.name)]
    elif mode == "mul":
        merged = [b.op("Mul", [y, yb], c.name)]
    elif mode == "ave":
        merged = [b.op("Mul", [b.op("Add", [y, yb], c.name), b.const(np.float32(0.5))], c.name)]
    elif mode is None:
        merged = [y, yb]
    else:
        raise NotLowered(f"merge_mode {mode!r}")
    return merged + fwd[1:] + bwd[1:]


@rule("TimeDistributed")
def time_distributed(c: LayerCall) -> list[str]:
    """The wrapped layer's own rule on [N*T, ...], reshaped back to [N, T, ...]."""
    from dataclasses import replace

    from inspector.lowering.rules import RULES

    cls, cfg = _inner(c.config.get("layer"))
    inner_rule = RULES.get(cls)
    if inner_rule is None:
        raise NotLowered(f"no ONNX rule for the wrapped {cls}")
    shape = c.in_shapes[0]
    if shape is None or len(shape) < 3:
        raise NotLowered("TimeDistributed needs an input of rank 3 or more")
    b, x = c.b, c.inputs[0]
    flat_shape = b.op("Concat", [b.ints([-1]), b.op("Shape", [x], c.name, start=2)], c.name, axis=0)
    flat = b.op("Reshape", [x, flat_shape], c.name)
    module = str((c.config.get("layer") or {}).get("module") or "keras.layers")
    node = replace(c.node, op_type=cls, source={"class_name": cls, "module": module, "config": cfg, "call": None})
    out = c.out_shapes[0]
    inner = LayerCall(
        b, node, [flat], [(None, *shape[2:])], [None if out is None else (None, *out[2:])],
        {k.split("/", 1)[-1]: v for k, v in c.weight_names.items()},
    )
    y = inner_rule(inner)[0]
    back = b.op("Concat", [b.op("Shape", [x], c.name, end=2), b.op("Shape", [y], c.name, start=1)], c.name, axis=0)
    return [b.op("Reshape", [y, back], c.name)]
