"""`model-inspector render`: the architecture diagram of a model as PNG or SVG, headless."""

from __future__ import annotations

from pathlib import Path

from inspector.ir.model import Model

# Up to this many nodes every group is expanded (like keras plot_model, every layer shown);
# past it the view's default grouping keeps the picture legible.
EXPAND_ALL_LIMIT = 3000


def _ensure_app() -> object:
    """A QGuiApplication for fonts and painting (created once, reused)."""
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance()
    if app is None:
        app = QGuiApplication(["model-inspector"])
    return app


def render_model(model: Model, out: Path, horizontal: bool = False) -> str:
    """Draw `model`'s main graph at full detail into `out` (.png or .svg); returns a note on
    how a PNG was fitted ("" when drawn whole at a readable size)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ValueError(f"{out.name}: the output must end in .png or .svg")
    _ensure_app()
    from inspector.ui.graph.export import export_png, export_svg
    from inspector.ui.graph.scene import SceneOptions, all_groups, prepare

    graph = model.graph
    expanded = all_groups(graph) if len(graph.nodes) <= EXPAND_ALL_LIMIT else None
    data = prepare(model, graph, expanded, SceneOptions(direction="LR" if horizontal else "TB"))
    if suffix == ".png":
        lay = export_png(data, out, scale=1.5 if len(data.items) < 400 else 1.0)
        parts = []
        if len(lay.bands) > 1:
            across = "columns" if lay.vertical else "rows"
            parts.append(f"wrapped into {len(lay.bands)} {across} to stay readable")
        if not lay.readable:
            parts.append(f"drawn at {lay.scale:.0%}, too small to read: write .svg for every label")
        return "; ".join(parts)
    export_svg(data, out)
    return ""
