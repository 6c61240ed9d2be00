"""Rules: layers_embed (see rules.py for the contract)."""

from __future__ import annotations
