"""--install-desktop writes a valid desktop entry and MIME types; uninstall removes them."""

from __future__ import annotations

import configparser
import xml.etree.ElementTree as ET
from pathlib import Path

from inspector import desktop_install


def test_install_and_uninstall_roundtrip(tmp_path: Path) -> None:
    written = desktop_install.install(tmp_path)
    assert len(written) == 3 and all(p.exists() for p in written)
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(tmp_path / "applications" / "model-inspector.desktop")
    section = entry["Desktop Entry"]
    assert section["Exec"].endswith("%F")
    mimes = set(filter(None, section["MimeType"].split(";")))
    tree = ET.parse(tmp_path / "mime" / "packages" / "model-inspector.xml")
    ns = "{http://www.freedesktop.org/standards/shared-mime-info}"
    declared = {m.get("type"): [g.get("pattern") for g in m.iter(f"{ns}glob")] for m in tree.getroot()}
    assert mimes == set(declared)
    globs = {g for gs in declared.values() for g in gs}
    assert {"*.onnx", "*.keras", "*.h5", "*.hdf5"} <= globs
    removed = desktop_install.uninstall(tmp_path)
    assert sorted(removed) == sorted(written)
    assert not any(p.exists() for p in written)
