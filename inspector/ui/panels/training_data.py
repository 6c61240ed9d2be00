"""Small training sets for the Training tab, read without Qt: a .npz with inputs and targets,
or a CSV whose last column is the target. Nothing in the file is executed (no pickles)."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np

from inspector.runtime.errors import InputError

#: More rows than this is not "a small dataset": training would block for minutes.
MAX_ROWS = 100_000
_X_KEYS = ("x", "X", "inputs", "input", "features", "data")
_Y_KEYS = ("y", "Y", "targets", "target", "labels", "label")


def load_training_data(path: str | Path, input_names: list[str]
                       ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """({input name: rows}, targets) from a .npz or .csv file; `InputError` on bad files."""
    p = Path(path)
    ext = p.suffix.lower()
    if ext == ".npz":
        x, y = _from_npz(p, input_names)
    elif ext == ".csv":
        x, y = _from_csv(p, input_names)
    else:
        raise InputError(f"{p.name}: give training data as .npz (x and y arrays) or .csv")
    rows = {v.shape[0] if v.ndim else 1 for v in x.values()}
    if len(rows) != 1 or y.shape[:1] != (rows.pop(),):
        raise InputError(f"{p.name}: inputs and targets have different numbers of rows")
    if y.shape[0] > MAX_ROWS:
        raise InputError(f"{p.name}: {y.shape[0]} rows; the Training tab takes at most {MAX_ROWS}")
    return x, y


def _from_npz(p: Path, input_names: list[str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    try:
        with np.load(p, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k]) for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise InputError(f"{p.name}: not a readable .npz ({e})") from None
    y_key = next((k for k in _Y_KEYS if k in arrays), None)
    if y_key is None:
        raise InputError(f"{p.name}: no targets; name them one of {', '.join(_Y_KEYS)}")
    if all(n in arrays for n in input_names):
        x = {n: arrays[n] for n in input_names}
    else:
        x_key = next((k for k in _X_KEYS if k in arrays), None)
        if x_key is None or len(input_names) != 1:
            raise InputError(f"{p.name}: no inputs; name them 'x' or by the model's input names "
                             f"({', '.join(input_names)})")
        x = {input_names[0]: arrays[x_key]}
    return {k: v.astype(np.float32) for k, v in x.items()}, arrays[y_key]


def _from_csv(p: Path, input_names: list[str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    if len(input_names) != 1:
        raise InputError(f"{p.name}: a CSV can feed a model with one input only")
    rows: list[list[float]] = []
    try:
        with p.open(newline="", encoding="utf-8") as f:
            for i, cells in enumerate(csv.reader(f)):
                if not cells or all(not c.strip() for c in cells):
                    continue
                try:
                    rows.append([float(c) for c in cells])
                except ValueError:
                    if i == 0:
                        continue  # a header line
                    raise InputError(f"{p.name}: line {i + 1} has a value that is not a "
                                     "number") from None
                if len(rows) > MAX_ROWS:
                    raise InputError(f"{p.name}: more than {MAX_ROWS} rows")
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"{p.name}: cannot read ({e})") from None
    if not rows or len({len(r) for r in rows}) != 1 or len(rows[0]) < 2:
        raise InputError(f"{p.name}: needs rows of equal length: features, then the target")
    table = np.asarray(rows, dtype=np.float64)
    return {input_names[0]: table[:, :-1].astype(np.float32)}, table[:, -1]
