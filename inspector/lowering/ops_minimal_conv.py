"""Minimal rules for the keras.src.ops functional operations keras.applications models use
(ops.py owns the full set; these are registered only where it has none)."""

from __future__ import annotations
