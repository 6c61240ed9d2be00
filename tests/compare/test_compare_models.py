"""Comparisons on real conversions: same model in two formats, int8 (checked against
onnxruntime's qdq_loss_debug), float16, a deliberately broken copy, unrelated models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inspector.compare import CompareError, compare_models, match_models
from inspector.loaders import load_model
from tests.compare.conftest import DIGITS, DIGITS_INPUT, SAMPLES


@pytest.mark.convert
@pytest.mark.parametrize("keras_file, onnx_file, input_file", [
    ("digits_cnn.keras", "digits_cnn.onnx", "digits_cnn_input.npy"),
    ("iris_mlp.h5", "iris_mlp.onnx", "iris_mlp_input.npy"),
])
def test_keras_and_its_onnx_match_layer_for_layer(keras_file: str, onnx_file: str,
                                                  input_file: str) -> None:
    a, b = load_model(SAMPLES / keras_file), load_model(SAMPLES / onnx_file)
    report = compare_models(a, b, str(SAMPLES / input_file), threshold=1e-4)
    layers = {n.name for n in a.graph.nodes}
    assert {d.a for d in report.values} == layers  # every Keras layer has a value in B
    assert report.matching.unmatched_a == [] and report.matching.unmatched_b == []
    assert all(d.max_abs <= 1e-4 and d.cosine > 0.9999 for d in report.values)
    assert report.first_divergence is None
    # Keras kernels (kh, kw, in, out) matched to the ONNX (out, in, kh, kw) weights, equal.
    assert len(report.weights) == sum(len(n.weights) for n in a.graph.nodes)
    assert all(d.max_abs <= 1e-6 for d in report.weights)


def _ort_activations(path: Path, feed: np.ndarray) -> dict[str, list[np.ndarray]]:
    from onnxruntime.quantization.qdq_loss_debug import (
        collect_activations,
        modify_model_output_intermediate_tensors,
    )

    aug = path.with_name(path.stem + "_aug.onnx")
    modify_model_output_intermediate_tensors(str(path), str(aug))
    return collect_activations(str(aug), [{"image": feed}])


def test_static_int8_errors_equal_ort_qdq_loss_debug(conversions: dict[str, Path]) -> None:
    from onnxruntime.quantization.qdq_loss_debug import (
        compute_activation_error,
        create_activation_matching,
    )

    feed = np.load(DIGITS_INPUT)
    report = compare_models(load_model(conversions["float"]), load_model(conversions["static"]),
                            str(DIGITS_INPUT))
    ours = {d.a: d for d in report.values}
    match = create_activation_matching(_ort_activations(conversions["static"], feed),
                                       _ort_activations(conversions["float"], feed))
    theirs = compute_activation_error(match)
    checked = 0
    for name, err in theirs.items():
        if "xmodel_err" not in err:
            continue
        assert name in ours, name
        assert ours[name].snr_db == pytest.approx(err["xmodel_err"], abs=1e-3), name
        # ... and B's side of the pair is the value after the Q/DQ pair, as ORT's post_qdq.
        post = match[name]["post_qdq"][0]
        assert np.array_equal(np.asarray(report.acts_b[ours[name].b]).reshape(post.shape), post)
        checked += 1
    assert checked >= 6
    assert report.matching.unmatched_a == [] and report.matching.unmatched_b == []
    # Quantized weights are dequantized before comparing: close, but not equal.
    assert report.weights and all(20 < d.snr_db < 120 for d in report.weights)


def test_dynamic_int8_errors_equal_ort_compute_activation_error(
    conversions: dict[str, Path],
) -> None:
    from onnxruntime.quantization.qdq_loss_debug import compute_activation_error

    feed = np.load(DIGITS_INPUT)
    report = compare_models(load_model(conversions["float"]), load_model(conversions["dynamic"]),
                            str(DIGITS_INPUT))
    fa = _ort_activations(conversions["float"], feed)
    fb = _ort_activations(conversions["dynamic"], feed)
    # Dynamic quantization keeps each float op's output name: ORT's matching is by name.
    match = {n: {"pre_qdq": fb[n], "post_qdq": fb[n], "float": fa[n]}
             for n in fa if n in fb and n != "image"}
    theirs = compute_activation_error(match)
    ours = {d.a: d for d in report.values}
    for name, err in theirs.items():
        assert ours[name].snr_db == pytest.approx(err["xmodel_err"], abs=1e-3), name
    assert len(theirs) >= 8
    assert report.matching.unmatched_a == [] and report.matching.unmatched_b == []
    kinds = {load_model(conversions["dynamic"]).graph.node(n).op_type
             for bs in report.matching.a_to_b.values() for n in bs}
    assert {"ConvInteger", "MatMulInteger"} <= kinds  # the integer ops map to the float ones
    assert report.first_divergence is not None


def test_float16_copy(conversions: dict[str, Path]) -> None:
    report = compare_models(load_model(DIGITS), load_model(conversions["fp16"]),
                            str(DIGITS_INPUT), threshold=1e-2)
    a = load_model(DIGITS)
    assert len(report.values) == len(a.graph.nodes)
    assert report.matching.unmatched_a == [] and report.matching.unmatched_b == []
    assert all(1e-7 < d.max_rel < 1e-2 for d in report.values[1:])
    assert report.first_divergence is None
    assert all(d.snr_db > 60 for d in report.weights)


def test_broken_conv_weight_is_the_first_divergence(conversions: dict[str, Path]) -> None:
    report = compare_models(load_model(DIGITS), load_model(conversions["broken"]),
                            str(DIGITS_INPUT), threshold=1e-4)
    fd = report.first_divergence
    assert fd is not None
    assert fd.a == fd.b == "digits_cnn_1/conv2_1/BiasAdd:0"
    assert [d.snr_db for d in report.weights if d.max_abs > 0] == pytest.approx(
        [20 * np.log10(1 / 0.1)])


def test_unrelated_models_are_refused(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    def tiny(ops: list[str], name: str) -> Path:
        nodes, prev = [], "x"
        for i, op in enumerate(ops):
            nodes.append(helper.make_node(op, [prev], [f"{name}v{i}"], name=f"{name}{i}"))
            prev = f"{name}v{i}"
        g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [1, 4])])
        path = tmp_path / f"{name}.onnx"
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)
        return path

    a = load_model(tiny(["Sin", "Cos", "Exp", "Tanh"], "a"))
    b = load_model(tiny(["Relu", "Sigmoid", "Abs", "Neg"], "b"))
    with pytest.raises(CompareError, match="unrelated models"):
        compare_models(a, b)
    with pytest.raises(CompareError, match="mismatched input signatures"):
        compare_models(load_model(SAMPLES / "iris_mlp.onnx"), load_model(DIGITS))


def test_a_hand_made_match_overrides_the_automatic_one() -> None:
    a = load_model(DIGITS)
    m = match_models(a, a, [("digits_cnn_1/conv1_1/Relu", "digits_cnn_1/conv2_1/Relu")])
    pair = next(p for p in m.pairs if p.a == "digits_cnn_1/conv1_1/Relu:0")
    assert pair.how == "manual" and pair.b == "digits_cnn_1/conv2_1/Relu:0"
