"""Gradients through ONNX control flow (If, Loop, Scan), checked against central finite
differences of the whole model run by onnxruntime, and on the GRU sample against TensorFlow's
GradientTape on the Keras file it was converted from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from inspector.autodiff import compute_gradients, loss_and_grad
from inspector.autodiff.rules import NotDifferentiable
from inspector.autodiff.rules.graph import env_of, node_vjp
from inspector.loaders.registry import load_model
from inspector.progress import Cancelled, Task

R = np.random.default_rng(11)
D = TensorProto.DOUBLE  # float64 models: finite differences then check to ~1e-8
SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _init(name, a, dtype=np.float64):
    return numpy_helper.from_array(np.asarray(a, dtype), name)


def _vi(name, shape, elem=D):
    return helper.make_tensor_value_info(name, elem, shape)


def _save(path, nodes, inputs, outputs, inits, opset=17):
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))
    return path


class Oracle:
    """The loss of the whole model for given feeds and overridden weights, by onnxruntime."""

    def __init__(self, path, out, kind, target, probs=False):
        self.proto = onnx.load(str(path))
        self.out, self.kind, self.target, self.probs = out, kind, target, probs
        self.weights = {i.name: numpy_helper.to_array(i) for i in self.proto.graph.initializer}
        self._plain = self._session({})

    def _session(self, overrides):
        m = onnx.ModelProto()
        m.CopyFrom(self.proto)
        for init in m.graph.initializer:
            if init.name in overrides:
                init.CopyFrom(numpy_helper.from_array(overrides[init.name], init.name))
        return ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])

    def loss(self, feeds, overrides=None):
        sess = self._session(overrides) if overrides else self._plain
        y = sess.run([self.out], feeds)[0].astype(np.float64)
        return loss_and_grad(y, self.kind, self.target, self.probs).loss

    def grad_feed(self, feeds, name, h=1e-5):
        """Central differences of the loss in every element of one feed."""
        x = feeds[name]
        g = np.zeros(x.size)
        for j in range(x.size):
            xp, xm = x.copy().reshape(-1), x.copy().reshape(-1)
            xp[j] += h
            xm[j] -= h
            g[j] = (self.loss({**feeds, name: xp.reshape(x.shape)})
                    - self.loss({**feeds, name: xm.reshape(x.shape)})) / (2 * h)
        return g.reshape(x.shape)

    def grad_weight(self, feeds, name, h=1e-5):
        """Central differences of the loss in every element of one initializer."""
        w = self.weights[name]
        g = np.zeros(w.size)
        for j in range(w.size):
            wp, wm = w.copy().reshape(-1), w.copy().reshape(-1)
            wp[j] += h
            wm[j] -= h
            g[j] = (self.loss(feeds, {name: wp.reshape(w.shape)})
                    - self.loss(feeds, {name: wm.reshape(w.shape)})) / (2 * h)
        return g.reshape(w.shape)


def _close(got, fd, tol=1e-6):
    np.testing.assert_allclose(got, fd, rtol=1e-5, atol=tol * max(1.0, np.abs(fd).max()))


# ---------------------------------------------------------------- If


@pytest.fixture(scope="module")
def if_model(tmp_path_factory):
    """y = (sum(x) > 0 ? tanh(x W1) : sigmoid(x W2) * x) Wo: the branch depends on the data."""
    then_g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W1"], ["t0"], name="then_mm"),
         helper.make_node("Tanh", ["t0"], ["t1"], name="then_tanh")],
        "then", [], [_vi("t1", [2, 3])])
    else_g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W2"], ["e0"], name="else_mm"),
         helper.make_node("Sigmoid", ["e0"], ["e1"], name="else_sig"),
         helper.make_node("Mul", ["e1", "x"], ["e2"], name="else_mul")],
        "else", [], [_vi("e2", [2, 3])])
    nodes = [helper.make_node("ReduceSum", ["x"], ["s"], name="sum", keepdims=0),
             helper.make_node("Greater", ["s", "zero"], ["c"], name="positive"),
             helper.make_node("If", ["c"], ["branch"], name="choose", then_branch=then_g,
                              else_branch=else_g),
             helper.make_node("MatMul", ["branch", "Wo"], ["y"], name="out")]
    inits = [_init("W1", R.normal(size=(3, 3))), _init("W2", R.normal(size=(3, 3))),
             _init("Wo", R.normal(size=(3, 2))), _init("zero", 0.0)]
    path = tmp_path_factory.mktemp("if") / "if_model.onnx"
    return _save(path, nodes, [_vi("x", [2, 3])], [_vi("y", [2, 2])], inits)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_if_gradients_match_finite_differences(if_model, sign):
    x = sign * np.abs(R.normal(size=(2, 3))) + 0.05 * R.normal(size=(2, 3))
    assert np.sign(x.sum()) == sign
    res = compute_gradients(load_model(if_model), {"x": x}, target=0.3, loss="mse")
    assert res.uncovered == {}
    oracle = Oracle(if_model, "y", "mse", 0.3)
    assert res.loss == pytest.approx(oracle.loss({"x": x}), rel=1e-12)
    _close(res.values["x"], oracle.grad_feed({"x": x}, "x"))
    taken, skipped = ("then_mm/B", "else_mm/B") if sign > 0 else ("else_mm/B", "then_mm/B")
    w_taken, w_skipped = ("W1", "W2") if sign > 0 else ("W2", "W1")
    _close(res.values[taken], oracle.grad_weight({"x": x}, w_taken))
    _close(res.values["out/B"], oracle.grad_weight({"x": x}, "Wo"))
    # The branch not taken does not touch the loss: its weight's gradient is exactly zero.
    assert not np.any(oracle.grad_weight({"x": x}, w_skipped))
    assert not np.any(res.values[skipped])
    assert res.values["branch"].shape == (2, 3)


# ---------------------------------------------------------------- Loop


def _rnn_loop(path, stop_after):
    """h_t = tanh(x_t W + h U + b) for at most 5 steps (a body condition can stop it earlier);
    logits = (h_T + 0.1 * sum_t h_t) Wo. W, U, b are outer-scope weights read by the body."""
    body = helper.make_graph(
        [helper.make_node("Gather", ["x", "i"], ["xt"], name="rnn_step_input", axis=0),
         helper.make_node("MatMul", ["xt", "W"], ["xw"], name="rnn_xw"),
         helper.make_node("MatMul", ["h", "U"], ["hu"], name="rnn_hu"),
         helper.make_node("Add", ["xw", "hu"], ["a0"], name="rnn_sum"),
         helper.make_node("Add", ["a0", "b"], ["a"], name="rnn_bias"),
         helper.make_node("Tanh", ["a"], ["h_next"], name="rnn_tanh"),
         helper.make_node("Identity", ["h_next"], ["h_scan"], name="rnn_scan"),
         helper.make_node("Add", ["i", "one"], ["i1"], name="rnn_count"),
         helper.make_node("Less", ["i1", "stop"], ["go"], name="rnn_go")],
        "rnn_body",
        [_vi("i", [], TensorProto.INT64), _vi("cond_in", [], TensorProto.BOOL),
         _vi("h", [2, 4])],
        [_vi("go", [], TensorProto.BOOL), _vi("h_next", [2, 4]), _vi("h_scan", [2, 4])],
        initializer=[_init("one", 1, np.int64)])
    nodes = [helper.make_node("Loop", ["M", "true", "h0"], ["hT", "hs"], name="rnn", body=body),
             helper.make_node("ReduceSum", ["hs", "axis0"], ["hsum"], name="hsum", keepdims=0),
             helper.make_node("Mul", ["hsum", "tenth"], ["hmix"], name="scale"),
             helper.make_node("Add", ["hT", "hmix"], ["z"], name="mix"),
             helper.make_node("MatMul", ["z", "Wo"], ["logits"], name="head")]
    inits = [_init("W", R.normal(size=(3, 4))), _init("U", R.normal(size=(4, 4)) * 0.5),
             _init("b", R.normal(size=4)), _init("Wo", R.normal(size=(4, 3))),
             _init("tenth", 0.1), _init("M", 5, np.int64), _init("stop", stop_after, np.int64),
             _init("axis0", [0], np.int64), _init("true", True, np.bool_)]
    return _save(path, nodes, [_vi("x", [5, 2, 3]), _vi("h0", [2, 4])],
                 [_vi("logits", [2, 3])], inits)


@pytest.mark.parametrize("stop_after", [5, 3])
def test_loop_rnn_gradients_match_finite_differences(tmp_path, stop_after):
    path = _rnn_loop(tmp_path / "rnn.onnx", stop_after)
    feeds = {"x": R.normal(size=(5, 2, 3)), "h0": R.normal(size=(2, 4)) * 0.5}
    res = compute_gradients(load_model(path), feeds, target=1, loss="ce")
    assert res.uncovered == {}
    oracle = Oracle(path, "logits", "ce", 1)
    assert res.loss == pytest.approx(oracle.loss(feeds), rel=1e-12)
    for name in ("x", "h0"):
        _close(res.values[name], oracle.grad_feed(feeds, name))
    if stop_after < 5:  # steps never run read nothing: their inputs get exactly zero
        assert not np.any(res.values["x"][stop_after:]) and np.any(res.values["x"][0])
    for key, init in [("rnn_xw/B", "W"), ("rnn_hu/B", "U"), ("rnn_bias/B", "b"),
                      ("head/B", "Wo")]:
        _close(res.values[key], oracle.grad_weight(feeds, init))
    assert res.values["hs"].shape == (stop_after, 2, 4)
    assert res.norms["rnn"] > 0


def test_loop_with_if_inside_recurses(tmp_path):
    """A Loop whose body holds an If on the running state: both levels re-executed."""
    then_g = helper.make_graph([helper.make_node("Tanh", ["a"], ["o1"], name="in_tanh")],
                               "then", [], [_vi("o1", [2, 3])])
    else_g = helper.make_graph(
        [helper.make_node("MatMul", ["a", "V"], ["o0"], name="in_mm"),
         helper.make_node("Sigmoid", ["o0"], ["o2"], name="in_sig")],
        "else", [], [_vi("o2", [2, 3])])
    body = helper.make_graph(
        [helper.make_node("MatMul", ["h", "W"], ["a"], name="step_mm"),
         helper.make_node("ReduceSum", ["h"], ["s"], name="step_sum", keepdims=0),
         helper.make_node("Greater", ["s", "zero"], ["pos"], name="step_pos"),
         helper.make_node("If", ["pos"], ["h_next"], name="step_if", then_branch=then_g,
                          else_branch=else_g),
         helper.make_node("Identity", ["cond_in"], ["cond_out"], name="step_cond")],
        "body", [_vi("i", [], TensorProto.INT64), _vi("cond_in", [], TensorProto.BOOL),
                 _vi("h", [2, 3])],
        [_vi("cond_out", [], TensorProto.BOOL), _vi("h_next", [2, 3])])
    nodes = [helper.make_node("Loop", ["M", "", "x"], ["hT"], name="loop", body=body)]
    inits = [_init("W", R.normal(size=(3, 3))), _init("V", R.normal(size=(3, 3))),
             _init("zero", 0.0), _init("M", 4, np.int64)]
    path = _save(tmp_path / "nested.onnx", nodes, [_vi("x", [2, 3])], [_vi("hT", [2, 3])],
                 inits)
    feeds = {"x": R.normal(size=(2, 3))}
    res = compute_gradients(load_model(path), feeds, target=0.2, loss="mse")
    assert res.uncovered == {}
    oracle = Oracle(path, "hT", "mse", 0.2)
    _close(res.values["x"], oracle.grad_feed(feeds, "x"))
    _close(res.values["step_mm/B"], oracle.grad_weight(feeds, "W"))
    _close(res.values["in_mm/B"], oracle.grad_weight(feeds, "V"))


def test_loop_checks_cancel_every_iteration(tmp_path):
    """Two checks per iteration (re-run, backward): a long loop can be stopped mid-way."""
    feeds = {"x": R.normal(size=(5, 2, 3)), "h0": R.normal(size=(2, 4))}
    counts = {}
    for steps in (5, 3):
        model = load_model(_rnn_loop(tmp_path / f"rnn{steps}.onnx", steps))
        seen: list[int] = []
        compute_gradients(model, feeds, target=1,
                          task=Task(cancelled=lambda seen=seen: bool(seen.append(1))))
        counts[steps] = len(seen)
    assert counts[5] - counts[3] == 4
    stop_at = counts[5] - 4  # inside the Loop's backward sweep
    seen = []

    def cancelled() -> bool:
        seen.append(1)
        return len(seen) > stop_at

    with pytest.raises(Cancelled):
        compute_gradients(load_model(tmp_path / "rnn5.onnx"), feeds, target=1,
                          task=Task(cancelled=cancelled))
    assert len(seen) == stop_at + 1


def _tanh_loop(path, elem, dtype):
    body = helper.make_graph(
        [helper.make_node("MatMul", ["h", "U"], ["hu"], name="half_mm"),
         helper.make_node("Tanh", ["hu"], ["hn"], name="half_tanh"),
         helper.make_node("Identity", ["cond_in"], ["cond_out"], name="keep")],
        "body", [_vi("i", [], TensorProto.INT64), _vi("cond_in", [], TensorProto.BOOL),
                 _vi("h", [2, 3], elem)],
        [_vi("cond_out", [], TensorProto.BOOL), _vi("hn", [2, 3], elem)])
    u = np.random.default_rng(5).normal(size=(3, 3)).astype(np.float16)  # same in both twins
    nodes = [helper.make_node("Loop", ["M", "", "x"], ["hT"], name="loop", body=body)]
    return _save(path, nodes, [_vi("x", [2, 3], elem)], [_vi("hT", [2, 3], elem)],
                 [_init("U", u, dtype), _init("M", 3, np.int64)])


def test_float16_loop_runs_its_body_in_float16(tmp_path):
    """The body re-runs in the model's own float16 (so it reproduces the Loop's output) and is
    differentiated in float32; the float64 twin's finite differences are the oracle."""
    x = np.random.default_rng(6).normal(size=(2, 3))
    half = _tanh_loop(tmp_path / "half.onnx", TensorProto.FLOAT16, np.float16)
    res = compute_gradients(load_model(half), {"x": x.astype(np.float16)}, target=0.1,
                            loss="mse")
    assert res.uncovered == {}
    oracle = Oracle(_tanh_loop(tmp_path / "double.onnx", D, np.float64), "hT", "mse", 0.1)
    x16 = x.astype(np.float16).astype(np.float64)
    for got, fd in [(res.values["x"], oracle.grad_feed({"x": x16}, "x")),
                    (res.values["half_mm/B"], oracle.grad_weight({"x": x16}, "U"))]:
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, fd, rtol=2e-2, atol=5e-3 * np.abs(fd).max())


# ---------------------------------------------------------------- Scan


@pytest.mark.parametrize("in_dir,out_dir,out_axis", [(0, 0, 1), (1, 1, 0), (1, 0, -1)])
def test_scan_gradients_match_finite_differences(tmp_path, in_dir, out_dir, out_axis):
    """Scan over axis 1 of x: h = tanh(x_t W + h U), y_t = h * h; logits from h_T and sum y."""
    body = helper.make_graph(
        [helper.make_node("MatMul", ["xt", "W"], ["xw"], name="sc_xw"),
         helper.make_node("MatMul", ["h", "U"], ["hu"], name="sc_hu"),
         helper.make_node("Add", ["xw", "hu"], ["a"], name="sc_add"),
         helper.make_node("Tanh", ["a"], ["h_next"], name="sc_tanh"),
         helper.make_node("Mul", ["h_next", "h_next"], ["yt"], name="sc_sq")],
        "scan_body", [_vi("h", [2, 4]), _vi("xt", [2, 3])],
        [_vi("h_next", [2, 4]), _vi("yt", [2, 4])])
    reduce_axis = out_axis % 3
    nodes = [helper.make_node("Scan", ["h0", "x"], ["hT", "ys"], name="scan", body=body,
                              num_scan_inputs=1, scan_input_axes=[1],
                              scan_input_directions=[in_dir], scan_output_axes=[out_axis],
                              scan_output_directions=[out_dir]),
             helper.make_node("ReduceSum", ["ys", "red"], ["ysum"], name="ysum", keepdims=0),
             helper.make_node("Concat", ["hT", "ysum"], ["z"], name="cat", axis=1),
             helper.make_node("MatMul", ["z", "Wo"], ["logits"], name="head")]
    inits = [_init("W", R.normal(size=(3, 4))), _init("U", R.normal(size=(4, 4)) * 0.5),
             _init("Wo", R.normal(size=(8, 3))), _init("red", [reduce_axis], np.int64)]
    path = _save(tmp_path / "scan.onnx", nodes, [_vi("h0", [2, 4]), _vi("x", [2, 5, 3])],
                 [_vi("logits", [2, 3])], inits)
    feeds = {"h0": R.normal(size=(2, 4)) * 0.5, "x": R.normal(size=(2, 5, 3))}
    res = compute_gradients(load_model(path), feeds, target=2, loss="ce")
    assert res.uncovered == {}
    oracle = Oracle(path, "logits", "ce", 2)
    for name in ("x", "h0"):
        _close(res.values[name], oracle.grad_feed(feeds, name))
    for key, init in [("sc_xw/B", "W"), ("sc_hu/B", "U"), ("head/B", "Wo")]:
        _close(res.values[key], oracle.grad_weight(feeds, init))


# ---------------------------------------------------------------- honest gaps


def _loop_around(path, body_nodes, body_out):
    body = helper.make_graph(
        [*body_nodes, helper.make_node("Identity", ["cond_in"], ["cond_out"], name="keep")],
        "body", [_vi("i", [], TensorProto.INT64), _vi("cond_in", [], TensorProto.BOOL),
                 _vi("h", [2, 3])],
        [_vi("cond_out", [], TensorProto.BOOL), _vi(body_out, [2, 3])],
        initializer=[_init("ax", 1, np.int64)])
    nodes = [helper.make_node("Loop", ["M", "", "x"], ["hT"], name="loop", body=body),
             helper.make_node("Tanh", ["hT"], ["y"], name="act")]
    return _save(path, nodes, [_vi("x", [2, 3])], [_vi("y", [2, 3])],
                 [_init("M", 3, np.int64)])


def test_loop_body_without_a_rule_is_listed_not_zero(tmp_path):
    path = _loop_around(tmp_path / "cumsum.onnx",
                        [helper.make_node("CumSum", ["h", "ax"], ["c"], name="running_total"),
                         helper.make_node("Sin", ["c"], ["hn"], name="wave")], "hn")
    res = compute_gradients(load_model(path), {"x": R.normal(size=(2, 3))}, loss="mse")
    assert "running_total" in res.uncovered["loop"] and "CumSum" in res.uncovered["loop"]
    assert "hT" in res.values and "x" not in res.values  # unknown, not silently zero


def test_loop_refuses_forward_values_it_cannot_reproduce(tmp_path):
    """The re-executed iterations must give the model's own Loop output, else no gradient."""
    path = _loop_around(tmp_path / "sin.onnx",
                        [helper.make_node("Sin", ["h"], ["hn"], name="wave")], "hn")
    proto = onnx.load(str(path))
    loop = proto.graph.node[0]
    x = R.normal(size=(2, 3))
    values = {"x": x, "M": np.array(3, np.int64)}
    true_ht = np.sin(np.sin(np.sin(x)))  # three steps of h = sin(h), by numpy
    g = np.ones((2, 3))
    grads = node_vjp(loop, {**values, "hT": true_ht}, [g], env_of(proto))
    _close(grads["x"], np.cos(x) * np.cos(np.sin(x)) * np.cos(np.sin(np.sin(x))), 1e-12)
    with pytest.raises(NotDifferentiable, match="does not reproduce 'hT'"):
        node_vjp(loop, {**values, "hT": true_ht + 1e-3}, [g], env_of(proto))


# ---------------------------------------------------------------- GRU sample vs TensorFlow


@pytest.mark.convert
def test_gru_sample_weight_gradients_equal_gradient_tape():
    """The tf2onnx Loop of trend_gru.onnx against GradientTape on trend_gru.keras.

    tf2onnx's initializers are matched to Keras weights by value (each Keras weight must equal
    exactly one initializer, as is or transposed), then their gradients are compared.
    """
    pytest.importorskip("tensorflow")
    x = np.load(SAMPLES / "trend_gru_input.npy")
    x = np.concatenate([x, x[:, ::-1] * 0.5 + 0.1])  # two sequences: a batch, not one row
    kmodel = load_model(SAMPLES / "trend_gru.keras")
    omodel = load_model(SAMPLES / "trend_gru.onnx")
    kres = compute_gradients(kmodel, {kmodel.graph.inputs[0]: x}, target=0)
    ores = compute_gradients(omodel, {omodel.graph.inputs[0]: x}, target=0)
    assert ores.uncovered == {}
    assert ores.loss == pytest.approx(kres.loss, rel=1e-5)

    # Every ONNX weight key of a main-graph node, with the initializer it names.
    onnx_keys = {}
    for node in omodel.graph.nodes:
        for w in node.weights:
            onnx_keys.setdefault(w.tensor.name, f"{node.name}/{w.name}")
    inits = {n: t.numpy() for n, t in omodel.graph.initializers.items()}
    matched = 0
    for knode in kmodel.graph.nodes:
        for w in knode.weights:
            kw = w.tensor.numpy()
            hits = [(n, tr) for n, a in inits.items() for tr in ((False, True) if kw.ndim == 2 else (False,))
                    if a.shape == (kw.T.shape if tr else kw.shape)
                    and np.array_equal(a, kw.T if tr else kw)]
            assert len(hits) == 1, (knode.name, w.name, hits)
            init, transposed = hits[0]
            og = ores.values[onnx_keys[init]]
            kg = kres.values[f"{knode.name}/{w.name}"]
            np.testing.assert_allclose(og.T if transposed else og, kg, rtol=1e-5,
                                       atol=1e-6 * np.abs(kg).max(), err_msg=w.name)
            matched += 1
    assert matched == 5  # GRU kernel, recurrent kernel, bias; Dense kernel and bias
    np.testing.assert_allclose(ores.values[omodel.graph.inputs[0]], kres.values["sequence"],
                               rtol=1e-5, atol=1e-6 * np.abs(kres.values["sequence"]).max())
