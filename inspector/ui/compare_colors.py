"""Error -> colour for the compared graphs, and the legend that explains it."""

from __future__ import annotations

import math

from inspector.compare import CompareReport

RGB = tuple[int, int, int]
# (upper bound on max_rel, label, colour): green where B agrees, red where it departs.
BANDS: tuple[tuple[float, str, RGB], ...] = (
    (1e-6, "max_rel ≤ 1e-6", (46, 160, 67)),
    (1e-4, "≤ 1e-4", (140, 200, 60)),
    (1e-2, "≤ 1e-2", (240, 200, 40)),
    (1e-1, "≤ 0.1", (245, 130, 40)),
    (math.inf, "> 0.1", (215, 40, 40)),
)
UNMATCHED: tuple[str, RGB] = ("added / removed", (150, 110, 200))


def error_color(max_rel: float) -> RGB:
    """The band colour of one error."""
    for bound, _, rgb in BANDS:
        if max_rel <= bound:
            return rgb
    return BANDS[-1][2]


def legend() -> list[tuple[str, RGB]]:
    """The legend rows, in order."""
    return [(label, rgb) for _, label, rgb in BANDS] + [UNMATCHED]


def node_colors(report: CompareReport, side: str) -> dict[str, RGB]:
    """{node: colour} for side "a" or "b": by the worst error it computes; unmatched
    nodes purple; nodes matched without a value of their own (fused) take their partner's."""
    errors = report.node_errors(side)
    m = report.matching
    mapping, other = (m.a_to_b, report.node_errors("b")) if side == "a" else (m.b_to_a, report.node_errors("a"))
    out = {n: error_color(e) for n, e in errors.items()}
    for n, partners in mapping.items():
        if n not in out:
            known = [other[p] for p in partners if p in other]
            if known:
                out[n] = error_color(max(known))
    # Q/DQ and cast glue takes the colour of the op it wraps.
    for g, owner in (m.absorbed_a if side == "a" else m.absorbed_b).items():
        if owner in out and g not in out:
            out[g] = out[owner]
    for n in m.unmatched_a if side == "a" else m.unmatched_b:
        out[n] = UNMATCHED[1]
    return out
