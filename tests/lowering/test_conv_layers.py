"""Convolutions and EinsumDense lowered to ONNX, against Keras's own outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lowering.keras_build import branches, check_both, randomize

keras = pytest.importorskip("keras", reason="the Keras oracle needs the 'convert' extra")
L = keras.layers

CASES = {
    "conv1d": ((9, 3), lambda: [
        L.Conv1D(4, 3, name="valid"),
        L.Conv1D(4, 4, strides=2, padding="same", name="same_even_s2"),
        L.Conv1D(4, 3, dilation_rate=2, padding="causal", activation="relu", name="causal"),
        L.Conv1D(6, 2, padding="same", groups=3, use_bias=False, name="groups"),
    ]),
    "conv2d": ((8, 7, 4), lambda: [
        L.Conv2D(5, 3, activation="relu", name="valid"),
        L.Conv2D(5, (4, 2), strides=(2, 3), padding="same", name="same_even_s2"),
        L.Conv2D(5, 3, dilation_rate=2, padding="same", name="dilated"),
        L.Conv2D(6, 3, groups=2, padding="same", name="groups"),
        L.Conv2D(3, 1, strides=2, name="pointwise_s2"),
    ]),
    "conv2d_first": ((4, 8, 7), lambda: [
        L.Conv2D(5, 3, strides=2, padding="same", data_format="channels_first", name="first"),
    ]),
    "conv3d": ((6, 5, 4, 2), lambda: [
        L.Conv3D(3, 3, padding="same", strides=2, name="same_s2"),
        L.Conv3D(3, (2, 2, 1), name="valid"),
    ]),
    "conv_transpose": ((5, 6, 3), lambda: [
        L.Conv2DTranspose(4, 3, name="valid"),
        L.Conv2DTranspose(4, 3, strides=2, padding="same", name="same_s2"),
        L.Conv2DTranspose(4, 4, strides=2, padding="same", name="same_even"),
        L.Conv2DTranspose(4, 3, strides=2, output_padding=1, name="outpad_valid"),
        L.Conv2DTranspose(4, 3, strides=3, padding="same", output_padding=2, name="outpad_same"),
        L.Conv2DTranspose(4, 2, strides=1, dilation_rate=2, padding="same", name="dilated"),
        L.Conv2DTranspose(4, 1, strides=3, name="s_gt_k"),
    ]),
    "conv_transpose_1d3d": ((5, 3), lambda: [
        L.Conv1DTranspose(4, 3, strides=2, padding="same", name="t1d"),
        L.Conv1DTranspose(4, 2, strides=2, activation="tanh", name="t1d_valid"),
        
    ]),
    "depthwise": ((7, 6, 3), lambda: [
        L.DepthwiseConv2D(3, name="dw"),
        L.DepthwiseConv2D(4, strides=2, depth_multiplier=2, padding="same", name="dw_m2"),
        L.SeparableConv2D(5, 3, depth_multiplier=2, padding="same", activation="relu", name="sep"),
        L.SeparableConv2D(5, 3, strides=2, dilation_rate=1, use_bias=False, name="sep_s2"),
    ]),
    "depthwise1d": ((9, 3), lambda: [
        L.DepthwiseConv1D(3, depth_multiplier=2, padding="same", name="dw1"),
        L.SeparableConv1D(4, 3, strides=2, padding="same", name="sep1"),
    ]),
    "einsum": ((3, 4), lambda: [
        L.EinsumDense("abc,cd->abd", output_shape=(None, 5), bias_axes="d", name="e_abd"),
        L.EinsumDense("abc,cde->abde", output_shape=(None, 2, 3), bias_axes="de", name="mha_q"),
        L.EinsumDense("abc,cd->abd", output_shape=(None, 5), activation="relu", name="e_relu"),
        L.EinsumDense("...b,bc->...c", output_shape=5, bias_axes="c", name="ellipsis"),
        L.EinsumDense("abc,bcd->ad", output_shape=(6,), name="contract2"),
    ]),
    "einsum_mha_out": ((3, 2, 4), lambda: [
        L.EinsumDense("abcd,cde->abe", output_shape=(None, 5), bias_axes="e", name="mha_out"),
    ]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_conv_layers_match_keras(tmp_path: Path, case: str) -> None:
    shape, layers = CASES[case]
    check_both(tmp_path, lambda: randomize(branches(shape, layers())), case)


def test_conv3d_transpose_matches_keras(tmp_path: Path) -> None:
    def build():
        inp = keras.Input((3, 4, 2, 2), name="x")
        a = L.Conv3DTranspose(3, 3, strides=2, padding="same", name="t3d")(inp)
        b = L.Conv3DTranspose(3, 2, strides=(1, 2, 2), name="t3d_valid")(inp)
        return randomize(keras.Model(inp, [a, b]))
    check_both(tmp_path, build, "conv3dt")
