"""Light and dark themes; "system" follows the desktop's colour scheme."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette


def resolve_theme(name: str) -> str:
    """"light" or "dark" for a theme name ("system" asks the platform)."""
    if name in ("light", "dark"):
        return name
    hints = QGuiApplication.styleHints()
    scheme = hints.colorScheme() if hints is not None else Qt.ColorScheme.Unknown
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


def _dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor(30, 30, 30), QColor(43, 43, 43), QColor(220, 220, 220)
    for role, color in (
        (QPalette.ColorRole.Window, window),
        (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base),
        (QPalette.ColorRole.AlternateBase, window),
        (QPalette.ColorRole.ToolTipBase, window),
        (QPalette.ColorRole.ToolTipText, text),
        (QPalette.ColorRole.Text, text),
        (QPalette.ColorRole.Button, window),
        (QPalette.ColorRole.ButtonText, text),
        (QPalette.ColorRole.Highlight, QColor(42, 130, 218)),
        (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255)),
        (QPalette.ColorRole.Link, QColor(100, 170, 255)),
        (QPalette.ColorRole.PlaceholderText, QColor(140, 140, 140)),
    ):
        p.setColor(role, color)
    # Bevels and frames of the Fusion style, and greyed-out disabled widgets: without these
    # a disabled button reads exactly like an enabled one on the dark palette.
    for role, color in (
        (QPalette.ColorRole.Light, QColor(70, 70, 70)),
        (QPalette.ColorRole.Midlight, QColor(58, 58, 58)),
        # Mid stays a readable grey: the properties HTML draws its headings in palette(mid)
        (QPalette.ColorRole.Mid, QColor(150, 150, 150)),
        (QPalette.ColorRole.Dark, QColor(24, 24, 24)),
        (QPalette.ColorRole.Shadow, QColor(10, 10, 10)),
        (QPalette.ColorRole.BrightText, QColor(255, 90, 90)),
        (QPalette.ColorRole.LinkVisited, QColor(180, 140, 255)),
    ):
        p.setColor(role, color)
    disabled = QColor(125, 125, 125)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
                 QPalette.ColorRole.ButtonText, QPalette.ColorRole.HighlightedText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, QColor(70, 70, 70))
    return p


def apply_theme(app: QGuiApplication | None, name: str) -> str:
    """Apply a theme to the whole app; returns "light" or "dark"."""
    resolved = resolve_theme(name)
    if app is not None:
        app.setPalette(_dark_palette() if resolved == "dark" else app.style().standardPalette())
    return resolved
