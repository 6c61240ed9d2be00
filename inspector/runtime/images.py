"""Image files as model inputs: layout and channel detection, resizing, scaling presets."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from inspector.runtime.errors import InputError
from inspector.runtime.input_spec import InputSpec, image_layout

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
SCALINGS = ("0-1", "0-255", "imagenet", "-1-1")

# torchvision / keras.applications "torch" preprocessing constants (RGB order).
_IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
# A photo larger than this is refused rather than decoded (decompression bombs).
_MAX_PIXELS = 100_000_000


def _hwc(shape: tuple[object, ...], layout: str) -> tuple[object, object, int]:
    if layout == "NCHW":
        return shape[2], shape[3], int(shape[1])  # type: ignore[arg-type]
    if layout == "NHWC":
        return shape[1], shape[2], int(shape[3])  # type: ignore[arg-type]
    return shape[1], shape[2], 1


def load_image(path: str | Path, spec: InputSpec, scaling: str = "0-1") -> np.ndarray:
    """Read an image file as one batch for `spec`: resized to its H and W, in its layout
    and channel count, scaled by `scaling` ("0-1", "0-255", "imagenet", "-1-1")."""
    from PIL import Image

    if scaling not in SCALINGS:
        raise InputError(f"unknown scaling {scaling!r}; use one of {', '.join(SCALINGS)}")
    layout = image_layout(spec.shape)
    if layout is None:
        raise InputError(
            f"input {spec.name!r} with shape {spec.shape_label} does not look like an image "
            "(expected NCHW or NHWC with 1, 3 or 4 channels)"
        )
    h, w, c = _hwc(spec.shape, layout)  # type: ignore[arg-type]
    p = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as img:
                if img.width * img.height > _MAX_PIXELS:
                    raise InputError(f"{p.name}: image of {img.width}x{img.height} is too large")
                mode = {1: "L", 3: "RGB", 4: "RGBA"}[c]
                img = img.convert(mode)
                size = (
                    w if isinstance(w, int) and w > 0 else img.width,
                    h if isinstance(h, int) and h > 0 else img.height,
                )
                if size != img.size:
                    img = img.resize(size, Image.Resampling.BILINEAR)
                arr = np.asarray(img, dtype=np.float32)
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except Exception as e:  # noqa: BLE001 - Pillow raises many kinds for broken files
        raise InputError(f"{p.name}: not a readable image ({type(e).__name__}: {e})") from None

    if arr.ndim == 2:
        arr = arr[:, :, None]
    dtype = np.dtype(spec.numpy_dtype)
    if dtype.kind in "uib":
        # Integer image inputs (uint8 models) take raw 0-255 pixels whatever the preset.
        scaling = "0-255"
    if scaling == "0-1":
        arr = arr / 255.0
    elif scaling == "-1-1":
        arr = arr / 127.5 - 1.0
    elif scaling == "imagenet":
        arr = arr / 255.0
        mean = _IMAGENET_MEAN if c >= 3 else _IMAGENET_MEAN.mean(keepdims=True)
        std = _IMAGENET_STD if c >= 3 else _IMAGENET_STD.mean(keepdims=True)
        arr[..., : min(c, 3)] = (arr[..., : min(c, 3)] - mean) / std
    if layout == "NCHW":
        arr = arr.transpose(2, 0, 1)
    elif layout == "HW":
        arr = arr[:, :, 0]
    return arr[None].astype(dtype)
