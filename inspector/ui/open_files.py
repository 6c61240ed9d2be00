"""Which paths to open: files as given, folders expanded to the model files inside."""

from __future__ import annotations

from pathlib import Path

from inspector.loaders.registry import model_extensions


def expand_paths(paths: list[str]) -> tuple[list[str], list[str]]:
    """(model files to open, one message per path that cannot be opened)."""
    exts = set(model_extensions())
    files: list[str] = []
    problems: list[str] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(str(c) for c in p.iterdir() if c.is_file() and c.suffix.lower() in exts)
            if not found:
                problems.append(f"{p.name}: the folder holds no model files ({', '.join(sorted(exts))}).")
            files.extend(found)
        elif p.is_file():
            files.append(str(p))
        else:
            problems.append(f"{raw}: no such file.")
    return files, problems


def file_dialog_filter() -> str:
    """The Open dialog's filter string."""
    pattern = " ".join(f"*{e}" for e in model_extensions())
    return f"Models ({pattern});;ONNX (*.onnx);;Keras (*.keras *.h5 *.hdf5);;All files (*)"
