"""The only package that imports PySide6 or pyqtgraph: windows, views, panels, jobs."""
