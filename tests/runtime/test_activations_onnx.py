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
