"""Every test runs Qt offscreen: the platform must be chosen before anything imports Qt
(tests outside tests/ui render icons and diagrams too)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
