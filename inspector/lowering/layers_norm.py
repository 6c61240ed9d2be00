"""Rules: layers_norm (see rules.py for the contract)."""

from __future__ import annotations
