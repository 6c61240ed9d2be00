"""The PyInstaller spec, launcher, icons and build script, checked without building a bundle.

The spec is executed as PyInstaller executes it: as Python with SPECPATH and the build classes
in scope. Here those classes only record what the spec hands them, so the checks see the real
datas, excludes, icons and Info.plist that a build would use. The build itself (and the built
app's self-test) is resources/build_bundle.sh.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import plistlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import onnx
import pytest
import tomllib
from PIL import Image

from inspector.cli import split_gui_args
from inspector.loaders.registry import _BUILTIN_MODULES, model_extensions

ROOT = Path(__file__).resolve().parents[1]
RESOURCES = ROOT / "resources"
SPEC = RESOURCES / "model-inspector.spec"
HEAVY = ("tensorflow", "tf2onnx", "keras", "tensorboard", "torch", "scipy", "sklearn",
         "matplotlib", "pytest")


class _Recorded:
    """Stands in for one PyInstaller build class: keeps its arguments for the checks."""

    def __init__(self, kind: str, calls: list, *args: Any, **kwargs: Any) -> None:
        self.kind, self.args, self.kwargs = kind, args, kwargs
        calls.append((kind, args, kwargs))
        # Analysis results the spec passes on to PYZ/EXE/COLLECT.
        self.pure = self.scripts = self.binaries = self.datas = kind


def run_spec(monkeypatch: pytest.MonkeyPatch, platform: str) -> tuple[dict, list]:
    """Execute the spec as PyInstaller would on `platform`; returns its namespace and calls."""
    calls: list = []
    ns: dict[str, Any] = {"SPECPATH": str(RESOURCES), "__file__": str(SPEC)}
    for kind in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"):
        ns[kind] = lambda *a, _k=kind, **kw: _Recorded(_k, calls, *a, **kw)
    monkeypatch.setattr(sys, "platform", platform)
    exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), ns)
    return ns, calls


def _one(calls: list, kind: str) -> dict[str, Any]:
    found = [kw for k, _a, kw in calls if k == kind]
    assert len(found) == 1, f"{kind} called {len(found)} times"
    return found[0]


def test_spec_is_python_and_uses_no_pyinstaller_import() -> None:
    tree = ast.parse(SPEC.read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(m.startswith("PyInstaller") for m in imported)


def test_analysis_starts_at_the_launcher_and_excludes_heavy_libraries(monkeypatch) -> None:
    _ns, calls = run_spec(monkeypatch, "linux")
    a = [(args, kw) for k, args, kw in calls if k == "Analysis"]
    assert len(a) == 1
    (scripts,), kw = a[0]
    assert [Path(s) for s in scripts] == [RESOURCES / "launcher.py"]
    assert Path(kw["pathex"][0]) == ROOT
    for name in HEAVY:
        assert name in kw["excludes"], name
    # Every module the loader registry imports by name must be in the bundle.
    assert set(_BUILTIN_MODULES) <= set(kw["hiddenimports"])
    missing = [m for m in kw["hiddenimports"] if importlib.util.find_spec(m) is None]
    assert missing == []


def test_datas_are_existing_files_with_every_sample_and_no_generator(monkeypatch) -> None:
    _ns, calls = run_spec(monkeypatch, "linux")
    datas = _one(calls, "Analysis")["datas"]
    missing = [src for src, _dest in datas if not Path(src).is_file()]
    assert missing == []
    bundled = {Path(dest) / Path(src).name for src, dest in datas}
    manifest = json.loads((ROOT / "samples" / "manifest.json").read_text(encoding="utf-8"))
    needed = {Path("samples/manifest.json")}
    for e in manifest["files"]:
        needed.add(Path("samples") / e["file"])
        if e.get("input_file"):
            needed.add(Path("samples") / e["input_file"])
    needed |= {Path("samples/labels") / p.name for p in (ROOT / "samples/labels").glob("*.txt")}
    assert needed <= bundled, needed - bundled
    assert Path("samples/make_samples.py") not in bundled
    assert not any(p.suffix == ".py" for p in bundled)
    for name in ("model-inspector.svg", "model-inspector.desktop", "model-inspector-mime.xml"):
        assert Path("resources") / name in bundled
    tables = {p.relative_to(ROOT) for p in (ROOT / "inspector").rglob("*.json")}
    assert tables and tables <= bundled


def test_linux_build_is_one_folder_with_console(monkeypatch) -> None:
    _ns, calls = run_spec(monkeypatch, "linux")
    exe = _one(calls, "EXE")
    assert exe["exclude_binaries"] is True and exe["name"] == "model-inspector"
    assert _one(calls, "COLLECT")["name"] == "model-inspector"
    assert not [c for c in calls if c[0] == "BUNDLE"]


def test_windows_build_has_gui_and_cli_executables_with_the_ico(monkeypatch) -> None:
    _ns, calls = run_spec(monkeypatch, "win32")
    exes = {kw["name"]: kw for k, _a, kw in calls if k == "EXE"}
    assert exes["model-inspector"]["console"] is False
    assert exes["model-inspector-cli"]["console"] is True
    for kw in exes.values():
        assert kw["icon"].endswith(".ico") and Path(kw["icon"]).is_file()


def test_macos_bundle_declares_the_four_document_types(monkeypatch) -> None:
    _ns, calls = run_spec(monkeypatch, "darwin")
    bundle = _one(calls, "BUNDLE")
    assert bundle["name"].endswith(".app")
    assert bundle["icon"].endswith(".icns") and Path(bundle["icon"]).is_file()
    plist = plistlib.loads(plistlib.dumps(bundle["info_plist"]))  # valid plist types only
    declared = {t["UTTypeIdentifier"]: t for t in plist["UTImportedTypeDeclarations"]}
    extensions = set()
    for doc in plist["CFBundleDocumentTypes"]:
        assert doc["CFBundleTypeRole"] == "Viewer"
        exts = set(doc["CFBundleTypeExtensions"])
        extensions |= exts
        for uti in doc["LSItemContentTypes"]:
            tags = set(declared[uti]["UTTypeTagSpecification"]["public.filename-extension"])
            assert tags == exts, uti
    assert extensions == {"onnx", "keras", "h5", "hdf5"}
    # The app's own loaders are the oracle: Finder must offer every file they can open.
    assert {e.lstrip(".") for e in model_extensions()} == extensions


def test_icons_are_the_svg_rendered(qapp) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    image = QImage(256, 256, QImage.Format.Format_RGBA8888)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(RESOURCES / "model-inspector.svg")).render(painter)
    painter.end()
    ptr = image.constBits()
    svg = np.frombuffer(ptr, np.uint8, image.sizeInBytes()).reshape(256, image.bytesPerLine())
    svg = svg[:, : 256 * 4].reshape(256, 256, 4).astype(float)
    ico = Image.open(RESOURCES / "model-inspector.ico")
    assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    icns = Image.open(RESOURCES / "model-inspector.icns")
    for im in (ico, icns):
        im.load()
        pixels = np.asarray(im.convert("RGBA").resize((256, 256)), dtype=float)
        assert np.abs(pixels - svg).mean() < 8.0, im.format


def _load_launcher() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mi_launcher", RESOURCES / "launcher.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("prefix", [[], ["-psn_0_12345"]])
def test_launcher_runs_the_cli(monkeypatch, capsys, prefix: list[str]) -> None:
    sample = ROOT / "samples" / "digits_cnn.onnx"
    monkeypatch.setattr(sys, "argv", ["model-inspector", *prefix, "info", str(sample), "--json"])
    assert _load_launcher().main() == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["format"] == "onnx"
    assert facts["nodes"] == len(onnx.load(str(sample)).graph.node)


def test_self_test_command_line_keeps_the_screenshot_path() -> None:
    files, extra = split_gui_args(["--self-test", "--screenshot", "/tmp/shot.png"])
    assert files == [] and extra == ["--self-test", "--screenshot", "/tmp/shot.png"]
    files, extra = split_gui_args(["a.onnx", "--theme", "dark", "b.h5"])
    assert files == ["a.onnx", "b.h5"] and extra == ["--theme", "dark"]


def test_build_script_is_valid_bash_and_installs_no_tensorflow() -> None:
    script = RESOURCES / "build_bundle.sh"
    assert os.access(script, os.X_OK)
    subprocess.run(["bash", "-n", str(script)], check=True)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    installed = project["dependencies"] + project["optional-dependencies"]["bundle"]
    assert any(d.lower().startswith("pyinstaller") for d in installed)
    for dep in installed:
        assert not any(dep.lower().startswith(h) for h in HEAVY), dep
