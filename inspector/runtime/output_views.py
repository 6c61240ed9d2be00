"""How a model output is best shown, chosen from its shape, dtype and name, and the numbers
each view draws (top-k classes, per-position top-k tokens, maps, statistics). No Qt.

A flat class vector gets class bars; a [N, T, V] output named like logits is a sequence of
token distributions; N x C x H x W (or N x H x W x C) maps are images; hidden states and
embeddings are a heatmap with statistics; integers (token ids, argmax classes) stay integers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: The views an output can get.
KINDS = ("classes", "binary", "sequence", "spatial", "embedding", "integers", "values")

#: Name parts that say an output holds class or token scores before softmax.
_LOGIT_WORDS = ("logit", "score")
#: Name parts that say an output already holds probabilities.
_PROB_WORDS = ("prob", "softmax", "sigmoid", "confidence")
#: Name parts that say an output is a representation, not a prediction.
_EMBED_WORDS = ("hidden", "embed", "state", "feature", "encoder", "pooler", "pooled", "latent",
                "present", "past", "key", "value", "attention")
#: Name parts of per-pixel outputs.
_MAP_WORDS = ("map", "mask", "heat", "seg", "depth", "saliency")
#: A spatial side is at least this long (smaller trailing dims are channels or features).
MIN_SIDE = 4


@dataclass(frozen=True)
class OutputView:
    """The view chosen for one output and why, in one line the panel can show."""

    kind: str
    reason: str
    #: Shape with the batch axis removed (sample 0 of a batch is shown).
    sample_shape: tuple[int, ...]
    batch: int = 1
    #: Values are scores: softmax (sigmoid for one unit) gives probabilities.
    logits: bool = False
    #: "CHW", "HWC" or "HW" for spatial outputs.
    layout: str = ""
    #: The name says these are logits: show probabilities (softmax) without being asked.
    named_logits: bool = False

    @property
    def positions(self) -> int:
        """Sequence length T of a sequence view (0 otherwise)."""
        return self.sample_shape[0] if self.kind == "sequence" else 0

    @property
    def classes(self) -> int:
        """Classes (or vocabulary size) per prediction."""
        if self.kind in ("classes", "binary"):
            return int(np.prod(self.sample_shape)) if self.sample_shape else 1
        return self.sample_shape[-1] if self.kind == "sequence" else 0


def _words(name: str, words: Sequence[str]) -> bool:
    low = name.lower()
    return any(w in low for w in words)


def _in_unit_range(values: np.ndarray | None) -> bool:
    if values is None or not values.size or values.dtype.kind not in "biuf":
        return False
    v = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    return bool(v.size) and float(v.min()) >= -1e-6 and float(v.max()) <= 1 + 1e-6


def _rows_sum_to_one(values: np.ndarray | None) -> bool:
    if values is None or values.ndim < 1 or not values.size or not _in_unit_range(values):
        return False
    sums = values.astype(np.float64).sum(axis=-1)
    return bool(np.allclose(sums, 1.0, atol=1e-3))


def spatial_layout(shape: tuple[int, ...]) -> str:
    """"CHW" or "HWC" for a 3-D (batch-less) map: few channels first is the ONNX default."""
    c_first, c_last = shape[0], shape[-1]
    if c_last <= 4 < c_first and shape[1] > 4:
        return "HWC"
    if c_first <= 4 or (c_first < shape[1] and c_first < shape[2]):
        return "CHW"
    return "HWC" if c_last < shape[0] and c_last < shape[1] else "CHW"


def choose_view(shape: Sequence[int], dtype: str | np.dtype, name: str = "", *,
                labels: Sequence[str] | None = None,
                values: np.ndarray | None = None) -> OutputView:
    """The view for an output of `shape` and `dtype` called `name`; `labels` (their count) and
    `values` (sample 0, to tell probabilities from scores) refine the guess when given."""
    shape = tuple(int(d) for d in shape)
    kind = np.dtype(dtype).kind
    batch = shape[0] if len(shape) >= 2 else 1
    sample = shape[1:] if len(shape) >= 2 else shape
    v = None if values is None else np.asarray(values)
    if v is not None and v.shape != sample and v.shape == shape and len(shape) >= 2:
        v = v[0]
    n_labels = len(labels) if labels else 0
    if kind in "iub":
        what = "booleans" if kind == "b" else \
            "token ids" if _words(name, ("id", "token")) else "integers"
        return OutputView("integers", f"{what}: shown as they are", sample, batch)
    if kind not in "f":
        return OutputView("values", f"{np.dtype(dtype)} values cannot be plotted", sample, batch)
    size = int(np.prod(sample)) if sample else 1
    logit_name, prob_name = _words(name, _LOGIT_WORDS), _words(name, _PROB_WORDS)
    embed_name = _words(name, _EMBED_WORDS) and not (logit_name or prob_name)
    if size <= 1:
        if _in_unit_range(v) or prob_name:
            return OutputView("binary", "one unit in [0, 1]: p and 1 - p", sample, batch)
        if logit_name:
            return OutputView("binary", "one logit: sigmoid gives p", sample, batch, logits=True,
                              named_logits=True)
        return OutputView("values", "one value", sample, batch)
    squeezed = tuple(d for d in sample if d != 1)
    if len(squeezed) == 1 and len(sample) >= 1 and not embed_name:
        probs = prob_name or _rows_sum_to_one(v) or (_in_unit_range(v) and not logit_name)
        why = f"a vector of {size} classes"
        if not probs:
            why += "; softmax of the scores gives probabilities"
        return OutputView("classes", why, sample, batch, logits=not probs,
                          named_logits=logit_name and not probs)
    if len(squeezed) == 1:
        return OutputView("embedding", f"a {size}-value representation ('{name}')", sample,
                          batch)
    if len(sample) == 2:
        t, d = sample
        big_side = min(t, d) >= 32 and max(t, d) / max(1, min(t, d)) <= 4
        rows_are_distributions = _rows_sum_to_one(v)
        if logit_name or (n_labels and n_labels == d) or (
                (prob_name or rows_are_distributions) and not big_side):
            probs = prob_name or rows_are_distributions
            return OutputView("sequence", f"{t} positions x {d} classes each",
                              sample, batch, logits=not probs,
                              named_logits=logit_name and not probs)
        if _words(name, _MAP_WORDS) or (big_side and not embed_name):
            return OutputView("spatial", f"a {t}x{d} map", sample, batch, layout="HW")
        return OutputView("embedding", f"{t} positions x {d} features", sample, batch)
    if len(sample) == 3 and not embed_name:
        layout = spatial_layout(sample)
        h, w = (sample[1], sample[2]) if layout == "CHW" else (sample[0], sample[1])
        c = sample[0] if layout == "CHW" else sample[2]
        if min(h, w) >= MIN_SIDE:
            return OutputView("spatial", f"{c} map(s) of {h}x{w}", sample, batch, layout=layout)
    return OutputView("embedding", f"a {'x'.join(map(str, sample))} tensor", sample, batch)


# --- numbers for the views -------------------------------------------------------------------


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax over `axis` in float64, stable for large scores."""
    a = np.asarray(x, dtype=np.float64)
    m = np.max(a, axis=axis, keepdims=True)
    e = np.exp(a - np.where(np.isfinite(m), m, 0.0))
    return e / np.sum(e, axis=axis, keepdims=True)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function in float64."""
    a = np.asarray(x, dtype=np.float64)
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def to_probabilities(v: np.ndarray) -> np.ndarray:
    """Scores -> probabilities: softmax over the last axis, sigmoid for a single unit."""
    a = np.asarray(v, dtype=np.float64)
    return sigmoid(a) if a.shape[-1:] == (1,) or a.ndim == 0 else softmax(a)


def top_k(v: np.ndarray, k: int, names: Sequence[str] | None = None
          ) -> list[tuple[int, str, float]]:
    """(index, label, value) of the k largest values of a flat vector, largest first."""
    flat = np.asarray(v, dtype=np.float64).reshape(-1)
    order = np.argsort(-flat, kind="stable")[:max(1, k)]
    return [(int(i), _label(names, int(i)), float(flat[i])) for i in order]


def _label(names: Sequence[str] | None, i: int) -> str:
    return str(names[i]) if names is not None and 0 <= i < len(names) else str(i)


def position_top_k(sample: np.ndarray, position: int, k: int, *, logits: bool,
                   names: Sequence[str] | None = None) -> list[tuple[int, str, float]]:
    """Top-k tokens at `position` of a [T, V] output (probabilities when `logits`)."""
    row = np.asarray(sample)[position]
    return top_k(softmax(row) if logits else row, k, names)


def format_integers(a: np.ndarray, limit: int = 64) -> str:
    """Integers as integers ("25962 318 ..."), rows on lines, at most `limit` values."""
    arr = np.asarray(a)
    flat = arr.reshape(-1)
    text_of = (lambda x: "true" if x else "false") if arr.dtype.kind == "b" else \
        (lambda x: str(int(x)))
    if arr.ndim >= 2 and arr.shape[-1] and flat.size <= limit:
        rows = arr.reshape(-1, arr.shape[-1])
        return "\n".join(" ".join(text_of(x) for x in r) for r in rows)
    shown = " ".join(text_of(x) for x in flat[:limit])
    return shown + (f" … ({flat.size} values)" if flat.size > limit else "")


def vocabulary_from_metadata(metadata: Mapping[str, str] | None) -> list[str] | None:
    """Token strings by id from metadata: "vocab"/"vocabulary"/"id2label" as a JSON list,
    an {id: token} or a {token: id} object (tokenizer vocab.json), or "labels"."""
    meta = metadata or {}
    for key in ("vocab", "vocabulary", "id2label", "tokens", "labels"):
        raw = meta.get(key)
        if not raw:
            continue
        try:
            data = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            data = [s.strip() for s in str(raw).split(",")] if key == "labels" else None
        vocab = _vocab_list(data)
        if vocab:
            return vocab
    return None


def _vocab_list(data: object) -> list[str] | None:
    if isinstance(data, list) and data:
        return [str(x) for x in data]
    if isinstance(data, dict) and data:
        if all(str(k).lstrip("-").isdigit() for k in data):
            pairs = {int(k): str(v) for k, v in data.items()}
        elif all(isinstance(v, int) for v in data.values()):
            pairs = {int(v): str(k) for k, v in data.items()}
        else:
            return None
        size = max(pairs) + 1
        if size > 4 * len(pairs) + 16:
            return None  # sparse ids: not a vocabulary
        return [pairs.get(i, str(i)) for i in range(size)]
    return None
