"""Rules for spatial reshaping: ZeroPadding, Cropping, UpSampling, Resizing and CenterCrop.

Image resizing follows TF's tf.image.resize (Keras's TF backend): half-pixel centres, so ONNX
Resize with coordinate_transformation_mode half_pixel; TF's nearest picks floor((x+0.5)*in/out),
which is half_pixel with round_prefer_ceil. TF's bicubic (Keys, a = -0.5, taps outside the
image dropped and the rest renormalised) reads its weights from a 1024-entry table, which ONNX
cubic misses by ~1e-3: it is lowered as two MatMuls with TF's own weights instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from inspector.lowering.layers_conv import channels_first, spatial_dims, to_first, to_last, tup
from inspector.lowering.rules import LayerCall, NotLowered, rule


def _pairs(v: Any, n: int, name: str) -> list[tuple[int, int]]:
    """Keras padding/cropping (int, (a, b) or ((a, b), ...)) as n (before, after) pairs."""
    if isinstance(v, int):
        return [(v, v)] * n
    v = list(v)
    if n == 1 and len(v) == 2 and all(isinstance(x, int) for x in v):
        return [(int(v[0]), int(v[1]))]
    if len(v) != n:
        raise NotLowered(f"{name} {v!r} does not have {n} entries")
    return [(int(x), int(x)) if isinstance(x, int) else (int(x[0]), int(x[1])) for x in v]


def _spatial_axes(c: LayerCall) -> list[int]:
    r = c.rank()
    return list(range(2, r)) if channels_first(c) else list(range(1, r - 1))


@rule("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D")
def zero_padding(c: LayerCall) -> list[str]:
    r = c.rank()
    axes = _spatial_axes(c)
    pairs = _pairs(c.cfg("padding", 1), len(axes), "padding")
    begins, ends = [0] * r, [0] * r
    for ax, (a, b) in zip(axes, pairs, strict=True):
        begins[ax], ends[ax] = a, b
    return [c.b.op("Pad", [c.inputs[0], c.b.ints(begins + ends)], c.name, mode="constant")]


@rule("Cropping1D", "Cropping2D", "Cropping3D")
def cropping(c: LayerCall) -> list[str]:
    axes = _spatial_axes(c)
    pairs = _pairs(c.cfg("cropping", 1), len(axes), "cropping")
    sizes = spatial_dims(c)
    ends = []
    for n, (_, b) in zip(sizes, pairs, strict=True):
        ends.append(n - b if isinstance(n, int) else (-b if b else np.iinfo(np.int64).max))
    starts = [a for a, _ in pairs]
    b = c.b
    return [b.op("Slice", [c.inputs[0], b.ints(starts), b.ints(ends), b.ints(axes)], c.name)]


def _resize(c: LayerCall, x: str, rank: int, *, scales: list[float] | None = None,
            sizes: list[int] | None = None, interpolation: str = "nearest",
            repeat: bool = False) -> str:
    """Resize an NC... tensor's spatial axes (scales or sizes lists cover them only)."""
    b = c.b
    if repeat:  # ops.repeat: output pixel i is input pixel floor(i / s)
        mode = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
    elif interpolation == "nearest":
        mode = {"mode": "nearest", "coordinate_transformation_mode": "half_pixel",
                "nearest_mode": "round_prefer_ceil"}
    elif interpolation == "bilinear":
        mode = {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}
    elif interpolation == "bicubic":
        return _bicubic(c, x, rank, scales, sizes)
    else:
        raise NotLowered(f"interpolation {interpolation!r} is not lowered")
    empty = b.const(np.zeros(0, np.float32), "empty")
    if scales is not None:
        s = b.const(np.asarray([1.0, 1.0, *scales], np.float32), c.name)
        return b.op("Resize", [x, empty, s], c.name, **mode)
    shape = b.op("Shape", [x], c.name, start=0, end=2)
    full = b.op("Concat", [shape, b.ints(sizes or [])], c.name, axis=0)
    return b.op("Resize", [x, empty, empty, full], c.name, **mode)


_TABLE = 1024  # tensorflow/core/kernels/image/resize_bicubic_op.cc kTableSize


def _keys_table(a: float = -0.5) -> np.ndarray:
    x = np.arange(_TABLE + 1, dtype=np.float32) / np.float32(_TABLE)
    t = np.empty((_TABLE + 1, 2), np.float32)
    t[:, 0] = ((a + 2) * x - (a + 3)) * x * x + 1
    x1 = x + np.float32(1)
    t[:, 1] = ((a * x1 - 5 * a) * x1 + 8 * a) * x1 - 4 * a
    return t


def bicubic_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of TF's ResizeBicubic (half_pixel_centers=True) on one axis."""
    t = _keys_table()
    scale = np.float32(n_in) / np.float32(n_out)
    m = np.zeros((n_out, n_in), np.float32)
    for o in range(n_out):
        pos = (np.float32(o) + np.float32(0.5)) * scale - np.float32(0.5)
        loc = int(np.floor(pos))
        off = int(np.rint((pos - np.float32(loc)) * _TABLE))
        taps = [(loc - 1, t[off, 1]), (loc, t[off, 0]), (loc + 1, t[_TABLE - off, 0]),
                (loc + 2, t[_TABLE - off, 1])]
        inside = [(i, w) for i, w in taps if 0 <= i < n_in]
        total = np.float32(sum(w for _, w in inside))
        for i, w in inside:
            m[o, i] += w / total if abs(total) >= 1000 * np.finfo(np.float32).tiny else w
    return m


def _bicubic(c: LayerCall, x: str, rank: int, scales: list[float] | None, sizes: list[int] | None) -> str:
    if rank != 4:
        raise NotLowered("bicubic resizing is lowered for images (rank 4)")
    h, w = c.extra.get("hw") or (int(d) for d in spatial_dims(c))  # after a crop or pad
    oh, ow = sizes if sizes is not None else (round(h * scales[0]), round(w * scales[1]))
    b = c.b
    y = b.op("MatMul", [x, b.const(bicubic_matrix(w, ow).T.copy(), c.name)], c.name)
    return b.op("MatMul", [b.const(bicubic_matrix(h, oh), c.name), y], c.name)


@rule("UpSampling1D", "UpSampling2D", "UpSampling3D")
def up_sampling(c: LayerCall) -> list[str]:
    rank = c.rank()
    n = rank - 2
    size = tup(c.cfg("size", 2), n, "size")
    interp = str(c.cfg("interpolation", "nearest"))
    if c.cls == "UpSampling1D":  # channels_last only, no data_format
        x = c.b.op("Transpose", [c.inputs[0]], c.name, perm=[0, 2, 1])
        y = _resize(c, x, rank, scales=[float(s) for s in size], repeat=True)
        return [c.b.op("Transpose", [y], c.name, perm=[0, 2, 1])]
    x = to_first(c, c.inputs[0], rank)
    y = _resize(c, x, rank, scales=[float(s) for s in size], interpolation=interp,
                repeat=interp == "nearest")
    return [to_last(c, y, rank)]


def _crop_box(c: LayerCall, x: str, rank: int, h0: int, w0: int, h: int, w: int) -> str:
    """x (NCHW) cropped to rows h0:h0+h, columns w0:w0+w."""
    b = c.b
    return b.op("Slice", [x, b.ints([h0, w0]), b.ints([h0 + h, w0 + w]), b.ints([2, 3])], c.name)


def _hw(c: LayerCall) -> tuple[int, int]:
    if c.rank() != 4:
        raise NotLowered("only batched images (rank 4) are lowered")
    hw = spatial_dims(c)
    if not all(isinstance(d, int) for d in hw):
        raise NotLowered("the image size is unknown")
    return int(hw[0]), int(hw[1])


@rule("Resizing")
def resizing(c: LayerCall) -> list[str]:
    th, tw = int(c.cfg("height")), int(c.cfg("width"))
    interp = str(c.cfg("interpolation", "bilinear"))
    if c.cfg("antialias", False):
        raise NotLowered("antialiased resizing is not lowered (ONNX Resize antialias is opset 18)")
    rank = c.rank()
    h, w = _hw(c)
    x = to_first(c, c.inputs[0], rank)
    if c.cfg("crop_to_aspect_ratio", False):
        # keras.src.backend.tensorflow.image.resize: a centred box of the target's aspect
        ch = max(min(h, int(np.float32(w * th) / np.float32(tw))), 1)
        cw = max(min(w, int(np.float32(h * tw) / np.float32(th))), 1)
        x = _crop_box(c, x, rank, int((h - ch) / 2), int((w - cw) / 2), ch, cw)
        c.extra["hw"] = (ch, cw)
    elif c.cfg("pad_to_aspect_ratio", False):
        ph = max(h, int(np.float32(w * th) / np.float32(tw)))
        pw = max(w, int(np.float32(h * tw) / np.float32(th)))
        hs, ws = int((ph - h) / 2), int((pw - w) / 2)
        fill = c.b.const(np.float32(c.cfg("fill_value", 0.0)))
        x = c.b.op("Pad", [x, c.b.ints([0, 0, hs, ws, 0, 0, hs, ws]), fill], c.name, mode="constant")
        c.extra["hw"] = (h + 2 * hs, w + 2 * ws)
    y = _resize(c, x, rank, sizes=[th, tw], interpolation=interp)
    return [to_last(c, y, rank)]


@rule("CenterCrop")
def center_crop(c: LayerCall) -> list[str]:
    th, tw = int(c.cfg("height")), int(c.cfg("width"))
    h, w = _hw(c)
    if h < th or w < tw:
        raise NotLowered("CenterCrop of an image smaller than the target resizes it (not lowered)")
    axes = [2, 3] if channels_first(c) else [1, 2]
    b = c.b
    h0, w0 = (h - th) // 2, (w - tw) // 2
    return [b.op("Slice", [c.inputs[0], b.ints([h0, w0]), b.ints([h0 + th, w0 + tw]), b.ints(axes)], c.name)]
