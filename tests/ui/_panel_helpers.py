"""Shared helpers for the panel tests: real Keras-written sample models, IR nodes over
their weights, and a grab that checks the panel is not blank."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inspector.ir import Attribute, Node, Tensor, Weight

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def weight(name: str, array: np.ndarray, kind: str = "keras") -> Weight:
    """A Weight whose lazy loader returns `array`."""
    a = np.asarray(array)
    return Weight(name, Tensor(name, tuple(a.shape), str(a.dtype), lambda: a, kind=kind))


def keras_dense_node(layer) -> Node:
    """An IR node for a Keras Dense layer, built from the layer itself."""
    kernel, bias = (np.asarray(v) for v in layer.get_weights())
    act = layer.get_config().get("activation")
    return Node(layer.name, "Dense", attributes=(Attribute("activation", act),),
                weights=(weight("kernel", kernel), weight("bias", bias)))


def grab_nonblank(widget, path: str) -> np.ndarray:
    """Save a screenshot to `path` and return it as an RGB array, asserting it is not blank."""
    from PIL import Image

    widget.grab().save(path)
    img = np.asarray(Image.open(path).convert("RGB"))
    assert img.reshape(-1, 3).std(axis=0).max() > 10, f"{path} looks blank"
    return img


def shown_panel(qtbot, cls, width: int, height: int):
    """A new `cls` panel, owned by qtbot, shown at width x height and exposed."""
    panel = cls()
    qtbot.addWidget(panel)
    panel.resize(width, height)
    panel.show()
    qtbot.waitExposed(panel)
    return panel
