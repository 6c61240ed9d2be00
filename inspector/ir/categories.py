"""Op categories as data: which colour family a node belongs to, for every ONNX op and
Keras layer class. The tables live in `onnx_categories.json` and `keras_categories.json`."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

#: Every category a node may have, in legend order.
CATEGORIES: tuple[str, ...] = (
    "input",
    "output",
    "layer",
    "activation",
    "normalization",
    "pooling",
    "dropout",
    "recurrent",
    "attention",
    "embedding",
    "merge",
    "math",
    "shape",
    "tensor",
    "logic",
    "control",
    "quantization",
    "constant",
    "data",
    "custom",
    "other",
)

_HERE = Path(__file__).parent


@cache
def _table(fmt: str) -> dict[str, str]:
    path = _HERE / f"{fmt}_categories.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    table: dict[str, str] = {}
    for category, names in data.items():
        for name in names:
            table[name] = category
    return table


def category_of(op_type: str, fmt: str, domain: str = "") -> str:
    """The category of `op_type` in format `fmt` ("onnx" or "keras").

    ONNX ops from a custom domain not in the table are "custom"; unknown Keras classes
    (custom layers) are "custom" too.
    """
    table = _table(fmt)
    key = f"{domain}:{op_type}" if domain and f"{domain}:{op_type}" in table else op_type
    if key in table:
        return table[key]
    if fmt == "onnx" and domain not in ("", "ai.onnx", "ai.onnx.ml", "com.microsoft"):
        return "custom"
    return "custom" if fmt == "keras" else "other"
