"""ProbeSession / expose_all_values against plain onnxruntime runs of real ONNX models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from inspector.progress import Cancelled, Task
from inspector.runtime.errors import InputError, RunError
from inspector.runtime.onnx_probe import ProbeSession, expose_all_values
from tests.runtime import activation_models as onnx_models


def plain_run(path: Path, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds), strict=True))


def node_outputs(path: Path) -> list[str]:
    return [o for n in onnx.load(str(path)).graph.node for o in n.output if o]


def check_probe(path: Path, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    probe = ProbeSession(path)
    got = probe.run(feeds)
    want = plain_run(path, feeds)
    assert probe.output_names == list(want)
    for name, arr in want.items():
        np.testing.assert_allclose(got[name], arr, rtol=1e-6, atol=1e-7)
        assert got[name].dtype == arr.dtype
    # Every main-graph node output is either captured or skipped with a reason.
    for out in node_outputs(path):
        assert (out in got) != (out in probe.skipped), out
    for name, arr in feeds.items():
        np.testing.assert_array_equal(got[name], arr)
    assert set(probe.value_names) == set(got)
    return got


def test_conv_net_every_value(tmp_path: Path) -> None:
    path = onnx_models.conv_net(tmp_path / "conv.onnx")
    x = np.random.default_rng(0).normal(size=(2, 3, 16, 16)).astype(np.float32)
    got = check_probe(path, {"image": x})
    assert ProbeSession(path).skipped == {}
    assert got["c1"].shape == (2, 8, 16, 16)
    assert got["p1"].shape == (2, 8, 8, 8)
    # The intermediate Relu is what onnx's own reference evaluator computes for that node.
    from onnx.reference import ReferenceEvaluator

    ref = ReferenceEvaluator(str(path))
    (r1,) = ref.run(["r1"], {"image": x})
    np.testing.assert_allclose(got["r1"], r1, rtol=1e-4, atol=1e-4)


def test_residual_mlp_order_and_values(tmp_path: Path) -> None:
    path = onnx_models.residual_mlp(tmp_path / "mlp.onnx")
    x = np.random.default_rng(1).normal(size=(3, 6)).astype(np.float32)
    got = check_probe(path, {"x": x})
    probe = ProbeSession(path)
    # value_names: inputs first, then node outputs in graph order.
    assert probe.value_names == ["x", "mm1", "h1", "a1", "mm2", "h2", "res", "y"]
    w1 = onnx.numpy_helper.to_array(onnx.load(str(path)).graph.initializer[0])
    np.testing.assert_allclose(got["mm1"], x @ w1, rtol=1e-5)


def test_bfloat16_value_is_skipped_with_reason(tmp_path: Path) -> None:
    path = onnx_models.bfloat16_model(tmp_path / "bf16.onnx")
    x = np.arange(-3, 3, dtype=np.float32).reshape(2, 3)
    got = check_probe(path, {"x": x})
    probe = ProbeSession(path)
    assert list(probe.skipped) == ["r_bf16"]
    assert "bfloat16" in probe.skipped["r_bf16"]
    assert "r_back" in got and "r" in got


def test_if_node_branch_values_absent(tmp_path: Path) -> None:
    path = onnx_models.if_model(tmp_path / "if.onnx")
    for x in (np.array([1, 2, 3], np.float32), np.array([-1, -2, 0.5], np.float32)):
        got = check_probe(path, {"x": x})
        assert "branch" in got
        assert "then_out" not in got and "else_out" not in got


def test_expose_all_values_leaves_input_unchanged(tmp_path: Path) -> None:
    path = onnx_models.residual_mlp(tmp_path / "mlp.onnx")
    proto = onnx.load(str(path))
    before = proto.SerializeToString()
    probe, skipped = expose_all_values(proto)
    assert proto.SerializeToString() == before
    assert skipped == []
    assert [o.name for o in probe.graph.output] == ["y", "a1", "mm1", "h1", "mm2", "h2", "res"]
    onnx.checker.check_model(probe)


def test_external_data_model(tmp_path: Path) -> None:
    src = onnx_models.conv_net(tmp_path / "conv.onnx")
    proto = onnx.load(str(src))
    ext = tmp_path / "ext"
    ext.mkdir()
    onnx.save(proto, str(ext / "m.onnx"), save_as_external_data=True,
              all_tensors_to_one_file=True, location="m.data", size_threshold=0)
    x = np.random.default_rng(0).normal(size=(1, 3, 16, 16)).astype(np.float32)
    got = ProbeSession(ext / "m.onnx").run({"image": x})
    np.testing.assert_allclose(got["probs"], plain_run(src, {"image": x})["probs"], rtol=1e-6, atol=1e-7)


def test_bad_files_and_feeds(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage" * 50)
    with pytest.raises(RunError):
        ProbeSession(bad)
    with pytest.raises(RunError, match="no such file"):
        ProbeSession(tmp_path / "missing.onnx")
    path = onnx_models.residual_mlp(tmp_path / "mlp.onnx")
    probe = ProbeSession(path)
    with pytest.raises(InputError, match="missing"):
        probe.run({})
    with pytest.raises(InputError, match="unknown"):
        probe.run({"x": np.zeros((1, 6), np.float32), "z": np.zeros(1)})
    with pytest.raises(RunError):
        probe.run({"x": np.zeros((1, 7), np.float32)})


def test_cancel_before_run(tmp_path: Path) -> None:
    path = onnx_models.residual_mlp(tmp_path / "mlp.onnx")
    probe = ProbeSession(path)
    with pytest.raises(Cancelled):
        probe.run({"x": np.zeros((1, 6), np.float32)}, Task(cancelled=lambda: True))


def test_run_activations_onnx_by_node(tmp_path: Path) -> None:
    from inspector.loaders.registry import load_model
    from inspector.runtime.activations import run_activations, session_for
    from inspector.runtime.inputs import make_inputs

    path = onnx_models.conv_net(tmp_path / "conv.onnx")
    model = load_model(path)
    feeds = make_inputs(model, seed=1, dims={"batch": 2})
    seen: list[float] = []
    result = run_activations(model, feeds, Task(progress=lambda f, m: seen.append(f)))
    want = plain_run(path, feeds)
    np.testing.assert_allclose(result.outputs["probs"], want["probs"], rtol=1e-6, atol=1e-7)
    for node in model.graph.nodes:
        assert result.by_node[node.name] == list(node.outputs), node.name
    assert set(result.values) == {"image", *node_outputs(path)}
    assert seen and seen == sorted(seen) and seen[-1] == 1.0
    assert result.seconds > 0
    # The session is reused for a second input (no second probe build).
    assert session_for(path) is session_for(path)


def test_run_activations_samples() -> None:
    from inspector.loaders.registry import load_model
    from inspector.runtime.activations import run_activations
    from inspector.runtime.inputs import load_inputs

    samples = Path(__file__).resolve().parents[2] / "samples"
    for stem in ("iris_mlp", "digits_cnn"):
        model = load_model(samples / f"{stem}.onnx")
        feeds = load_inputs(samples / f"{stem}_input.npy", model)
        result = run_activations(model, feeds)
        want = plain_run(samples / f"{stem}.onnx", feeds)
        for name, arr in want.items():
            np.testing.assert_allclose(result.outputs[name], arr, rtol=1e-6, atol=1e-7)
        assert all(result.by_node[n.name] for n in model.graph.nodes)


# --- the NCHWc fast path (onnx_blocked) ------------------------------------------------------


def mobile_block(path: Path, channels: int = 32, odd: int = 20) -> Path:
    """A MobileNet-like block: Conv, Clip(0, 6), constant Pad, depthwise Conv, Mul by a
    per-channel constant, Clip, 1x1 Conv, residual Add, Relu, and a Conv whose channel count
    (`odd`) does not fill whole NCHWc blocks; then GlobalAveragePool, MatMul, Softmax."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)
    f = np.float32
    c = channels

    def init(name: str, arr: np.ndarray) -> onnx.TensorProto:
        return numpy_helper.from_array(arr, name)

    inits = [
        init("w1", (0.3 * rng.normal(size=(c, 8, 3, 3))).astype(f)),
        init("b1", rng.normal(size=c).astype(f)),
        init("lo", np.array(0.0, f)), init("hi", np.array(6.0, f)),
        init("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)),
        init("wd", rng.normal(size=(c, 1, 3, 3)).astype(f)),
        init("scale", rng.uniform(0.5, 1.5, (c, 1, 1)).astype(f)),
        init("wp", (0.2 * rng.normal(size=(c, c, 1, 1))).astype(f)),
        init("wo", (0.2 * rng.normal(size=(odd, c, 3, 3))).astype(f)),
        init("fc", rng.normal(size=(odd, 5)).astype(f)),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["conv1"], pads=[1, 1, 1, 1]),
        helper.make_node("Clip", ["conv1", "lo", "hi"], ["relu6_1"]),
        helper.make_node("Pad", ["relu6_1", "pads"], ["padded"], mode="constant"),
        helper.make_node("Conv", ["padded", "wd"], ["dw"], group=c),
        helper.make_node("Mul", ["dw", "scale"], ["bn"]),
        helper.make_node("Clip", ["bn", "lo", "hi"], ["relu6_2"]),
        helper.make_node("Conv", ["relu6_2", "wp"], ["project"]),
        helper.make_node("Add", ["project", "relu6_1"], ["residual"]),
        helper.make_node("Relu", ["residual"], ["relu3"]),
        helper.make_node("Conv", ["relu3", "wo"], ["odd_conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["odd_conv"], ["sig"]),
        helper.make_node("GlobalAveragePool", ["sig"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"]),
        helper.make_node("MatMul", ["flat", "fc"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"]),
    ]
    graph = helper.make_graph(
        nodes, "mobile_block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 8, 24, 24])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["n", 5])], inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def assert_same_values(fast: ProbeSession, slow: ProbeSession, feeds: dict) -> dict:
    got, want = fast.run(feeds), slow.run(feeds)
    assert list(got) == list(want) == fast.value_names == slow.value_names
    for name in want:
        # Same kernels on the same numbers: the fast path must give the very same bits.
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
        assert got[name].dtype == want[name].dtype and got[name].flags.c_contiguous, name
    return dict(got.items())


def test_blocked_probe_bit_equal_to_plain_probe(tmp_path: Path) -> None:
    from inspector.runtime.onnx_blocked import nchwc_block_size

    path = mobile_block(tmp_path / "mb.onnx")
    x = np.random.default_rng(3).normal(size=(2, 8, 24, 24)).astype(np.float32)
    fast, slow = ProbeSession(path, lazy=True), ProbeSession(path)
    assert slow.layout == "plain"
    if nchwc_block_size() is None:
        pytest.skip("this onnxruntime build has no NCHWc kernels")
    assert fast.layout == "blocked"
    assert fast._padded and fast._blocked  # noqa: SLF001 - the fast path really was taken
    got = assert_same_values(fast, slow, {"x": x})
    assert set(got) == {"x", *node_outputs(path)}
    # Final outputs equal a plain onnxruntime run of the original file.
    np.testing.assert_allclose(got["probs"], plain_run(path, {"x": x})["probs"], rtol=1e-6, atol=1e-7)
    # onnx's reference evaluator agrees on what the recomputed Pad and the blocked Clip hold.
    from onnx.reference import ReferenceEvaluator

    ref = ReferenceEvaluator(str(path))
    for name in ("padded", "relu6_2", "odd_conv"):
        (r,) = ref.run([name], {"x": x})
        np.testing.assert_allclose(got[name], r, rtol=1e-4, atol=1e-4, err_msg=name)
    assert got["padded"].shape == (2, 32, 26, 26)
    assert got["odd_conv"].shape == (2, 20, 24, 24)


def test_blocked_probe_via_run_activations(tmp_path: Path) -> None:
    from inspector.loaders.registry import load_model
    from inspector.runtime.activations import run_activations

    path = mobile_block(tmp_path / "mb.onnx")
    model = load_model(path)
    x = np.random.default_rng(4).normal(size=(1, 8, 24, 24)).astype(np.float32)
    eager = run_activations(model, {"x": x})
    assert type(eager.values) is dict  # plain arrays: nothing left for the GUI thread to do
    lazy = run_activations(model, {"x": x}, lazy=True)
    assert not isinstance(lazy.values, dict)
    assert list(lazy.values) == list(eager.values)
    for name, arr in eager.values.items():
        np.testing.assert_array_equal(lazy.values[name], arr, err_msg=name)
    for node in model.graph.nodes:
        assert lazy.by_node[node.name] == eager.by_node[node.name] == list(node.outputs)
    np.testing.assert_array_equal(lazy.outputs["probs"], eager.outputs["probs"])


def test_unblock_matches_onnxruntime_reorder() -> None:
    from inspector.runtime.onnx_blocked import nchwc_block_size, unblock

    block = nchwc_block_size()
    if block is None:
        pytest.skip("this onnxruntime build has no NCHWc kernels")
    rng = np.random.default_rng(5)
    for channels in (block, 2 * block, block + 4, 3):
        padded = -(-channels // block) * block
        raw = rng.normal(size=(2, padded, 5, 7)).astype(np.float32)
        a = unblock(raw, channels, block)
        b = unblock(raw, channels, block, use_ort=False)
        np.testing.assert_array_equal(a, b)
        assert a.shape == (2, channels, 5, 7)
        # Element (n, c, h, w) lives at block c // block, lane c % block of the raw memory.
        flat = raw.reshape(2, padded // block, 5, 7, block)
        assert a[1, channels - 1, 4, 6] == flat[1, (channels - 1) // block, 4, 6, (channels - 1) % block]
    with pytest.raises(ValueError):
        unblock(np.zeros((1, block + 1, 2, 2), np.float32), block, block)


def test_captured_values_read_lazily_once(tmp_path: Path) -> None:
    path = mobile_block(tmp_path / "mb.onnx")
    probe = ProbeSession(path, lazy=True)
    x = np.random.default_rng(6).normal(size=(1, 8, 24, 24)).astype(np.float32)
    values = probe.run({"x": x})
    first = values["conv1"]
    assert values["conv1"] is first  # computed once
    assert "padded" in values and "nope" not in values
    with pytest.raises(KeyError):
        values["nope"]
    plain = values.materialize()
    assert list(plain) == probe.value_names and plain["conv1"] is first


def test_blocked_probe_falls_back_on_external_data(tmp_path: Path) -> None:
    src = mobile_block(tmp_path / "mb.onnx")
    ext = tmp_path / "ext"
    ext.mkdir()
    onnx.save(onnx.load(str(src)), str(ext / "m.onnx"), save_as_external_data=True,
              all_tensors_to_one_file=True, location="m.data", size_threshold=0)
    probe = ProbeSession(ext / "m.onnx", lazy=True)
    assert probe.layout == "plain"
    x = np.random.default_rng(8).normal(size=(1, 8, 24, 24)).astype(np.float32)
    assert_same_values(probe, ProbeSession(src), {"x": x})


@pytest.fixture(scope="session")
def mobilenet_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("tensorflow")
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf
    import tf2onnx

    path = tmp_path_factory.mktemp("mnv2") / "mobilenetv2.onnx"
    model = keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3))
    wrapped = keras.Model(model.inputs, model.outputs)  # tf2onnx needs a Functional (NOTES.md)
    spec = [tf.TensorSpec((1, 96, 96, 3), tf.float32, name="image")]
    tf2onnx.convert.from_keras(wrapped, input_signature=spec, opset=17, output_path=str(path))
    return path


@pytest.mark.convert
def test_blocked_probe_mobilenetv2(mobilenet_onnx: Path) -> None:
    from inspector.runtime.onnx_blocked import nchwc_block_size

    fast, slow = ProbeSession(mobilenet_onnx, lazy=True), ProbeSession(mobilenet_onnx)
    if nchwc_block_size() is not None:
        assert fast.layout == "blocked"
    x = np.random.default_rng(9).random((1, 96, 96, 3), dtype=np.float32)
    got = assert_same_values(fast, slow, {"image": x})
    assert set(got) == {"image", *node_outputs(mobilenet_onnx)}
    np.testing.assert_allclose(got[fast.output_names[0]],
                               plain_run(mobilenet_onnx, {"image": x})[fast.output_names[0]],
                               rtol=1e-5, atol=1e-7)
