"""Model Inspector: open a neural-network model file and explain it step by step."""

__version__ = "0.1.0"
