"""The only package that imports PySide6 or pyqtgraph: windows, views, panels, jobs."""

from inspector.ui.qt_compat import pin_singletons, quick_gil_handoff

pin_singletons()
quick_gil_handoff()
