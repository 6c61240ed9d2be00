"""The on-disk cache for converted models: ~/.cache/model-inspector or $MODEL_INSPECTOR_CACHE.

Entries are keyed by the sha256 of the source file plus the converter versions, so an edited
model or an upgraded converter never reuses a stale conversion. Writes are atomic (temp file
then rename) so a cancelled or crashed conversion leaves no half-written entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20
# (resolved path, mtime_ns, size) -> sha256; hashing a big file twice in a session is waste.
_HASHES: dict[tuple[str, int, int], str] = {}


def cache_dir(override: Path | None = None) -> Path:
    """The cache folder (created on demand)."""
    if override is not None:
        base = Path(override)
    elif os.environ.get("MODEL_INSPECTOR_CACHE"):
        base = Path(os.environ["MODEL_INSPECTOR_CACHE"])
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "model-inspector"
    base.mkdir(parents=True, exist_ok=True)
    return base


def file_identity(path: Path) -> tuple[str, int, int]:
    """(resolved path, mtime in ns, size): what in-process caches of a file's derived data
    are keyed by, so a rewritten file is never served stale. Raises OSError."""
    st = path.stat()
    return str(path.resolve()), st.st_mtime_ns, st.st_size


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, memoised per (path, mtime, size) in this process."""
    key = file_identity(path)
    if key not in _HASHES:
        h = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def cache_key(path: Path, *parts: str) -> str:
    """A key for `path`'s content plus anything else the result depends on (versions)."""
    h = hashlib.sha256(file_sha256(path).encode())
    for part in parts:
        h.update(b"\0" + part.encode())
    return h.hexdigest()[:40]


def entry_paths(key: str, override: Path | None = None) -> tuple[Path, Path]:
    """(data file, JSON metadata file) of a cache entry."""
    base = cache_dir(override)
    return base / f"{key}.onnx", base / f"{key}.json"


def read_entry(key: str, override: Path | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The entry's data path and metadata, or None when absent or unreadable."""
    data, meta = entry_paths(key, override)
    if not (data.is_file() and meta.is_file()):
        return None
    try:
        return data, json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_entry(key: str, payload: bytes, meta: dict[str, Any], override: Path | None = None) -> Path:
    """Store `payload` and `meta` atomically; return the data path."""
    data, meta_path = entry_paths(key, override)
    _atomic_write(data, payload)
    # Metadata last: an entry counts as present only once both files exist.
    _atomic_write(meta_path, json.dumps(meta, indent=1).encode("utf-8"))
    return data


def _atomic_write(path: Path, payload: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
