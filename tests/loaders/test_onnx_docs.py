"""Op docs and op categories as data, checked against onnx's own schema registry."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
from onnx import defs

from inspector.ir import CATEGORIES, category_of
from inspector.loaders.onnx_docs import op_doc


def test_op_doc_matches_schema() -> None:
    doc = op_doc("Conv", "", 17)
    schema = defs.get_schema("Conv", 17, "")
    assert doc is not None
    assert doc["since_version"] == schema.since_version
    assert doc["domain"] == "ai.onnx"
    assert [i["name"] for i in doc["inputs"]] == [i.name for i in schema.inputs]
    assert [o["name"] for o in doc["outputs"]] == [o.name for o in schema.outputs]
    assert sorted(a["name"] for a in doc["attributes"]) == sorted(schema.attributes)
    assert doc["inputs"][2]["option"] == "optional"
    assert doc["summary"] and "\n" not in doc["summary"]
    assert doc["doc"].strip() == schema.doc.strip()
    pads = {a["name"]: a for a in doc["attributes"]}["auto_pad"]
    assert pads["default"] == "NOTSET" and pads["type"] == "string" and not pads["required"]


def test_op_doc_versions_and_variadic() -> None:
    old, new = op_doc("Relu", opset=6), op_doc("Relu")
    assert old["since_version"] == defs.get_schema("Relu", 6).since_version
    assert new["since_version"] == defs.get_schema("Relu").since_version
    assert op_doc("Concat")["inputs"][0]["option"] == "variadic"
    assert op_doc("LinearClassifier", "ai.onnx.ml")["domain"] == "ai.onnx.ml"
    assert op_doc("Relu", "ai.onnx") == new


def test_op_doc_unknown_is_none() -> None:
    assert op_doc("NoSuchOp") is None
    assert op_doc("Conv", "my.custom.domain") is None
    assert op_doc("Gelu", "", 1) is None  # Gelu arrived in opset 20


def test_op_doc_contrib_op_from_onnxruntime() -> None:
    pytest.importorskip("onnxruntime")
    doc = op_doc("FusedConv", "com.microsoft")
    assert doc is not None and doc["domain"] == "com.microsoft"
    assert "activation" in {a["name"] for a in doc["attributes"]}


def test_every_onnx_schema_has_a_category() -> None:
    missing = sorted(
        f"{s.domain or 'ai.onnx'}:{s.name}"
        for s in defs.get_all_schemas_with_history()
        if category_of(s.name, "onnx", s.domain) not in CATEGORIES[:-2]  # not custom/other
    )
    assert missing == []


def test_category_table_is_well_formed() -> None:
    import inspector.ir as ir_pkg

    table = json.loads((Path(ir_pkg.__file__).parent / "onnx_categories.json").read_text())
    assert set(table) <= set(CATEGORIES)
    names = [n for ops in table.values() for n in ops]
    assert len(names) == len(set(names)), "an op is listed under two categories"
    assert category_of("FusedConv", "onnx", "com.microsoft") == "layer"
    assert category_of("SkipLayerNormalization", "onnx", "com.microsoft") == "normalization"
    assert category_of("Whatever", "onnx", "acme.ops") == "custom"
    assert onnx.defs.has("Conv")
