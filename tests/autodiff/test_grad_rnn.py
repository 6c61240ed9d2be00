"""The LSTM, GRU and RNN rules against central finite differences of onnxruntime.

onnxruntime has no double kernel for these ops (measured: "does not support double yet"),
so `check_vjp` falls back to float32 with a 1e-2 step and a 1e-3 tolerance. Layout 1 has no
onnxruntime kernel either; it is checked as the transpose of the layout-0 gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from inspector.autodiff.rules import RULES, NotDifferentiable, OpCtx, backward_node
from tests.autodiff.test_grad_vjp import check_vjp

T, N, D_IN, H = 4, 3, 2, 3
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
N_OUT = {"LSTM": 3, "GRU": 2, "RNN": 2}


def _inputs(op: str, n_dir: int, seed: int, *, bias: bool = True, init: bool = True,
            lens: bool = False, peep: bool = False) -> list[np.ndarray | None]:
    rng = np.random.default_rng(seed)
    g = GATES[op]
    xs: list[np.ndarray | None] = [
        rng.standard_normal((T, N, D_IN)),
        rng.standard_normal((n_dir, g * H, D_IN)) * 0.6,
        rng.standard_normal((n_dir, g * H, H)) * 0.6,
        rng.standard_normal((n_dir, 2 * g * H)) * 0.3 if bias else None,
        np.array([T, 2, 3], dtype=np.int32) if lens else None,
        rng.standard_normal((n_dir, N, H)) * 0.5 if init else None,
    ]
    if op == "LSTM":
        xs.append(rng.standard_normal((n_dir, N, H)) * 0.5 if init else None)
        xs.append(rng.standard_normal((n_dir, 3 * H)) * 0.3 if peep else None)
    while xs and xs[-1] is None:
        xs.pop()
    return xs


def _check(op: str, direction: str, seed: int = 0, **kw: object) -> list:
    n_dir = 2 if direction == "bidirectional" else 1
    lens = bool(kw.pop("lens", False))
    peep = bool(kw.pop("peep", False))
    init = bool(kw.pop("init", True))
    xs = _inputs(op, n_dir, seed, lens=lens, peep=peep, init=init)
    attrs = {"hidden_size": H, "direction": direction, **kw}
    return check_vjp(op, xs, attrs, opset=14, n_out=N_OUT[op], consts=[4] if lens else (),
                     seed=seed)


def test_rules_are_registered() -> None:
    assert {"LSTM", "GRU", "RNN"} <= set(RULES)


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
def test_every_direction(op: str, direction: str) -> None:
    grads = _check(op, direction)
    # X, W, R, B and initial_h (and initial_c) all get a checked gradient.
    assert sum(g is not None for g in grads) == (6 if op == "LSTM" else 5)


@pytest.mark.parametrize("lbr", [0, 1])
def test_gru_linear_before_reset(lbr: int) -> None:
    _check("GRU", "bidirectional", seed=1, linear_before_reset=lbr)


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
def test_sequence_lens_and_no_initial_state(op: str, direction: str) -> None:
    """Rows shorter than the sequence stop updating; without initial states they start at 0."""
    _check(op, direction, seed=2, lens=True, init=False)


def test_lstm_peepholes() -> None:
    _check("LSTM", "bidirectional", seed=3, peep=True)


def _ort_outputs(op: str, seed: int, attrs: dict) -> list[np.ndarray]:
    from tests.autodiff.test_grad_vjp import op_session

    xs = [None if a is None else np.asarray(a, np.float32) for a in _inputs(op, 1, seed)]
    sess, _ = op_session(op, xs, {"hidden_size": H, **attrs}, 14, N_OUT[op], set())
    return sess.run(None, {f"x{i}": a for i, a in enumerate(xs) if a is not None})


# Seeds whose float32 finite differences (step 1e-2) do not straddle a clip bound: a
# straddled kink makes one element's difference quotient meaningless, not the rule wrong.
@pytest.mark.parametrize("op,clip,seed", [("LSTM", 1.5, 11), ("GRU", 1.0, 5), ("RNN", 1.0, 11)])
def test_clip(op: str, clip: float, seed: int) -> None:
    """Gate pre-activations clipped to [-clip, clip] pass no gradient beyond the bound."""
    clipped = _ort_outputs(op, seed, {"clip": clip})
    free = _ort_outputs(op, seed, {})
    assert np.abs(clipped[0] - free[0]).max() > 1e-2  # the bound is really hit
    _check(op, "forward", seed=seed, clip=clip)


def test_other_activations() -> None:
    """Relu-like kinks: seeds chosen so no finite-difference step straddles one."""
    _check("RNN", "bidirectional", seed=6, activations=["Relu", "Tanh"])
    _check("RNN", "forward", seed=8, activations=["LeakyRelu"], activation_alpha=[0.3])
    _check("LSTM", "forward", seed=8, activations=["HardSigmoid", "Tanh", "Softsign"],
           activation_alpha=[0.3], activation_beta=[0.4])


def _ctx(op: str, xs: list, ys: list, attrs: dict) -> OpCtx:
    node = helper.make_node(op, [f"x{i}" for i in range(len(xs))],
                            [f"y{i}" for i in range(len(ys))], **attrs)
    return OpCtx(op, attrs, xs, ys, 14, node)


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_layout_one_is_the_transposed_layout_zero(op: str) -> None:
    """Batch-major tensors (layout 1) give the batch-major transpose of layout 0's gradients."""
    xs = [None if a is None else np.asarray(a, np.float32)
          for a in _inputs(op, 2, 9)]
    rng = np.random.default_rng(9)
    attrs = {"hidden_size": H, "direction": "bidirectional"}
    grads0 = check_vjp(op, xs, attrs, opset=14, n_out=N_OUT[op], seed=9)
    assert grads0[0] is not None
    # The same forward values and cotangents, handed over batch-major.
    from tests.autodiff.test_grad_vjp import op_session

    sess, _ = op_session(op, xs, attrs, 14, N_OUT[op], set())
    ys = sess.run(None, {f"x{i}": a for i, a in enumerate(xs) if a is not None})
    cots = [rng.standard_normal(y.shape).astype(np.float32) for y in ys]
    g0 = backward_node(_ctx(op, xs, ys, attrs), cots)

    xs1 = [a.transpose(1, 0, 2) if i in (0, 5, 6) else a for i, a in enumerate(xs)]
    ys1 = [ys[0].transpose(2, 0, 1, 3)] + [y.transpose(1, 0, 2) for y in ys[1:]]
    cots1 = [cots[0].transpose(2, 0, 1, 3)] + [c.transpose(1, 0, 2) for c in cots[1:]]
    g1 = backward_node(_ctx(op, xs1, ys1, {**attrs, "layout": 1}), cots1)
    for i, (a, b) in enumerate(zip(g0, g1, strict=True)):
        if a is None:
            assert b is None
            continue
        want = a.transpose(1, 0, 2) if i in (0, 5, 6) else a
        np.testing.assert_allclose(b, want, rtol=1e-6, atol=1e-7)


def test_a_recurrence_it_cannot_reproduce_is_refused() -> None:
    """Outputs that disagree with the recomputation (e.g. an activation read differently)
    give NotDifferentiable rather than a wrong gradient."""
    xs = [None if a is None else np.asarray(a, np.float32) for a in _inputs("GRU", 1, 10)]
    from tests.autodiff.test_grad_vjp import op_session

    attrs = {"hidden_size": H}
    sess, _ = op_session("GRU", xs, attrs, 14, 2, set())
    ys = sess.run(None, {f"x{i}": a for i, a in enumerate(xs) if a is not None})
    backward_node(_ctx("GRU", xs, ys, attrs), [np.ones_like(ys[0]), None])  # agrees
    with pytest.raises(NotDifferentiable, match="differs"):
        backward_node(_ctx("GRU", xs, ys, {**attrs, "linear_before_reset": 1}),
                      [np.ones_like(ys[0]), None])
    with pytest.raises(NotDifferentiable, match="input_forget"):
        backward_node(_ctx("LSTM", xs, ys, {"hidden_size": H, "input_forget": 1}), [None])
