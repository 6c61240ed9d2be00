"""What a model input is (name, shape, dtype, vocabulary) and whether its shape is an image's.

Its own module so that input makers (`inputs`) and image readers (`images`) both depend on it
and not on each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inspector.ir import Dim, format_shape
from inspector.runtime.errors import InputError

_DTYPE_ALIASES = {"float": "float32", "double": "float64", "string": "object", "str": "object"}
_CHANNELS = (1, 3, 4)


@dataclass(frozen=True)
class InputSpec:
    """A model input: name, shape (ints, symbolic names or None), numpy dtype name, and the
    vocabulary size when it feeds an embedding lookup."""

    name: str
    shape: tuple[Dim, ...] | None
    dtype: str
    vocab: int | None = None

    @property
    def numpy_dtype(self) -> np.dtype:
        """The dtype as numpy understands it (float32 when the model did not say)."""
        try:
            return np.dtype(_DTYPE_ALIASES.get(self.dtype, self.dtype))
        except TypeError:
            raise InputError(f"input {self.name!r} has type {self.dtype}, which numpy cannot hold") from None

    @property
    def shape_label(self) -> str:
        """The shape as `1x3x224x224` / `batchx?x8`."""
        return format_shape(self.shape)

    @property
    def image_layout(self) -> str | None:
        """"NCHW"/"NHWC"/"HW" when the input looks like an image batch, else None."""
        if self.numpy_dtype.kind not in "fu":
            return None
        return image_layout(self.shape)


def image_layout(shape: tuple[object, ...] | None) -> str | None:
    """"NCHW", "NHWC" (rank 4 with 1, 3 or 4 channels), "HW" (rank 3, grey), or None."""
    if shape is None:
        return None
    if len(shape) == 4:
        c_first, c_last = shape[1] in _CHANNELS, shape[3] in _CHANNELS
        if c_first and not c_last:
            return "NCHW"
        if c_last and not c_first:
            return "NHWC"
        if c_first and c_last:
            # 1x3x3x3-like: the smaller axis is channels; on a tie, channels-last (Keras).
            return "NCHW" if isinstance(shape[2], int) and shape[2] > 4 else "NHWC"
        return None
    if len(shape) == 3 and isinstance(shape[1], int) and isinstance(shape[2], int):
        # (batch, 28, 28) grey images as Keras MNIST models take them.
        return "HW" if shape[1] >= 8 and shape[2] >= 8 else None
    return None
