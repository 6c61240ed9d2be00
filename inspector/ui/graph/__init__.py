"""The graph view: the architecture diagram widget, its pure scene preparation and export."""

from inspector.ui.graph.scene import SceneData, SceneOptions, prepare

__all__ = ["SceneData", "SceneOptions", "prepare"]
