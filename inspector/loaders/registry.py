"""The loader registry: candidates by extension or magic bytes, tried in priority order.

Each format registers a `LoaderSpec`. `sniff(head, path)` looks at the first 4 KB and says
whether the file could be this format; `load(path, task)` builds the IR or raises
`ModelLoadError` with one clear sentence. Anything else a loader raises is turned into a
`ModelLoadError` too, so callers never see a traceback.
"""

from __future__ import annotations

import importlib
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from inspector.ir import Model
from inspector.progress import NO_TASK, Cancelled, Task

HEAD_BYTES = 4096


class ModelLoadError(Exception):
    """A model file could not be opened; the message is one clear sentence for the user."""


class UnsupportedFileError(ModelLoadError):
    """No loader accepts the file; the message says what each candidate objected."""


@dataclass(frozen=True)
class LoaderSpec:
    """A format: its name, file extensions (lower case, with dot), a sniff on the file's
    first 4 KB, the load function, and a priority (higher is tried first)."""

    name: str
    extensions: tuple[str, ...]
    sniff: Callable[[bytes, Path], bool]
    load: Callable[[Path, Task], Model]
    priority: int = 0


_LOADERS: list[LoaderSpec] = []
_BUILTINS_LOCK = threading.Lock()
# Modules that register loaders on import; imported on first use so start-up stays fast.
_BUILTIN_MODULES = ("inspector.loaders.onnx_loader", "inspector.loaders.keras_loader")
#: The extensions the built-in modules claim, as data: the Open dialog and a folder drop need
#: them before any loader is imported (importing the ONNX loader imports onnx and ml_dtypes,
#: ~0.5 s, which on the GUI thread delayed the first graph).
_BUILTIN_EXTENSIONS = (".onnx", ".keras", ".h5", ".hdf5")
_builtins_loaded = False


def register(spec: LoaderSpec) -> LoaderSpec:
    """Add a loader (replacing one of the same name)."""
    _LOADERS[:] = [s for s in _LOADERS if s.name != spec.name]
    _LOADERS.append(spec)
    return spec


def loaders() -> list[LoaderSpec]:
    """Every registered loader, highest priority first.

    Thread-safe: the app imports the loaders in a background thread at start-up while the
    first file's load job may already ask for them. (The flag used to be set before the
    imports ran, so the load job saw no loader and refused `model-inspector FILE` with
    "not a model file this app can open".)
    """
    global _builtins_loaded
    if not _builtins_loaded:
        with _BUILTINS_LOCK:
            if not _builtins_loaded:
                for mod in _BUILTIN_MODULES:
                    try:
                        importlib.import_module(mod)
                    except ImportError:  # a format whose module is missing is not offered
                        pass
                _builtins_loaded = True
    return sorted(_LOADERS, key=lambda s: -s.priority)


def model_extensions() -> tuple[str, ...]:
    """Every extension some loader claims (for file dialogs and folder drops); imports no
    built-in loader (see `_BUILTIN_EXTENSIONS`)."""
    return tuple(sorted({*_BUILTIN_EXTENSIONS, *(e for s in _LOADERS for e in s.extensions)}))


def load_model(path: str | os.PathLike[str], task: Task = NO_TASK) -> Model:
    """Open `path` with the first loader that accepts it.

    Raises `ModelLoadError` (or `UnsupportedFileError`) with a one-line message; `Cancelled`
    passes through when the task was cancelled.
    """
    p = Path(path)
    check_regular_file(p)
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO after the stat, open must not wait
        # for a writer.
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ModelLoadError(f"{p}: {_kind(os.fstat(f.fileno()).st_mode)}, not a model file")
            head = f.read(HEAD_BYTES)
    except OSError as e:
        raise ModelLoadError(f"{p}: cannot be read ({e.strerror or e})") from None
    if not head:
        raise UnsupportedFileError(f"{p.name}: the file is empty")

    ext = p.suffix.lower()
    specs = loaders()
    by_ext = [s for s in specs if ext in s.extensions]
    by_magic = [s for s in specs if s not in by_ext and _safe_sniff(s, head, p)]
    # A loader claimed by extension whose magic bytes disagree goes after any that sniff true.
    ext_ok = [s for s in by_ext if _safe_sniff(s, head, p)]
    ext_bad = [s for s in by_ext if s not in ext_ok]
    candidates = ext_ok + by_magic + ext_bad
    if not candidates:
        known = ", ".join(model_extensions())
        raise UnsupportedFileError(
            f"{p.name}: not a model file this app can open (it reads {known})"
        )
    errors: list[str] = []
    for spec in candidates:
        try:
            return spec.load(p, task)
        except Cancelled:
            raise
        except ModelLoadError as e:
            errors.append(str(e))
        except MemoryError:
            errors.append(f"{p.name}: not enough memory to open it as {spec.name}")
        except RecursionError:
            errors.append(f"{p.name}: nested too deeply to open as {spec.name}")
        except Exception as e:  # noqa: BLE001 - a loader bug must not become a traceback
            errors.append(f"{p.name}: not a valid {spec.name} file ({type(e).__name__}: {e})")
    if len(errors) == 1:
        raise UnsupportedFileError(errors[0])
    raise UnsupportedFileError(errors[0] + "; " + "; ".join(e.split(": ", 1)[-1] for e in errors[1:]))


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a folder"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "is a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device"
    return "is not a regular file"


def check_regular_file(path: str | os.PathLike[str]) -> None:
    """Raise `ModelLoadError` unless `path` is an existing regular file (after symlinks).

    Checked with stat before anything opens the file: opening a FIFO blocks until a writer
    comes, and reading a device such as /dev/zero never ends.
    """
    p = Path(path)
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        raise ModelLoadError(f"{p}: no such file") from None
    except OSError as e:
        raise ModelLoadError(f"{p}: cannot be read ({e.strerror or e})") from None
    if not stat.S_ISREG(mode):
        raise ModelLoadError(f"{p}: {_kind(mode)}, not a model file")


def _safe_sniff(spec: LoaderSpec, head: bytes, path: Path) -> bool:
    try:
        return bool(spec.sniff(head, path))
    except Exception:  # noqa: BLE001
        return False
