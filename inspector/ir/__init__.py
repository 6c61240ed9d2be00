"""The shared graph IR: model, graph, node, value, tensor and op categories. numpy only."""

from inspector.ir.categories import CATEGORIES, category_of
from inspector.ir.model import (
    Attribute,
    Dim,
    Graph,
    Model,
    Node,
    Tensor,
    Value,
    Weight,
    format_shape,
)

__all__ = [
    "CATEGORIES",
    "Attribute",
    "Dim",
    "Graph",
    "Model",
    "Node",
    "Tensor",
    "Value",
    "Weight",
    "category_of",
    "format_shape",
]
