"""Rules: layers_conv (see rules.py for the contract)."""

from __future__ import annotations
