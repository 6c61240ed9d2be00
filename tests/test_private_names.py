"""No module imports another module's private (underscore) names: what a module shares is
public, and a private helper used elsewhere is a helper in the wrong place. Checked on every
import statement of the package, lazy ones inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "inspector"


def private_imports(root: Path = PACKAGE) -> list[str]:
    """'file:line name from module' for every `from inspector.x import _name`."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("inspector"):
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno} "
                                 f"{alias.name} from {node.module}")
    return found


def test_no_module_imports_another_modules_private_names() -> None:
    assert private_imports() == []


def test_the_check_sees_lazy_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "inspector"
    pkg.mkdir()
    (pkg / "a.py").write_text("def f():\n    from inspector.b import _helper, public\n")
    (pkg / "b.py").write_text("from inspector import __version__\n")
    assert private_imports(pkg) == ["inspector/a.py:2 _helper from inspector.b"]
