"""Reference-image checks in the style of pyqtgraph's `assertImageApproved`: a picture is
compared with a stored PNG under tests/ui/reference/, within a tolerance for antialiasing.

A missing or outdated reference is written with MI_UPDATE_REFERENCE=1; look at the new PNG
before committing it. On a mismatch the actual picture and the difference are saved beside
the test's tmp_path and named in the failure."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
#: A pixel differs when a channel moves by more than this (antialiasing moves edges by less).
PIXEL_TOLERANCE = 48
#: At most this fraction of pixels may differ (a moved label or a missing edge is far more).
MAX_DIFFERING = 0.004


def as_rgb(image) -> np.ndarray:
    """An RGB uint8 array of a QImage, a PIL image or a path."""
    if isinstance(image, (str, Path)):
        return np.asarray(Image.open(image).convert("RGB"))
    if isinstance(image, np.ndarray):
        return image[:, :, :3].astype(np.uint8)
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    from PySide6.QtGui import QImage

    img = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, stride = img.height(), img.width(), img.bytesPerLine()
    return np.frombuffer(img.constBits(), np.uint8).reshape(h, stride)[:, : w * 3].reshape(h, w, 3).copy()


def differing_fraction(a: np.ndarray, b: np.ndarray) -> float:
    """The fraction of pixels where some channel differs by more than PIXEL_TOLERANCE."""
    d = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2)
    return float((d > PIXEL_TOLERANCE).mean())


def assert_image_approved(image, name: str, out_dir: Path) -> None:
    """`image` matches tests/ui/reference/<name>.png within the tolerance."""
    actual = as_rgb(image)
    ref = REFERENCE_DIR / f"{name}.png"
    if os.environ.get("MI_UPDATE_REFERENCE") == "1":
        REFERENCE_DIR.mkdir(exist_ok=True)
        Image.fromarray(actual).save(ref)
        return
    assert ref.exists(), f"no reference {ref.name}: write it with MI_UPDATE_REFERENCE=1, then look at it"
    expected = as_rgb(ref)
    got = out_dir / f"{name}.actual.png"
    Image.fromarray(actual).save(got)
    assert actual.shape == expected.shape, f"{name}: {actual.shape[:2]} px, reference {expected.shape[:2]} ({got})"
    frac = differing_fraction(actual, expected)
    if frac > MAX_DIFFERING:
        diff = np.abs(actual.astype(np.int16) - expected.astype(np.int16)).astype(np.uint8)
        Image.fromarray(255 - diff).save(out_dir / f"{name}.diff.png")
        raise AssertionError(f"{name}: {frac:.2%} of pixels differ from the reference "
                             f"(at most {MAX_DIFFERING:.2%}); see {got} and {name}.diff.png")
