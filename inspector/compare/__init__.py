"""Compare two models layer by layer: match their nodes, run both on one input, measure where
they depart. No Qt: the UI and the CLI both read a `CompareReport`."""

from inspector.compare.matching import Matching, ValuePair, match_models
from inspector.compare.metrics import ValueDiff, align, value_diff
from inspector.compare.report import CompareError, CompareReport, compare_models

__all__ = [
    "CompareError",
    "CompareReport",
    "Matching",
    "ValueDiff",
    "ValuePair",
    "align",
    "compare_models",
    "match_models",
    "value_diff",
]
