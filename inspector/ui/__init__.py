"""The only package that imports PySide6 or pyqtgraph: windows, views, panels, jobs."""

from inspector.ui.qt_compat import pin_singletons

pin_singletons()
