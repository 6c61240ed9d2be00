"""Output shapes of Keras layers computed from their configs (no Keras needed).

Each rule takes the layer config and the input shapes of one call and returns the output
shapes of that call. A shape is a tuple with None for unknown dims (the batch dim is always
None). Unknown layers or inputs give None: a wrong shape is worse than no shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

Shape = tuple[int | None, ...]
Rule = Callable[[dict[str, Any], list[Shape]], list[Shape | None] | None]

_RULES: dict[str, Rule] = {}


def output_shapes(
    class_name: str, config: dict[str, Any], inputs: list[Shape | None], n_outputs: int = 1
) -> list[Shape | None]:
    """The output shapes of one call of layer `class_name`; None entries where unknown."""
    rule = _RULES.get(class_name)
    out: list[Shape | None] | None = None
    if rule is not None and inputs and all(s is not None for s in inputs):
        try:
            out = rule({**config, "class_name": class_name}, [tuple(s) for s in inputs])  # type: ignore[misc]
        except (ValueError, TypeError, KeyError, IndexError, ZeroDivisionError):
            out = None  # a config we do not understand: unknown, never a crash
    out = list(out or [])
    return (out + [None] * n_outputs)[: max(n_outputs, len(out))]


def _rule(*names: str) -> Callable[[Rule], Rule]:
    def deco(fn: Rule) -> Rule:
        for n in names:
            _RULES[n] = fn
        return fn

    return deco


def _tuple(v: Any, n: int) -> tuple[int, ...]:
    if isinstance(v, int):
        return (v,) * n
    v = tuple(v)
    if len(v) == 1 and n > 1:
        return v * n
    return v


def _first(config: dict[str, Any]) -> bool:
    return config.get("data_format") == "channels_first"


def _split(shape: Shape, channels_first: bool) -> tuple[list[int | None], int | None]:
    """Spatial dims and channel dim of a batched image-like shape."""
    if channels_first:
        return list(shape[2:]), shape[1]
    return list(shape[1:-1]), shape[-1]


def _join(spatial: list[int | None], channels: int | None, channels_first: bool) -> Shape:
    if channels_first:
        return (None, channels, *spatial)
    return (None, *spatial, channels)


def _conv_len(n: int | None, k: int, s: int, d: int, padding: str) -> int | None:
    if n is None:
        return None
    k_eff = k + (k - 1) * (d - 1)
    if padding in ("same", "causal"):
        return -(-n // s)
    if padding == "full":
        return (n + k_eff - 2) // s + 1
    return (n - k_eff) // s + 1


def _deconv_len(n: int | None, k: int, s: int, d: int, padding: str, out_pad: int | None) -> int | None:
    # keras.src.utils.conv_utils.deconv_output_length
    if n is None:
        return None
    k = k + (k - 1) * (d - 1)
    if out_pad is None:
        if padding == "valid":
            return n * s + max(k - s, 0)
        if padding == "full":
            return n * s - (s + k - 2)
        return n * s
    pad = {"same": k // 2, "valid": 0, "full": k - 1}[padding]
    return (n - 1) * s + k - 2 * pad + out_pad


def _conv_spatial(config: dict[str, Any], shape: Shape, rank: int) -> tuple[list[int | None], int | None, bool]:
    cf = _first(config)
    spatial, ch = _split(shape, cf)
    if len(spatial) != rank:
        raise ValueError("rank mismatch")
    k = _tuple(config["kernel_size"], rank)
    s = _tuple(config.get("strides", 1), rank)
    d = _tuple(config.get("dilation_rate", 1), rank)
    pad = config.get("padding", "valid")
    return [_conv_len(spatial[i], k[i], s[i], d[i], pad) for i in range(rank)], ch, cf


def _rank_of(name: str) -> int:
    for r in (1, 2, 3):
        if f"{r}D" in name:
            return r
    raise ValueError(name)


@_rule("Conv1D", "Conv2D", "Conv3D", "SeparableConv1D", "SeparableConv2D")
def _conv(config: dict[str, Any], ins: list[Shape]) -> list[Shape | None]:
    rank = len(ins[0]) - 2
    spatial, _, cf = _conv_spatial(config, ins[0], rank)
    return [_join(spatial, config["filters"], cf)]


@_rule("DepthwiseConv1D", "DepthwiseConv2D")
def _depthwise(config: dict[str, Any], ins: list[Shape]) -> list[Shape | None]:
    rank = len(ins[0]) - 2
    spatial, ch, cf = _conv_spatial(config, ins[0], rank)
    mult = config.get("depth_multiplier", 1)
    return [_join(spatial, None if ch is None else ch * mult, cf)]


@_rule("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
def _deconv(config: dict[str, Any], ins: list[Shape]) -> list[Shape | None]:
    rank = len(ins[0]) - 2
    cf = _first(config)
    spatial, _ = _split(ins[0], cf)
    k = _tuple(config["kernel_size"], rank)
    s = _tuple(config.get("strides", 1), rank)
    d = _tuple(config.get("dilation_rate", 1), rank)
    op = config.get("output_padding")
    op = None if op is None else _tuple(op, rank)
    pad = config.get("padding", "valid")
    out = [
        _deconv_len(spatial[i], k[i], s[i], d[i], pad, None if op is None else op[i])
        for i in range(rank)
    ]
    return [_join(out, config["filters"], cf)]


@_rule(
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
    "AveragePooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D",
    "AvgPool3D",
)
def _pool(config: dict[str, Any], ins: list[Shape]) -> list[Shape | None]:
    rank = len(ins[0]) - 2
    cf = _first(config)
    spatial, ch = _split(ins[0], cf)
    p = _tuple(config.get("pool_size", 2), rank)
    s = config.get("strides")
    s = p if s is None else _tuple(s, rank)
    pad = config.get("padding", "valid")
    out = [_conv_len(spatial[i], p[i], s[i], 1, pad) for i in range(rank)]
    return [_join(out, ch, cf)]


@_rule(
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalAvgPool1D", "GlobalAvgPool2D",
    "GlobalMaxPool1D", "GlobalMaxPool2D",
)
def _global_pool(config: dict[str, Any], ins: list[Shape]) -> list[Shape | None]:
    cf = _first(config)
    spatial, ch = _split(ins[0], cf)
    if config.get("keepdims"):
        return [_join([1] * len(spatial), ch, cf)]
    return [(None, ch)]


@_rule("Dense")
def _dense(config: dict[str, Any], ins: list[Shape]) -> list[Shape | None]:
    return [(*ins[0][:-1], config["units"])]


@_rule("Flatten")
def _flatten(config: dict[str, Any], ins: list[Shape]) -> list[Shape | None]:
    rest = ins[0][1:]
    return [(None, None if any(d is None for d in rest) else math.prod(rest))]


@_rule("Reshape")
def _reshape(config: dict[str, Any], ins: list[Shape]) -> list[Shape | None]:
    target = [int(d) for d in config["target_shape"]]
    if -1 in target:
        known = math.prod(d for d in target if d != -1)
        rest = ins[0][1:]
        total = None if any(d is None for d in rest) else math.prod(rest)
        target = [(total // known if total is not None else None) if d == -1 else d for d in target]
    return [(None, *target)]


@_rule("Permute")
def _permute(config: dict[str, Any], ins: list[Shape]) -> list[Shape | None]:
    return [(None, *(ins[0][d] for d in config["dims"]))]


@_rule("RepeatVector")
def _repeat(config: dict[str, Any], ins: list[Shape]) -> list[Shape | None]:
    return [(None, config["n"], *ins[0][1:])]


@_rule("Concatenate")
def _concat(config: dict[str, Any], ins: list[Shape]) -> list[Shape | None]:
    axis = config.get("axis", -1)
    rank = len(ins[0])
    axis = axis % rank
    out = list(ins[0])
    dims = [s[axis] for s in ins]
    out[axis] = None if any(d is None for d in dims) else sum(dims)  # type: ignore[arg-type]
    for i in range(rank):
        if i != axis and out[i] is None:
            out[i] = next((s[i] for s in ins if s[i] is not None), None)
    return [tuple(out)]


@_rule("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")
def _merge(config: dict[str, Any], ins: list[Shape]) -> list[Shape | None]:
    rank = max(len(s) for s in ins)
    out: list[int | None] = []
    for i in range(rank):
        dims = [s[len(s) - rank + i] for s in ins if len(s) - rank + i >= 0]
        known = [d for d in dims if d is not None and d != 1]
        out.append(known[0] if known else (1 if dims and all(d == 1 for d in dims) else None))
    out[0] = None
    return [tuple(out)]


@_rule(
    "BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization",
    "Normalization", "RMSNormalization", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
    "SpatialDropout3D", "GaussianDropout", "GaussianNoise", "AlphaDropout",
    "ActivityRegularization", "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax",
    "ThresholdedReLU", "Rescaling", "Masking",
)
def _same(config: dict[str, Any], ins: list[Shape]) -> list[Shape | None]:
    return [ins[0]]


@_rule("Embedding")
def _embedding(config: dict[str, Any], ins: list[Shape]) -> list[Shape | None]:
    return [(*ins[0], config["output_dim"])]


_STATES = {"LSTM": 2, "GRU": 1, "SimpleRNN": 1}


@_rule("SimpleRNN", "LSTM", "GRU")
def _rnn(config: dict[str, Any], ins: list[Shape]) -> list[Shape | None]:
    units = config["units"]
    seq: Shape = (None, ins[0][1], units) if config.get("return_sequences") else (None, units)
    out: list[Shape | None] = [seq]
    if config.get("return_state"):
        out += [(None, units)] * _STATES.get(config.get("class_name", ""), 1)
    return out


def _inner(config: dict[str, Any], key: str = "layer") -> tuple[str, dict[str, Any]]:
    layer = config[key]
    return layer["class_name"], layer["config"]


@_rule("Bidirectional")
def _bidirectional(config: dict[str, Any], ins: list[Shape]) -> list[Shape | None]:
    cls, inner = _inner(config)
    fwd = _rnn({**inner, "class_name": cls, "return_state": False}, ins)[0]
    assert fwd is not None
    mode = config.get("merge_mode", "concat")
    if mode is None:
        out: list[Shape | None] = [fwd, fwd]
    elif mode == "concat":
        out = [(*fwd[:-1], fwd[-1] * 2)]  # type: ignore[operator]
    else:
        out = [fwd]
    if inner.get("return_state"):
        out += [(None, inner["units"])] * (2 * _STATES.get(cls, 1))
    return out


@_rule("TimeDistributed")
def _time_distributed(config: dict[str, Any], ins: list[Shape]) -> list[Shape | None]:
    cls, inner = _inner(config)
    step = output_shapes(cls, inner, [(None, *ins[0][2:])])[0]
    return [None if step is None else (None, ins[0][1], *step[1:])]


def _pairs(v: Any, rank: int) -> list[tuple[int, int]]:
    if isinstance(v, int):
        return [(v, v)] * rank
    out = []
    for p in v:
        out.append((p, p) if isinstance(p, int) else (p[0], p[1]))
    if rank == 1 and len(out) == 2 and isinstance(v[0], int):
        return [(v[0], v[1])]  # ZeroPadding1D((left, right))
    return out


def _pad_or_crop(sign: int) -> Rule:
    def rule(config: dict[str, Any], ins: list[Shape]) -> list[Shape | None]:
        rank = len(ins[0]) - 2
        key = "padding" if sign > 0 else "cropping"
        cf = _first(config)
        spatial, ch = _split(ins[0], cf)
        pairs = _pairs(config[key], rank)
        out = [None if n is None else n + sign * (a + b) for n, (a, b) in zip(spatial, pairs, strict=True)]
        return [_join(out, ch, cf)]

    return rule


for _r in (1, 2, 3):
    _RULES[f"ZeroPadding{_r}D"] = _pad_or_crop(1)
    _RULES[f"Cropping{_r}D"] = _pad_or_crop(-1)


@_rule("UpSampling1D", "UpSampling2D", "UpSampling3D")
def _upsample(config: dict[str, Any], ins: list[Shape]) -> list[Shape | None]:
    rank = len(ins[0]) - 2
    cf = _first(config)
    spatial, ch = _split(ins[0], cf)
    size = _tuple(config.get("size", 2), rank)
    return [_join([None if n is None else n * k for n, k in zip(spatial, size, strict=True)], ch, cf)]


@_rule("MultiHeadAttention")
def _mha(config: dict[str, Any], ins: list[Shape]) -> list[Shape | None]:
    query = ins[0]
    out_shape = config.get("output_shape")
    if out_shape is None:
        return [query]
    tail = (out_shape,) if isinstance(out_shape, int) else tuple(out_shape)
    return [(*query[:-1], *tail)]
