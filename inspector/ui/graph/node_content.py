"""What a node shows (title, subtitle, weight and attribute rows) and how big it is.

Pure Python, no Qt: `prepare()` runs it in a worker thread. Text widths come from a
per-character advance table (em units), measured from the real font by the view when it can,
else DejaVu Sans's table below, so 100k nodes are sized without a QFontMetrics call each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from inspector.ir.model import Graph, Node, Tensor, format_shape

# DejaVu Sans advances for ASCII 32..126 in em; the fallback when the view did not measure.
DEJAVU_ADVANCES: tuple[float, ...] = (
    0.318, 0.401, 0.46, 0.838, 0.636, 0.95, 0.78, 0.275, 0.39, 0.39, 0.5, 0.838, 0.318, 0.361,
    0.318, 0.337, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.337,
    0.337, 0.838, 0.838, 0.838, 0.531, 1.0, 0.684, 0.686, 0.698, 0.77, 0.632, 0.575, 0.775,
    0.752, 0.295, 0.295, 0.656, 0.557, 0.863, 0.748, 0.787, 0.603, 0.787, 0.695, 0.635, 0.611,
    0.732, 0.684, 0.989, 0.685, 0.611, 0.685, 0.39, 0.337, 0.39, 0.838, 0.5, 0.5, 0.613, 0.635,
    0.55, 0.635, 0.615, 0.352, 0.635, 0.634, 0.278, 0.278, 0.579, 0.278, 0.974, 0.634, 0.612,
    0.635, 0.635, 0.411, 0.521, 0.392, 0.634, 0.592, 0.818, 0.592, 0.592, 0.525, 0.636, 0.337,
    0.636, 0.838,
)
BOLD_FACTOR = 1.16  # bold DejaVu Sans measured 1.11-1.16x regular (kernel_shape, MaxPool)

# Geometry in world units (1 world unit = 1 pixel at zoom 1).
FONT_SIZE = 11.0
SMALL_FONT_SIZE = 9.5
HEADER_H = 22.0
ROW_H = 15.0
PAD_X = 8.0
PAD_Y = 5.0
MIN_W = 64.0
MAX_TEXT = 34  # longer attribute values are cut with an ellipsis
MAX_ATTR_ROWS = 4
MAX_NAME = 36  # longer node names, group labels and input names are shown by their tail

# Attributes worth a row, in the order Netron and plot_model readers look for them.
KEY_ATTRS: tuple[str, ...] = (
    "units", "filters", "kernel_size", "kernel_shape", "strides", "pads", "padding",
    "auto_pad", "dilations", "dilation_rate", "group", "groups", "pool_size", "activation",
    "axis", "axes", "perm", "rate", "ratio", "alpha", "epsilon", "num_heads", "key_dim",
    "output_dim", "input_dim", "target_shape", "transA", "transB", "mode", "to",
)
# Keras config keys that are bookkeeping or Keras options rarely changed, never worth a row
# ("layer" repeats the node name, which the names toggle shows).
SKIP_ATTRS: frozenset[str] = frozenset(
    {"name", "trainable", "dtype", "dtype_policy", "build_config", "batch_input_shape",
     "batch_shape", "sparse", "ragged", "seed", "data_format", "use_bias", "momentum",
     "center", "scale", "synchronized", "noise_shape", "optional", "layer", "renorm",
     "renorm_clipping", "renorm_momentum"}
)


@dataclass(frozen=True)
class NodeContent:
    """The text of one drawn item: title (op type or layer class), subtitle (name, shape or
    node count) and body rows as (key, separator, value)."""

    kind: str
    title: str
    subtitle: str
    rows: tuple[tuple[str, str, str], ...]
    category: str


class TextMeasure:
    """Estimates text width from a per-character advance table, caching per string."""

    def __init__(self, advances: Sequence[float] | None = None, font_size: float = FONT_SIZE):
        table = np.full(256, 0.62, dtype=np.float64)  # non-ASCII: an average glyph
        table[32:127] = advances if advances is not None else DEJAVU_ADVANCES
        self._table = table * font_size
        self._cache: dict[str, float] = {}

    def width(self, text: str, bold: bool = False) -> float:
        """Width of `text` in world units at this font size."""
        w = self._cache.get(text)
        if w is None:
            raw = np.frombuffer(text.encode("latin-1", "replace"), dtype=np.uint8)
            w = float(self._table[raw].sum())
            self._cache[text] = w
        return w * BOLD_FACTOR if bold else w


# Display strings repeat across a big graph (the same kernel shape on 30,000 Convs): cache
# them. Bounded so one odd model cannot grow them without end.
_CACHE_MAX = 200_000
_SHAPE_TEXT: dict[tuple[Any, ...], str] = {}
_LIST_TEXT: dict[tuple[tuple[Any, ...], tuple[type, ...]], str | None] = {}


#: Symbolic dims longer than this are cut in the middle on the graph (Properties has them
#: whole): paddle2onnx's `p2o.DynamicDimension.0` made every label and I/O box 600 px wide.
MAX_DIM_CHARS = 12


def _short_dim(d: Any) -> Any:
    if isinstance(d, str) and len(d) > MAX_DIM_CHARS:
        head = (MAX_DIM_CHARS - 1) // 2
        return d[:head] + "…" + d[-(MAX_DIM_CHARS - 1 - head):]
    return d


def shape_text(shape: tuple[Any, ...] | None) -> str:
    """`format_shape` with long symbolic dims elided, cached per distinct shape."""
    if shape is None:
        return "?"
    text = _SHAPE_TEXT.get(shape)
    if text is None:
        if len(_SHAPE_TEXT) > _CACHE_MAX:
            _SHAPE_TEXT.clear()
        text = _SHAPE_TEXT[shape] = format_shape(tuple(_short_dim(d) for d in shape))
    return text


def tail_clip(text: str, limit: int = MAX_NAME) -> str:
    """`text` cut to `limit` characters from the left: the end of a scoped name
    (`.../attention/query/MatMul`) tells nodes apart, its common prefix does not. The full
    name is in the tooltip and the properties."""
    return "\u2026" + text[-(limit - 1):] if len(text) > limit else text


def _clip(text: str) -> str:
    return text[: MAX_TEXT - 1] + "\u2026" if len(text) > MAX_TEXT else text


def _fmt_list(value: list[Any] | tuple[Any, ...]) -> str | None:
    if len(value) == 0 or any(isinstance(v, (dict, list, tuple, Graph, Tensor)) for v in value):
        return None
    return _clip(", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in value))


def _fmt_value(value: Any) -> str | None:
    """A short display string for an attribute value, or None when it is not worth a row."""
    if value is None or isinstance(value, (dict, Graph, Tensor)):
        return None
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, (bytes, bytearray)):
        text = value.decode("utf-8", "replace")
    elif isinstance(value, (list, tuple)):
        try:
            # The element types are part of the key: [1, 0] and [True, False] are equal tuples.
            key = (tuple(value), tuple(map(type, value)))
            hit = _LIST_TEXT.get(key, _LIST_TEXT)
        except TypeError:  # unhashable elements (nested lists, dicts): never worth a row
            return _fmt_list(value)
        if hit is _LIST_TEXT:
            if len(_LIST_TEXT) > _CACHE_MAX:
                _LIST_TEXT.clear()
            hit = _LIST_TEXT[key] = _fmt_list(value)
        return hit  # type: ignore[return-value]
    else:
        text = str(value)
    return _clip(text)


_KEY_RANK = {name: i for i, name in enumerate(KEY_ATTRS)}
_UNWANTED_SUFFIXES = ("_initializer", "_regularizer", "_constraint")


def node_rows(node: Node, show_weights: bool, show_attributes: bool) -> list[tuple[str, str, str]]:
    """The body rows of `node`: weights as `W <64x3x7x7>`, then key attributes."""
    rows: list[tuple[str, str, str]] = []
    if show_weights:
        for w in node.weights:
            rows.append((w.name, " ", f"<{shape_text(w.tensor.shape)}>"))
    if show_attributes and node.attributes:
        by_name = {a.name: a.value for a in node.attributes}
        picked: list[tuple[str, str, str]] = []
        for name in sorted((k for k in by_name if k in _KEY_RANK), key=_KEY_RANK.__getitem__):
            text = _fmt_value(by_name[name])
            if text is not None:
                picked.append((name, " = ", text))
        if len(picked) < MAX_ATTR_ROWS:
            for a in node.attributes:
                if a.name in SKIP_ATTRS or a.name in _KEY_RANK or a.name.endswith(
                    _UNWANTED_SUFFIXES
                ):
                    continue
                text = _fmt_value(a.value)
                if text is not None:
                    picked.append((a.name, " = ", text))
                if len(picked) >= MAX_ATTR_ROWS:
                    break
        rows.extend(picked[:MAX_ATTR_ROWS])
    return rows


def item_content(item: Any, graph: Graph, show_weights: bool, show_attributes: bool,
                 show_names: bool) -> NodeContent:
    """The content of one ViewItem (a node, a collapsed group, a graph input or output)."""
    kind = item.kind
    if kind == "node" and item.node is not None:
        node: Node = item.node
        rows = node_rows(node, show_weights, show_attributes)
        sub = tail_clip(node.name) if show_names else ""
        return NodeContent(kind, tail_clip(node.op_type), sub, tuple(rows), node.category)
    if kind == "group":
        count = int(getattr(item, "count", 0) or 0)
        label = item.label or (item.group[-1] if item.group else "group")
        return NodeContent(kind, tail_clip(label), f"{count} nodes", (), "group")
    name = item.label
    value = graph.value(name)
    shape = shape_text(value.shape) if value.shape is not None else ""
    sub = f"{value.dtype or '?'}[{shape}]" if value.shape is not None or value.dtype else ""
    return NodeContent(kind, tail_clip(name), sub, (), kind)


def content_size(c: NodeContent, measure: TextMeasure, small: TextMeasure) -> tuple[float, float]:
    """Width and height of an item with content `c`, in world units."""
    if c.kind in ("input", "output"):
        w = max(measure.width(c.title, bold=True), small.width(c.subtitle)) + 2 * PAD_X + 10
        h = HEADER_H + (ROW_H if c.subtitle else 0.0) + 2
        return max(MIN_W, w), h
    w = measure.width(c.title, bold=True) + 6  # bold headers breathe a little
    h = HEADER_H
    if c.subtitle:
        w = max(w, small.width(c.subtitle))
        h += ROW_H - 1
    if c.kind == "group":
        w += 18  # room for the expand toggle
    for key, sep, val in c.rows:
        w = max(w, measure.width(key, bold=True) + measure.width(sep + val))
    if c.rows:
        h += len(c.rows) * ROW_H + PAD_Y
    return max(MIN_W, w + 2 * PAD_X), h
