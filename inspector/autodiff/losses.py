"""The losses whose gradients the app explains, with their gradient at the model output.

One numpy implementation serves both engines: the ONNX backward pass starts from
`LossValue.grad`, and the Keras one hands it to `GradientTape.gradient(output_gradients=)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inspector.runtime.errors import InputError

LOSSES = ("ce", "mse")
#: Probabilities are clipped here before the log, as Keras does, so p == 0 stays finite.
EPS = 1e-7


@dataclass(frozen=True)
class LossValue:
    """A loss value, its gradient with respect to the output, and the class it aimed at."""

    loss: float
    grad: np.ndarray
    target: int | None
    reduction: dict = field(default_factory=dict)


def loss_and_grad(
    y: np.ndarray,
    kind: str = "ce",
    target: int | float | np.ndarray | None = None,
    probabilities: bool = False,
) -> LossValue:
    """Loss `kind` of output `y` against `target`, and d loss / d y.

    "ce": cross entropy against class `target` (default: each row's argmax), averaged over
    rows (every axis but the last), as Keras's SparseCategoricalCrossentropy: with
    `probabilities` on the output as is, else `from_logits=True`; a single unit is binary
    cross entropy with target 0/1. "mse": mean((y - target)^2) over every element, as
    Keras's MeanSquaredError (gradient 2 (y - t) / N), the target a scalar (default 0) or an
    array broadcast to y. `LossValue.reduction` states the convention (see `reduction`).
    """
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.floating):
        raise InputError(f"the output has dtype {y.dtype}: a loss needs floating values")
    if kind == "mse":
        return _mse(y, target)
    if kind != "ce":
        raise InputError(f"unknown loss '{kind}' (choose {' or '.join(LOSSES)})")
    return _cross_entropy(y, target, probabilities)


def _mse(y: np.ndarray, target: int | float | np.ndarray | None) -> LossValue:
    t = np.zeros((), dtype=np.float64) if target is None else np.asarray(target, np.float64)
    try:
        diff = y.astype(np.float64) - np.broadcast_to(t, y.shape)
    except ValueError:
        raise InputError(
            f"an MSE target of shape {t.shape} does not fit the output shape {y.shape}"
        ) from None
    n = max(1, diff.size)
    loss = float(np.sum(diff * diff)) / n
    return LossValue(loss, (2.0 * diff / n).astype(y.dtype), None, reduction("mse", y.shape))


def class_targets(target: int | float | np.ndarray | None, default: np.ndarray,
                  classes: int) -> np.ndarray:
    """Class indices shaped like `default` (the argmax, used when `target` is None);
    InputError for a non-integer or out-of-range class."""
    if target is None:
        return default
    t = np.asarray(target)
    if t.dtype.kind == "f":
        bad = ~np.isfinite(t) | (t != np.round(t))
        if np.any(bad):
            raise InputError("a cross-entropy target must be a class index, not "
                             f"{t[bad].flat[0]!r}")
    hi = max(classes, 2)
    out = (t < 0) | (t >= hi)
    if np.any(out):
        raise InputError(f"class {t[out].flat[0].item()!r} is out of range: the output has "
                         f"{hi} classes")
    t = t.astype(np.int64)
    return np.broadcast_to(t, default.shape).copy()


def _cross_entropy(
    y: np.ndarray, target: int | float | np.ndarray | None, probabilities: bool
) -> LossValue:
    y64 = y.astype(np.float64)
    if y64.ndim == 0:
        y64 = y64.reshape(1)
    classes = y64.shape[-1]
    rows = y64.reshape(-1, classes)
    n = rows.shape[0]
    if classes == 1:
        # One unit: binary cross entropy; a logit unless the model applies a sigmoid itself.
        v = rows[:, 0]
        default = (v >= (0.5 if probabilities else 0.0)).astype(np.int64)
        t = class_targets(target, default, 1).astype(np.float64)
        if probabilities:
            p = np.clip(v, EPS, 1 - EPS)
            loss = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
            g = (-(t / p) + (1 - t) / (1 - p)) / n
            g = np.where((v > EPS) & (v < 1 - EPS), g, 0.0)  # clipped: no gradient, as Keras
        else:
            loss = np.mean(np.logaddexp(0, v) - t * v)
            g = (0.5 * (1 + np.tanh(0.5 * v)) - t) / n
        grad = g.reshape(-1, 1)
    else:
        t = class_targets(target, rows.argmax(axis=1), classes)
        onehot = np.zeros_like(rows)
        onehot[np.arange(n), t] = 1.0
        if probabilities:
            p = rows[np.arange(n), t]
            pc = np.clip(p, EPS, 1.0)
            loss = -np.mean(np.log(pc))
            grad = np.where(onehot > 0, -1.0 / pc[:, None], 0.0) / n
            grad[np.arange(n), t] *= p > EPS
        else:
            z = rows - rows.max(axis=1, keepdims=True)
            lse = np.log(np.exp(z).sum(axis=1, keepdims=True))
            loss = np.mean(lse[:, 0] - z[np.arange(n), t])
            grad = (np.exp(z - lse) - onehot) / n
    uniq = np.unique(t)
    tgt = int(uniq[0]) if uniq.size == 1 else None
    return LossValue(float(loss), grad.reshape(y.shape).astype(y.dtype), tgt,
                     reduction("ce", y.shape, probabilities))


def reduction(kind: str, shape: tuple[int, ...], probabilities: bool = False) -> dict:
    """How a loss reduces over the batch and the elements, as `grad --json` and the UI state it.

    Keys: `keras` (the equivalent Keras loss), `batch` and `elements` ("mean"/"sum"), `count`
    (the N divided by), `from_logits` (cross entropy only), `formula` (d loss / d y).
    """
    shape = tuple(int(d) for d in shape) or (1,)
    size = int(np.prod(shape))
    if kind == "mse":
        return {"keras": "keras.losses.MeanSquaredError()", "batch": "mean", "elements": "mean",
                "count": size, "formula": f"loss = mean((y - t)^2) over {size} elements; "
                                          f"d loss / d y = 2 (y - t) / {size}"}
    classes = shape[-1]
    rows = size // max(1, classes)
    if classes == 1:
        name = f"keras.losses.BinaryCrossentropy(from_logits={not probabilities})"
        elements = "one unit per row"
    else:
        name = f"keras.losses.SparseCategoricalCrossentropy(from_logits={not probabilities})"
        elements = f"sum over {classes} classes"
    d = {(False, False): "(softmax(y) - onehot)", (True, False): "-onehot / y",
         (False, True): "(sigmoid(y) - t)", (True, True): "(y - t) / (y (1 - y))"}[
        (probabilities, classes == 1)]
    return {"keras": name, "batch": "mean", "elements": elements, "count": rows,
            "from_logits": not probabilities,
            "formula": f"loss = mean over {rows} row(s) of -log p[target]; "
                       f"d loss / d y = {d} / {rows}"}
