"""File -> IR. `load_model(path)` picks a loader by extension and magic bytes."""

from inspector.loaders.registry import (
    LoaderSpec,
    ModelLoadError,
    UnsupportedFileError,
    load_model,
    loaders,
    register,
)

__all__ = [
    "LoaderSpec",
    "ModelLoadError",
    "UnsupportedFileError",
    "load_model",
    "loaders",
    "register",
]
