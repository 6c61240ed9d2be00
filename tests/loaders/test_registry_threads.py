"""The loader registry under the app's start-up race: a background thread imports the
loaders while the first file's load job asks for them (it used to see none)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import sys, threading
from inspector.loaders import registry
seen = []
start = threading.Barrier(4)
def ask():
    start.wait()
    seen.append(sorted(s.name for s in registry.loaders()))
threads = [threading.Thread(target=ask) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
model = registry.load_model(sys.argv[1])
print(len({tuple(s) for s in seen}), len(seen[0]), len(model.graph.nodes))
"""


def test_every_thread_sees_every_builtin_loader() -> None:
    sample = ROOT / "samples" / "digits_cnn.onnx"
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(sample)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    distinct, count, nodes = map(int, proc.stdout.split())
    assert distinct == 1  # every thread got the same, full list
    assert count >= 2  # ONNX and Keras at least
    assert nodes > 0
