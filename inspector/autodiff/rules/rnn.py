"""VJP rules for ONNX's recurrent ops: LSTM, GRU and RNN.

The probe only exposes an op's outputs (Y, Y_h, Y_c), not its gates, so each rule re-runs
the recurrence in numpy (float64) from the forward inputs, keeping every step's gates, and
then walks the steps backwards. Covered: forward, reverse and bidirectional; layout 0 and 1;
GRU `linear_before_reset`; `clip`; LSTM peepholes; `initial_h`/`initial_c`; `sequence_lens`
(a batch row stops updating after its length, and its Y is zero there, as the spec says).
The recomputed outputs are compared with the model's own: a mismatch (an activation variant
read differently from onnxruntime) raises NotDifferentiable instead of a wrong gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from inspector.autodiff.rules.registry import Grad, NotDifferentiable, OpCtx, vjp_rule

Act = tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]


def _sig(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic


def _activation(name: str, alpha: float | None, beta: float | None) -> Act:
    """(f, f') of one recurrent activation, both as functions of the pre-activation."""
    n = name.lower()
    if n == "sigmoid":
        return _sig, lambda x: _sig(x) * (1.0 - _sig(x))
    if n == "tanh":
        return np.tanh, lambda x: 1.0 - np.tanh(x) ** 2
    if n == "relu":
        return lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(x.dtype)
    if n == "leakyrelu":
        a = 0.01 if alpha is None else alpha
        return (lambda x: np.where(x > 0, x, a * x)), (lambda x: np.where(x > 0, 1.0, a))
    if n == "hardsigmoid":
        a, b = (0.2 if alpha is None else alpha), (0.5 if beta is None else beta)
        return (lambda x: np.clip(a * x + b, 0.0, 1.0),
                lambda x: np.where((a * x + b > 0) & (a * x + b < 1), a, 0.0))
    if n == "affine":
        a, b = (1.0 if alpha is None else alpha), (0.0 if beta is None else beta)
        return (lambda x: a * x + b), (lambda x: np.full_like(x, a))
    if n == "scaledtanh":
        a, b = (1.0 if alpha is None else alpha), (1.0 if beta is None else beta)
        return (lambda x: a * np.tanh(b * x)), (lambda x: a * b * (1.0 - np.tanh(b * x) ** 2))
    if n == "softsign":
        return (lambda x: x / (1.0 + np.abs(x))), (lambda x: 1.0 / (1.0 + np.abs(x)) ** 2)
    if n == "softplus":
        return (lambda x: np.logaddexp(0.0, x)), _sig
    raise NotDifferentiable(f"recurrent activation {name} has no rule")


_USES_ALPHA = {"leakyrelu", "hardsigmoid", "affine", "scaledtanh", "thresholdedrelu", "elu"}
_USES_BETA = {"hardsigmoid", "affine", "scaledtanh"}


def _activations(ctx: OpCtx, defaults: Sequence[str], n_dir: int) -> list[list[Act]]:
    """Per direction, the op's activations; alphas/betas are consumed in order by the
    activations that take them (as onnxruntime's rnn_helpers reads them)."""
    # onnx.helper gives a strings attribute as a list of bytes.
    names = [a.decode() if isinstance(a, bytes) else str(a)
             for a in (ctx.attr("activations") or [])] or list(defaults) * n_dir
    if len(names) == len(defaults) and n_dir == 2:
        names = names * 2
    if len(names) != len(defaults) * n_dir:
        raise NotDifferentiable(f"{ctx.op_type}: {len(names)} activations for {n_dir} directions")
    alphas = list(ctx.attr("activation_alpha") or [])
    betas = list(ctx.attr("activation_beta") or [])
    acts = []
    for name in names:
        a = alphas.pop(0) if name.lower() in _USES_ALPHA and alphas else None
        b = betas.pop(0) if name.lower() in _USES_BETA and betas else None
        acts.append(_activation(name, a, b))
    k = len(defaults)
    return [acts[d * k:(d + 1) * k] for d in range(n_dir)]


class _Clip:
    """The `clip` attribute: gate pre-activations clipped to [-c, c], gradient zero outside."""

    def __init__(self, c: float | None) -> None:
        self.c = c

    def __call__(self, a: np.ndarray) -> np.ndarray:
        return a if self.c is None else np.clip(a, -self.c, self.c)

    def mask(self, a: np.ndarray) -> np.ndarray | float:
        # Tapes hold clipped values: those sitting exactly on the bound were cut off.
        return 1.0 if self.c is None else (np.abs(a) < self.c).astype(a.dtype)


def _lstm_step(p: dict[str, np.ndarray], acts: list[Act], clip: _Clip, xw: np.ndarray,
               h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """One LSTM step (gate order i, o, f, c; peepholes i, o, f); returns h, c and a tape."""
    (f, _), (g, _), (hf, _) = acts
    n = h.shape[1]
    a = xw + h @ p["R"].T
    ai, ao, af, ac = (a[:, k * n:(k + 1) * n] for k in range(4))
    ai, af = clip(ai + p["Pi"] * c), clip(af + p["Pf"] * c)
    ac = clip(ac)
    i, fg, cc = f(ai), f(af), g(ac)
    c_new = fg * c + i * cc
    ao = clip(ao + p["Po"] * c_new)
    o = f(ao)
    h_new = o * hf(c_new)
    return h_new, c_new, {"ai": ai, "ao": ao, "af": af, "ac": ac, "i": i, "f": fg, "g": cc,
                          "o": o, "c": c_new, "h_prev": h, "c_prev": c}


def _lstm_back(p: dict[str, np.ndarray], acts: list[Act], clip: _Clip, t: dict,
               dh: np.ndarray, dc: np.ndarray, gp: dict[str, np.ndarray]
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward through one LSTM step: (d gate pre-activations, d h_prev, d c_prev)."""
    (_, df), (_, dg), (hf, dhf) = acts
    dao = dh * hf(t["c"]) * df(t["ao"]) * clip.mask(t["ao"])
    dct = dc + dh * t["o"] * dhf(t["c"]) + dao * p["Po"]
    dai = dct * t["g"] * df(t["ai"]) * clip.mask(t["ai"])
    daf = dct * t["c_prev"] * df(t["af"]) * clip.mask(t["af"])
    dac = dct * t["i"] * dg(t["ac"]) * clip.mask(t["ac"])
    gp["Pi"] += (dai * t["c_prev"]).sum(0)
    gp["Pf"] += (daf * t["c_prev"]).sum(0)
    gp["Po"] += (dao * t["c"]).sum(0)
    da = np.concatenate([dai, dao, daf, dac], axis=1)
    gp["R"] += da.T @ t["h_prev"]
    dc_prev = dct * t["f"] + dai * p["Pi"] + daf * p["Pf"]
    return da, da @ p["R"], dc_prev


def _gru_step(p: dict[str, np.ndarray], acts: list[Act], clip: _Clip, lbr: bool,
              xw: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, dict]:
    """One GRU step (gate order z, r, h); returns h and a tape."""
    (f, _), (g, _) = acts
    n = h.shape[1]
    rz, rr, rh = (p["R"][k * n:(k + 1) * n] for k in range(3))
    bz, br, bh = (p["Rb"][k * n:(k + 1) * n] for k in range(3))
    az = clip(xw[:, :n] + h @ rz.T + bz)
    ar = clip(xw[:, n:2 * n] + h @ rr.T + br)
    z, r = f(az), f(ar)
    if lbr:  # linear_before_reset: r gates (h R_h + Rb_h), not h
        hrh = h @ rh.T + bh
        ah = clip(xw[:, 2 * n:] + r * hrh)
    else:
        hrh = r * h
        ah = clip(xw[:, 2 * n:] + hrh @ rh.T + bh)
    hh = g(ah)
    return (1.0 - z) * hh + z * h, {"az": az, "ar": ar, "ah": ah, "z": z, "r": r, "hh": hh,
                                    "hrh": hrh, "h_prev": h}


def _gru_back(p: dict[str, np.ndarray], acts: list[Act], clip: _Clip, lbr: bool, t: dict,
              dh: np.ndarray, gp: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Backward through one GRU step: (d of x W^T + Wb per gate, d h_prev)."""
    (_, df), (_, dg) = acts
    n = dh.shape[1]
    rz, rr, rh = (p["R"][k * n:(k + 1) * n] for k in range(3))
    h = t["h_prev"]
    dah = dh * (1.0 - t["z"]) * dg(t["ah"]) * clip.mask(t["ah"])
    dz = dh * (h - t["hh"])
    dh_prev = dh * t["z"]
    if lbr:
        dr = dah * t["hrh"]
        dhrh = dah * t["r"]
        gp["R"][2 * n:] += dhrh.T @ h
        gp["Rb"][2 * n:] += dhrh.sum(0)
        dh_prev = dh_prev + dhrh @ rh
    else:
        drh = dah @ rh
        gp["R"][2 * n:] += dah.T @ t["hrh"]
        gp["Rb"][2 * n:] += dah.sum(0)
        dr = drh * h
        dh_prev = dh_prev + drh * t["r"]
    daz = dz * df(t["az"]) * clip.mask(t["az"])
    dar = dr * df(t["ar"]) * clip.mask(t["ar"])
    gp["R"][:n] += daz.T @ h
    gp["R"][n:2 * n] += dar.T @ h
    gp["Rb"][:n] += daz.sum(0)
    gp["Rb"][n:2 * n] += dar.sum(0)
    dh_prev = dh_prev + daz @ rz + dar @ rr
    return np.concatenate([daz, dar, dah], axis=1), dh_prev


def _rnn_step(p: dict[str, np.ndarray], acts: list[Act], clip: _Clip, xw: np.ndarray,
              h: np.ndarray) -> tuple[np.ndarray, dict]:
    """One plain RNN step: h = f(x W^T + h R^T + b)."""
    a = clip(xw + h @ p["R"].T)
    return acts[0][0](a), {"a": a, "h_prev": h}


def _rnn_back(p: dict[str, np.ndarray], acts: list[Act], clip: _Clip, t: dict, dh: np.ndarray,
              gp: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Backward through one plain RNN step: (d pre-activation, d h_prev)."""
    da = dh * acts[0][1](t["a"]) * clip.mask(t["a"])
    gp["R"] += da.T @ t["h_prev"]
    return da, da @ p["R"]


_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
_DEFAULT_ACTS = {"LSTM": ("Sigmoid", "Tanh", "Tanh"), "GRU": ("Sigmoid", "Tanh"),
                 "RNN": ("Tanh",)}
_DIRECTIONS = {"forward": [False], "reverse": [True], "bidirectional": [False, True]}


def _f64(a: Any) -> np.ndarray | None:
    return None if a is None else np.asarray(a, dtype=np.float64)


def _grad_or_zeros(gys: Sequence[Grad], i: int, shape: tuple[int, ...], swap: bool
                   ) -> np.ndarray:
    """Output `i`'s gradient in layout 0 (float64), zeros when none arrived."""
    g = gys[i] if i < len(gys) else None
    if g is None:
        return np.zeros(shape)
    g = np.asarray(g, dtype=np.float64)
    if swap:  # layout 1: Y is [batch, seq, dir, hidden], Y_h [batch, dir, hidden]
        g = g.transpose(1, 2, 0, 3) if g.ndim == 4 else g.transpose(1, 0, 2)
    return g


def _check_outputs(ctx: OpCtx, outs: Sequence[np.ndarray], swap: bool) -> None:
    """Refuse to differentiate a recurrence we did not reproduce (a variant read wrongly)."""
    for k, (mine, theirs) in enumerate(zip(outs, ctx.y, strict=False)):
        if theirs is None:
            continue
        theirs = np.asarray(theirs, dtype=np.float64)
        if swap:
            theirs = theirs.transpose(1, 2, 0, 3) if theirs.ndim == 4 else theirs.transpose(1, 0, 2)
        if theirs.shape != mine.shape:
            raise NotDifferentiable(f"{ctx.op_type}: output {k} shape {theirs.shape} unexpected")
        err = float(np.abs(theirs - mine).max()) if mine.size else 0.0
        if err > 5e-3 * max(1.0, float(np.abs(mine).max(initial=0.0))):
            raise NotDifferentiable(
                f"{ctx.op_type}: recomputed output {k} differs from the model's by {err:.3g}")


def recurrent_vjp(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    """Gradients of an ONNX LSTM/GRU/RNN for X, W, R, B, initial_h (and initial_c, P)."""
    kind = ctx.op_type
    k = _GATES[kind]
    if int(ctx.attr("input_forget", 0) or 0):
        raise NotDifferentiable("LSTM with input_forget=1 has no rule")
    swap = int(ctx.attr("layout", 0) or 0) == 1
    x, w, r, b = (_f64(ctx.inp(i)) for i in range(4))
    if x is None or w is None or r is None:
        raise NotDifferentiable(f"{kind}: X, W and R are needed")
    h0, c0 = _f64(ctx.inp(5)), _f64(ctx.inp(6)) if kind == "LSTM" else None
    peep = _f64(ctx.inp(7)) if kind == "LSTM" else None
    if swap:
        x = x.transpose(1, 0, 2)
        h0 = None if h0 is None else h0.transpose(1, 0, 2)
        c0 = None if c0 is None else c0.transpose(1, 0, 2)
    steps, batch, _ = x.shape
    n_dir, hidden = w.shape[0], r.shape[-1]
    direction = ctx.attr("direction", "forward")
    direction = direction.decode() if isinstance(direction, bytes) else str(direction)
    dirs = _DIRECTIONS.get(direction)
    if dirs is None or len(dirs) != n_dir:
        raise NotDifferentiable(f"{kind}: direction {ctx.attr('direction')} with {n_dir} weights")
    acts = _activations(ctx, _DEFAULT_ACTS[kind], n_dir)
    clip = _Clip(ctx.attr("clip"))
    lbr = bool(int(ctx.attr("linear_before_reset", 0) or 0))
    seq = ctx.inp(4)
    lens = np.full(batch, steps) if seq is None else np.asarray(seq).astype(np.int64)
    state = (n_dir, batch, hidden)
    h0 = np.zeros(state) if h0 is None else h0
    c0 = np.zeros(state) if c0 is None else c0
    gy = _grad_or_zeros(gys, 0, (steps, n_dir, batch, hidden), swap)
    gyh = _grad_or_zeros(gys, 1, state, swap)
    gyc = _grad_or_zeros(gys, 2, state, swap)

    ys, yh, yc = np.zeros((steps, n_dir, batch, hidden)), np.zeros(state), np.zeros(state)
    gx, gw, gr = np.zeros_like(x), np.zeros_like(w), np.zeros_like(r)
    gb = np.zeros((n_dir, 2 * k * hidden))
    gh0, gc0, gpeep = np.zeros(state), np.zeros(state), np.zeros((n_dir, 3 * hidden))
    kh = k * hidden
    for d, reverse in enumerate(dirs):
        bias = np.zeros(2 * kh) if b is None else b[d]
        pp = np.zeros(3 * hidden) if peep is None else peep[d]
        p = {"R": r[d], "Rb": bias[kh:], "Pi": pp[:hidden], "Po": pp[hidden:2 * hidden],
             "Pf": pp[2 * hidden:]}
        # GRU keeps Rb apart (Rb_h sits inside the reset gate); the others just add it.
        xw = x @ w[d].T + bias[:kh] + (0.0 if kind == "GRU" else bias[kh:])
        h, c = h0[d], c0[d]
        tapes = []
        for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
            live = (t < lens)[:, None]  # rows past their sequence length keep their state
            if kind == "LSTM":
                h_new, c_new, tape = _lstm_step(p, acts[d], clip, xw[t], h, c)
                c = np.where(live, c_new, c)
            elif kind == "GRU":
                h_new, tape = _gru_step(p, acts[d], clip, lbr, xw[t], h)
            else:
                h_new, tape = _rnn_step(p, acts[d], clip, xw[t], h)
            h = np.where(live, h_new, h)
            ys[t, d] = np.where(live, h_new, 0.0)
            tapes.append((t, live, tape))
        yh[d], yc[d] = h, c

        gp = {"R": np.zeros_like(r[d]), "Rb": np.zeros(kh), "Pi": np.zeros(hidden),
              "Po": np.zeros(hidden), "Pf": np.zeros(hidden)}
        dxw = np.zeros_like(xw)
        dh, dc = gyh[d].copy(), gyc[d].copy()
        for t, live, tape in reversed(tapes):
            dh_t, dc_t = live * (dh + gy[t, d]), live * dc
            if kind == "LSTM":
                dxw[t], dh_prev, dc_prev = _lstm_back(p, acts[d], clip, tape, dh_t, dc_t, gp)
                dc = (1.0 - live) * dc + dc_prev
            elif kind == "GRU":
                dxw[t], dh_prev = _gru_back(p, acts[d], clip, lbr, tape, dh_t, gp)
            else:
                dxw[t], dh_prev = _rnn_back(p, acts[d], clip, tape, dh_t, gp)
            dh = (1.0 - live) * dh + dh_prev
        gx += dxw @ w[d]
        gw[d] = np.einsum("tng,tni->gi", dxw, x)
        gr[d] = gp["R"]
        gb[d, :kh] = dxw.sum(axis=(0, 1))
        gb[d, kh:] = gp["Rb"] if kind == "GRU" else gb[d, :kh]
        gh0[d], gc0[d] = dh, dc
        gpeep[d] = np.concatenate([gp["Pi"], gp["Po"], gp["Pf"]])

    _check_outputs(ctx, [ys, yh, yc][: len(ctx.y)], swap)
    if swap:
        gx, gh0, gc0 = gx.transpose(1, 0, 2), gh0.transpose(1, 0, 2), gc0.transpose(1, 0, 2)
    return [gx, gw, gr, gb, None, gh0, gc0 if kind == "LSTM" else None, gpeep][: len(ctx.x)]


@vjp_rule("LSTM", "GRU", "RNN")
def _recurrent(ctx: OpCtx, gys: Sequence[Grad]) -> list[Grad]:
    return recurrent_vjp(ctx, gys)
