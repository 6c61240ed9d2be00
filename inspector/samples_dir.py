"""Where the sample models live: beside the package in a checkout, inside a PyInstaller bundle."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def samples_dir() -> Path | None:
    """The samples folder, or None when this installation has none."""
    candidates = []
    if os.environ.get("MODEL_INSPECTOR_SAMPLES"):
        candidates.append(Path(os.environ["MODEL_INSPECTOR_SAMPLES"]))
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "samples")
    candidates.append(Path(__file__).resolve().parents[1] / "samples")
    for c in candidates:
        if (c / "manifest.json").is_file():
            return c
    return None


def sample_entries() -> list[dict[str, Any]]:
    """The manifest's entries with absolute paths under "path" (empty without samples)."""
    root = samples_dir()
    if root is None:
        return []
    try:
        data = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    entries = (data.get("files") or data.get("models")) if isinstance(data, dict) else data
    out = []
    for e in entries if isinstance(entries, list) else []:
        if isinstance(e, dict) and "file" in e and (root / e["file"]).is_file():
            out.append({**e, "path": str(root / e["file"])})
    return out
