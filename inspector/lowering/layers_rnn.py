"""Rules: layers_rnn (see rules.py for the contract)."""

from __future__ import annotations
