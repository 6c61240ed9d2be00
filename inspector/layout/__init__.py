"""IR -> node positions and edge routes. Pure functions, no Qt."""

from inspector.layout.curves import smooth_path
from inspector.layout.layered import LayoutResult, layered_layout
from inspector.layout.view_graph import ViewGraph, ViewItem, build_view_graph, default_expanded

__all__ = [
    "LayoutResult",
    "ViewGraph",
    "ViewItem",
    "build_view_graph",
    "default_expanded",
    "layered_layout",
    "smooth_path",
]
