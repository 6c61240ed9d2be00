"""The import contracts of pyproject.toml ([tool.importlinter]) hold: layers, Qt only in the ui,
no cycles inside runtime and autodiff. test_architecture.py checks what importing loads at run
time; this checks every import statement, lazy ones included, without running any."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    pytest.importorskip("importlinter", reason="import-linter is in the test extra")
    exe = shutil.which("lint-imports")
    cmd = [exe] if exe else [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()"]
    # The checkout's own package, not an installed copy of it.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run(cmd + ["--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, f"import contracts broken:\n{run.stdout[-6000:]}\n{run.stderr[-2000:]}"
