"""A backprop right after the Activations run of the same file and input reuses that run's
forward values (the app's flow: Activations, then Gradients) instead of running the model a
second time; anything that makes those values stale (another input, the input edited in
place, the file rewritten, the run's result dropped) runs the model again. Gradients are the
same bits either way, and the reused arrays are never written to."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from inspector.autodiff import compute_gradients
from inspector.loaders.registry import load_model
from inspector.runtime import last_run
from inspector.runtime.activations import clear_sessions, run_activations, session_for
from inspector.runtime.onnx_probe import ProbeSession
from tests.runtime.test_activations_onnx import mobile_block


@pytest.fixture
def runs(monkeypatch) -> list[int]:
    """How many times a ProbeSession ran the model (the real run, counted)."""
    clear_sessions()
    count: list[int] = []
    real = ProbeSession.run_all

    def counted(self, feeds, task=None, **kw):
        count.append(1)
        return real(self, feeds, task, **kw) if task is not None else real(self, feeds, **kw)

    monkeypatch.setattr(ProbeSession, "run_all", counted)
    yield count
    clear_sessions()


def _cold(model, feeds, **kw):
    last_run.forget()
    return compute_gradients(model, feeds, **kw)


def _same(a, b) -> None:
    assert set(a.values) == set(b.values)
    for k in a.values:
        np.testing.assert_array_equal(a.values[k], b.values[k], err_msg=k)
    assert a.loss == b.loss and a.uncovered == b.uncovered


@pytest.mark.parametrize("lazy", [False, True])
def test_backprop_after_the_run_reuses_its_values(tmp_path: Path, runs: list[int], lazy: bool):
    model = load_model(mobile_block(tmp_path / "mb.onnx"))
    x = np.random.default_rng(0).normal(size=(1, 8, 24, 24)).astype(np.float32)
    acts = run_activations(model, {"x": x}, lazy=lazy)
    before = {k: np.array(acts.values[k], copy=True) for k in acts.values}
    assert len(runs) == 1
    warm = compute_gradients(model, {"x": x}, target=2)
    assert len(runs) == 1  # no second forward
    cold = _cold(model, {"x": x}, target=2)
    assert len(runs) == 2
    _same(warm, cold)
    assert warm.values["x"].shape == x.shape and np.abs(warm.values["x"]).sum() > 0
    for k, v in before.items():  # what the Activations tab shows was not touched
        np.testing.assert_array_equal(acts.values[k], v, err_msg=k)


def test_stale_values_are_never_reused(tmp_path: Path, runs: list[int]):
    path = mobile_block(tmp_path / "mb.onnx")
    model = load_model(path)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 8, 24, 24)).astype(np.float32)
    acts = run_activations(model, {"x": x})

    other = x.copy()
    other[0, 3, 5, 7] += 0.5  # one element differs: another input
    got = compute_gradients(model, {"x": other}, target=1)
    assert len(runs) == 2
    _same(got, _cold(model, {"x": other}, target=1))

    acts = run_activations(model, {"x": x})
    x[0, 0, 0, 0] = 9.0  # the caller edits its input array in place after the run
    got = compute_gradients(model, {"x": x}, target=1)
    assert len(runs) == 5  # run, cold run, run again, then a fresh forward here
    _same(got, _cold(model, {"x": x}, target=1))

    acts = run_activations(model, {"x": x.astype(np.float64).astype(np.float32)})
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the file was rewritten
    n = len(runs)
    compute_gradients(load_model(path), {"x": x}, target=1)
    assert len(runs) == n + 1

    acts = run_activations(model := load_model(path), {"x": x})
    del acts
    gc.collect()  # the run's result is gone: nothing holds its values any more
    n = len(runs)
    compute_gradients(model, {"x": x}, target=1)
    assert len(runs) == n + 1


def _external_mlp(path: Path) -> Path:
    rng = np.random.default_rng(2)
    inits = [numpy_helper.from_array(rng.normal(size=(6, 5)).astype(np.float32), "W"),
             numpy_helper.from_array(rng.normal(size=5).astype(np.float32), "b")]
    nodes = [helper.make_node("MatMul", ["x", "W"], ["mm"], name="mm"),
             helper.make_node("Add", ["mm", "b"], ["logits"], name="add"),
             helper.make_node("Softmax", ["logits"], ["y"], name="softmax", axis=-1)]
    graph = helper.make_graph(
        nodes, "ext", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path), save_as_external_data=True, location=path.name + ".data",
              size_threshold=0)
    return path


def test_external_weights_share_one_session(tmp_path: Path, runs: list[int]):
    """A lazy session of a model with external weights takes the plain path: the backprop's
    session is that same object (the weights are held once), and its gradients are right."""
    path = _external_mlp(tmp_path / "ext.onnx")
    model = load_model(path)
    lazy = session_for(path, lazy=True)
    assert lazy.layout == "plain"
    assert session_for(path) is lazy
    x = np.random.default_rng(3).normal(size=(2, 6)).astype(np.float32)
    acts = run_activations(model, {"x": x}, lazy=True)
    got = compute_gradients(model, {"x": x}, target=4)
    assert len(runs) == 1
    # d CE / d logits = (p - onehot) / n; d logits / d x = W^T.
    p = np.asarray(acts.values["y"], np.float64)
    onehot = np.zeros_like(p)
    onehot[:, 4] = 1
    w = numpy_helper.to_array(onnx.load(str(path)).graph.initializer[0]).astype(np.float64)
    np.testing.assert_allclose(got.values["x"], (p - onehot) / 2 @ w.T, rtol=1e-5, atol=1e-6)
