"""Padding, cropping, upsampling and resizing layers lowered to ONNX, against Keras."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lowering.keras_build import branches, check_both

keras = pytest.importorskip("keras", reason="the Keras oracle needs the 'convert' extra")
L = keras.layers
CF = {"data_format": "channels_first"}

CASES = {
    "seq1d": ((7, 3), lambda: [
        L.ZeroPadding1D(2, name="zp1"),
        L.ZeroPadding1D((1, 3), name="zp1_ab"),
        L.Cropping1D((1, 2), name="crop1"),
        L.UpSampling1D(3, name="up1"),
    ]),
    "img2d": ((5, 6, 3), lambda: [
        L.ZeroPadding2D(1, name="zp2"),
        L.ZeroPadding2D(((1, 2), (0, 3)), name="zp2_ab"),
        L.ZeroPadding2D((1, 2), data_format="channels_first", name="zp2_first"),
        L.Cropping2D(((1, 0), (2, 1)), name="crop2"),
        L.Cropping2D(1, data_format="channels_first", name="crop2_first"),
        L.UpSampling2D(2, name="up2"),
        L.UpSampling2D((2, 3), interpolation="bilinear", name="up2_bilinear"),
        L.UpSampling2D(3, interpolation="bicubic", name="up2_bicubic"),
        L.UpSampling2D((3, 2), interpolation="bilinear", data_format="channels_first", name="up2_first"),
    ]),
    "vol3d": ((4, 3, 5, 2), lambda: [
        L.ZeroPadding3D(((1, 0), (0, 2), (1, 1)), name="zp3"),
        L.Cropping3D(((1, 1), (0, 1), (2, 0)), name="crop3"),
        L.UpSampling3D((2, 1, 3), name="up3"),
        L.UpSampling3D(2, data_format="channels_first", name="up3_first"),
    ]),
    "resize": ((6, 9, 3), lambda: [
        L.Resizing(12, 18, name="rs_bilinear_up"),
        L.Resizing(4, 5, name="rs_bilinear_down"),
        L.Resizing(11, 4, interpolation="nearest", name="rs_nearest"),
        L.Resizing(13, 7, interpolation="bicubic", name="rs_bicubic"),
        L.Resizing(4, 4, crop_to_aspect_ratio=True, name="rs_crop"),
        L.Resizing(8, 5, crop_to_aspect_ratio=True, interpolation="nearest", name="rs_crop_tall"),
        L.Resizing(8, 8, pad_to_aspect_ratio=True, fill_value=0.5, name="rs_pad"),
        L.Resizing(7, 7, pad_to_aspect_ratio=True, interpolation="bicubic", name="rs_pad_bicubic"),
        L.Resizing(5, 3, crop_to_aspect_ratio=True, interpolation="bicubic", name="rs_crop_bicubic"),
        L.Resizing(5, 7, data_format="channels_first", name="rs_first"),
        L.CenterCrop(4, 5, name="center"),
        L.CenterCrop(3, 3, data_format="channels_first", name="center_first"),
    ]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_spatial_layers_match_keras(tmp_path: Path, case: str) -> None:
    shape, layers = CASES[case]
    check_both(tmp_path, lambda: branches(shape, layers()), case)
