"""HTML for the properties sidebar: a node, a value (edge) or the whole model.

Kept apart from the widget so the text is easy to test; it imports no Qt.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from inspector.ir import Graph, Model, Node, Tensor, format_shape

#: Weights above this many elements get statistics only on request (a click), so that
#: selecting a node of a multi-gigabyte model does not read gigabytes.
STATS_LIMIT = 16_000_000

_CSS = """
<style>
h2 { margin: 2px 0 2px 0; }
h3 { margin: 10px 0 2px 0; color: palette(mid); }
td { padding: 1px 6px 1px 0; vertical-align: top; }
td.k { color: #888; white-space: nowrap; }
.doc { color: #777; }
code { font-family: monospace; }
</style>
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _rows(pairs: list[tuple[str, str]]) -> str:
    if not pairs:
        return ""
    body = "".join(f"<tr><td class='k'>{_e(k)}</td><td>{v}</td></tr>" for k, v in pairs)
    return f"<table>{body}</table>"


def _short(value: Any, limit: int = 160) -> str:
    if isinstance(value, Tensor):
        return f"tensor {value.dtype}[{format_shape(value.shape)}]"
    if isinstance(value, Graph):
        return f"graph '{value.name}' ({len(value.nodes)} nodes)"
    if isinstance(value, (list, tuple)):
        text = ", ".join(_short(v, 40) for v in value)
    elif isinstance(value, dict):
        text = ", ".join(f"{k}: {_short(v, 40)}" for k, v in value.items())
    elif isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tensor_stats(tensor: Tensor) -> dict[str, float] | None:
    """min, max, mean, std and sparsity of a weight, or None if it is too large to read now."""
    if tensor.size > STATS_LIMIT:
        return None
    a = np.asarray(tensor.numpy())
    if a.size == 0 or not np.issubdtype(a.dtype, np.number):
        return {}
    f = a.astype(np.float64, copy=False)
    return {
        "min": float(f.min()),
        "max": float(f.max()),
        "mean": float(f.mean()),
        "std": float(f.std()),
        "sparsity": float(np.count_nonzero(f == 0) / f.size),
    }


def _value_rows(graph: Graph, names: tuple[str, ...]) -> list[tuple[str, str]]:
    rows = []
    for n in names:
        v = graph.value(n)
        rows.append(
            (n, f"<a href='value:{_e(n)}'>{_e(v.dtype or '?')}[{_e(format_shape(v.shape))}]</a>")
        )
    return rows


def node_html(node: Node, graph: Graph, doc: dict[str, Any] | None = None) -> str:
    """Everything about one node: type, name, category, docs, attributes, I/O and weights."""
    parts = [_CSS, f"<h2>{_e(node.op_type)}</h2>"]
    head = [("name", _e(node.name)), ("category", _e(node.category))]
    if node.domain:
        head.append(("domain", _e(node.domain)))
    if node.group:
        head.append(("group", _e(" / ".join(node.group))))
    parts.append(_rows(head))
    summary = (doc or {}).get("summary") or node.doc
    if summary:
        parts.append(f"<p class='doc'>{_e(summary)}</p>")
    if node.attributes:
        parts.append("<h3>Attributes</h3>")
        parts.append(_rows([(a.name, _e(_short(a.value))) for a in node.attributes]))
    parts.append("<h3>Inputs</h3>" + (_rows(_value_rows(graph, node.inputs)) or "<p>none</p>"))
    parts.append("<h3>Outputs</h3>" + (_rows(_value_rows(graph, node.outputs)) or "<p>none</p>"))
    if node.weights:
        parts.append(f"<h3>Weights ({node.parameter_count:,} parameters)</h3>")
        for w in node.weights:
            t = w.tensor
            parts.append(
                f"<p><b>{_e(w.name)}</b> <code>{_e(t.dtype)}[{_e(format_shape(t.shape))}]</code>"
                f" &nbsp;<a href='export:{_e(w.name)}'>export .npy</a>"
                + (f"<br><span class='doc'>{_e(t.location)}</span>" if t.location else "")
                + "</p>"
            )
            try:
                stats = tensor_stats(t)
            except Exception as e:  # noqa: BLE001 - a broken weight is shown, not fatal
                parts.append(f"<p class='doc'>cannot read: {_e(e)}</p>")
                continue
            if stats is None:
                parts.append(
                    f"<p><a href='stats:{_e(w.name)}'>compute statistics</a> "
                    f"({t.size:,} elements)</p>"
                )
            elif stats:
                parts.append(_rows([(k, f"{v:.6g}") for k, v in stats.items()]))
    if node.subgraphs:
        parts.append("<h3>Subgraphs</h3>")
        parts.append(
            _rows(
                [
                    (key, f"<a href='subgraph:{_e(key)}'>{_e(g.name or key)}</a> ({len(g.nodes)} nodes)")
                    for key, g in node.subgraphs
                ]
            )
        )
    if doc:
        parts.append(_doc_html(doc, summary or ""))
    return "".join(parts)


def _doc_html(doc: dict[str, Any], summary: str) -> str:
    """The operator's documentation below the node facts, without repeating the summary."""
    text = " ".join(str(doc.get("doc") or "").split())
    short = " ".join(summary.split())
    if short and text.startswith(short):
        text = text[len(short):].strip()
    parts = []
    if text:
        parts.append(f"<p class='doc'>{_e(text[:4000])}</p>")
    for key, title in (("inputs", "inputs"), ("attributes", "attributes"), ("outputs", "outputs")):
        rows = [
            (str(item.get("name", "")), _e(" ".join(str(item.get("description") or "").split())[:400]))
            for item in doc.get(key) or []
            if isinstance(item, dict) and item.get("description")
        ]
        if rows:
            parts.append(f"<p class='doc'><i>{title}</i></p>" + _rows(rows))
    if not parts:
        return ""
    since = f" (since opset {doc['since_version']})" if doc.get("since_version") else ""
    return f"<h3>Documentation{_e(since)}</h3>" + "".join(parts)


def value_html(name: str, graph: Graph) -> str:
    """An edge: its type, producer and consumers."""
    v = graph.value(name)
    prod = graph.producer(name)
    cons = graph.consumers(name)
    rows = [
        ("type", _e(v.dtype or "?")),
        ("shape", _e(format_shape(v.shape))),
        (
            "producer",
            f"<a href='node:{_e(prod.name)}'>{_e(prod.name)}</a> ({_e(prod.op_type)})"
            if prod
            else ("graph input" if name in graph.inputs else "-"),
        ),
    ]
    for c in cons:
        rows.append(("consumer", f"<a href='node:{_e(c.name)}'>{_e(c.name)}</a> ({_e(c.op_type)})"))
    if name in graph.outputs:
        rows.append(("", "graph output"))
    doc = f"<p class='doc'>{_e(v.doc)}</p>" if v.doc else ""
    return f"{_CSS}<h2>{_e(name)}</h2>{_rows(rows)}{doc}"


def model_html(model: Model) -> str:
    """The model: format, producer, opset, parameter count, inputs and outputs."""
    s = model.summary()
    rows = [
        ("file", _e(s["path"])),
        ("format", _e(f"{s['format']} ({s['format_version']})")),
        ("producer", _e(s["producer"] or "-")),
        ("opset", _e(", ".join(f"{d} {v}" for d, v in s["opset"].items()) or "-")),
        ("nodes", f"{s['nodes']:,}"),
        ("parameters", _e(model.parameter_text())),
    ]
    parts = [_CSS, "<h2>Model</h2>", _rows(rows)]
    parts.append("<h3>Inputs</h3>" + _rows(_value_rows(model.graph, model.graph.inputs)))
    parts.append("<h3>Outputs</h3>" + _rows(_value_rows(model.graph, model.graph.outputs)))
    if model.metadata:
        parts.append("<h3>Metadata</h3>")
        parts.append(_rows([(k, _e(_short(v, 300))) for k, v in model.metadata.items()]))
    if model.doc:
        parts.append(f"<p class='doc'>{_e(model.doc)}</p>")
    if model.warnings:
        parts.append("<h3>Warnings</h3>" + "".join(f"<p>{_e(w)}</p>" for w in model.warnings))
    counts = sorted(s["op_types"].items(), key=lambda kv: (-kv[1], kv[0]))
    parts.append("<h3>Operators</h3>" + _rows([(k, str(v)) for k, v in counts]))
    return "".join(parts)
