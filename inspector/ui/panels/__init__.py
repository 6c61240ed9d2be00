"""The pyqtgraph panels."""
