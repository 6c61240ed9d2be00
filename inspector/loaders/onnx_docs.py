"""ONNX operator documentation as data, from onnx's own schemas (and onnxruntime's for the
com.microsoft contrib ops), for the properties sidebar and the op help view."""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

import onnx
from onnx import defs


def _option(opt: Any) -> str:
    name = getattr(opt, "name", str(opt)).rsplit(".", 1)[-1]
    return {"Single": "single", "Optional": "optional", "Variadic": "variadic"}.get(name, name.lower())


def _params(params: Any) -> list[dict[str, str]]:
    out = []
    for p in params:
        out.append(
            {
                "name": p.name,
                "type": getattr(p, "type_str", None) or getattr(p, "typeStr", ""),
                "description": (p.description or "").strip(),
                "option": _option(p.option),
            }
        )
    return out


def _default(attr: Any) -> Any:
    proto = getattr(attr, "default_value", None)
    if proto is None:
        raw = getattr(attr, "_default_value", None)  # onnxruntime exposes serialized bytes
        if not raw:
            return None
        proto = onnx.AttributeProto()
        try:
            proto.ParseFromString(raw)
        except Exception:  # noqa: BLE001 - a default we cannot read is simply not shown
            return None
    if not proto.type:
        return None
    try:
        value = onnx.helper.get_attribute_value(proto)
    except Exception:  # noqa: BLE001
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
    return value if isinstance(value, (int, float, str)) else None


def _attributes(schema: Any) -> list[dict[str, Any]]:
    out = []
    for name, a in sorted(schema.attributes.items()):
        out.append(
            {
                "name": name,
                "type": getattr(a.type, "name", str(a.type)).rsplit(".", 1)[-1].lower(),
                "description": (a.description or "").strip(),
                "required": bool(a.required),
                "default": _default(a),
            }
        )
    return out


def _summary(doc: str) -> str:
    """The first paragraph of a schema doc, on one line."""
    text = doc.strip()
    para = text.split("\n\n", 1)[0]
    return " ".join(para.split())


def _as_dict(schema: Any) -> dict[str, Any]:
    doc = schema.doc or ""
    return {
        "name": schema.name,
        "domain": schema.domain or "ai.onnx",
        "since_version": int(schema.since_version),
        "summary": _summary(doc),
        "doc": doc.strip(),
        "inputs": _params(schema.inputs),
        "outputs": _params(schema.outputs),
        "attributes": _attributes(schema),
        "type_constraints": [
            {
                "name": getattr(tc, "type_param_str", ""),
                "types": list(getattr(tc, "allowed_type_strs", [])),
                "description": getattr(tc, "description", ""),
            }
            for tc in schema.type_constraints
        ],
        "deprecated": bool(getattr(schema, "deprecated", False)),
    }


@cache
def _contrib_schemas() -> dict[tuple[str, str], list[Any]]:
    """onnxruntime's contrib schemas by (domain, op); {} when onnxruntime cannot be imported."""
    try:
        from onnxruntime.capi import onnxruntime_pybind11_state as ort_c
    except Exception:  # noqa: BLE001 - docs for contrib ops are optional
        return {}
    table: dict[tuple[str, str], list[Any]] = {}
    for s in ort_c.get_all_operator_schema():
        if s.domain not in ("", "ai.onnx", "ai.onnx.ml"):
            table.setdefault((s.domain, s.name), []).append(s)
    for versions in table.values():
        versions.sort(key=lambda s: s.since_version)
    return table


@lru_cache(maxsize=2048)
def op_doc(op_type: str, domain: str = "", opset: int | None = None) -> dict[str, Any] | None:
    """The documentation of an operator at `opset` (newest when None), or None if unknown.

    Keys: name, domain, since_version, summary, doc, inputs, outputs (each a list of
    {name, type, description, option}), attributes ({name, type, description, required,
    default}), type_constraints, deprecated.
    """
    dom = "" if domain == "ai.onnx" else domain
    try:
        if opset is None:
            schema = defs.get_schema(op_type, dom)
        else:
            schema = defs.get_schema(op_type, opset, dom)
        return _as_dict(schema)
    except Exception:  # noqa: BLE001 - SchemaError: not an onnx op (or not at that opset)
        pass
    versions = _contrib_schemas().get((dom, op_type))
    if not versions:
        return None
    eligible = [s for s in versions if opset is None or s.since_version <= opset]
    return _as_dict(eligible[-1]) if eligible else None
