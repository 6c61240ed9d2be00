"""Register Model Inspector with the Linux desktop for the current user (double-click to open).

Writes the .desktop file, the shared-mime-info definition and the icon under
$XDG_DATA_HOME (default ~/.local/share) and refreshes the desktop's databases when the tools
exist. `uninstall()` removes exactly what `install()` wrote.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

DESKTOP_NAME = "model-inspector.desktop"
MIME_NAME = "model-inspector.xml"
ICON_NAME = "model-inspector.svg"


def resources_dir() -> Path:
    """resources/ in a checkout, or inside a PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle and (Path(bundle) / "resources").is_dir():
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[1] / "resources"


def data_home() -> Path:
    """$XDG_DATA_HOME or ~/.local/share."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def _targets(home: Path) -> dict[str, Path]:
    return {
        "desktop": home / "applications" / DESKTOP_NAME,
        "mime": home / "mime" / "packages" / MIME_NAME,
        "icon": home / "icons" / "hicolor" / "scalable" / "apps" / ICON_NAME,
    }


def _exec_line() -> str:
    if getattr(sys, "frozen", False):
        return f'"{sys.executable}" %F'
    script = shutil.which("model-inspector")
    return f'"{script}" %F' if script else f'"{sys.executable}" -m inspector %F'


def _refresh(home: Path) -> None:
    for cmd in (
        ["update-mime-database", str(home / "mime")],
        ["update-desktop-database", str(home / "applications")],
    ):
        if shutil.which(cmd[0]):
            subprocess.run(cmd, check=False, capture_output=True, timeout=60)


def install(home: Path | None = None) -> list[Path]:
    """Write the desktop entry, MIME types and icon; returns the files written."""
    home = home or data_home()
    src = resources_dir()
    t = _targets(home)
    for p in t.values():
        p.parent.mkdir(parents=True, exist_ok=True)
    desktop = (src / DESKTOP_NAME).read_text(encoding="utf-8")
    desktop = desktop.replace("Exec=model-inspector %F", f"Exec={_exec_line()}")
    t["desktop"].write_text(desktop, encoding="utf-8")
    shutil.copyfile(src / "model-inspector-mime.xml", t["mime"])
    shutil.copyfile(src / ICON_NAME, t["icon"])
    _refresh(home)
    return list(t.values())


def uninstall(home: Path | None = None) -> list[Path]:
    """Remove what `install` wrote; returns the files removed."""
    home = home or data_home()
    removed = []
    for p in _targets(home).values():
        if p.exists():
            p.unlink()
            removed.append(p)
    _refresh(home)
    return removed
