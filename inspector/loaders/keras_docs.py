"""One-line descriptions of Keras layer classes, kept as data in `keras_docs.json`."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path


@cache
def _docs() -> dict[str, str]:
    return json.loads((Path(__file__).parent / "keras_docs.json").read_text(encoding="utf-8"))


def layer_doc(class_name: str) -> str:
    """The one-line description of Keras layer class `class_name`, or "" when unknown."""
    return _docs().get(class_name, "")
