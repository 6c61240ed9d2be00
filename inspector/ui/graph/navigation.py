"""Hit tests and keyboard walks over a SceneData (pure numpy, no Qt)."""

from __future__ import annotations

from collections import deque

import numpy as np

from inspector.ir.model import Graph
from inspector.ui.graph.node_content import PAD_X as TOGGLE_PAD_X
from inspector.ui.graph.scene import FRAME_LABEL_H, SceneData


class Navigator:
    """Answers: which item or edge is at a point, and where an arrow key leads."""

    def __init__(self, data: SceneData) -> None:
        self.data = data
        self._adjacency: tuple[np.ndarray, ...] | None = None
        self._centers: np.ndarray | None = None

    # Built on the first arrow key, not at install: first paint of a 100k graph needs neither.
    def _adj(self) -> tuple[np.ndarray, ...]:
        if self._adjacency is None:
            n = len(self.data.items)
            e = np.asarray(self.data.edges, dtype=np.int64).reshape(-1, 2)
            adj = []
            for key, other in ((0, 1), (1, 0)):  # (successors by source), (predecessors by target)
                order = np.argsort(e[:, key], kind="stable")
                starts = np.searchsorted(e[order, key], np.arange(n + 1))
                adj.extend([e[order, other], starts])
            self._adjacency = tuple(adj)
        return self._adjacency

    def succs(self, i: int) -> list[int]:
        """Items that item `i` has an edge to, in edge order."""
        nbr, starts, _, _ = self._adj()
        return nbr[starts[i]:starts[i + 1]].tolist()

    def preds(self, i: int) -> list[int]:
        """Items that have an edge to item `i`, in edge order."""
        _, _, nbr, starts = self._adj()
        return nbr[starts[i]:starts[i + 1]].tolist()

    @property
    def centers(self) -> np.ndarray:
        """(n, 2) centre of every item's rectangle."""
        if self._centers is None:
            r = np.asarray(self.data.rects, dtype=np.float64).reshape(-1, 4)
            self._centers = np.column_stack([(r[:, 0] + r[:, 2]) / 2, (r[:, 1] + r[:, 3]) / 2])
        return self._centers

    def node_at(self, x: float, y: float) -> int | None:
        """The item whose rectangle contains (x, y), or None."""
        hits = self.data.node_index.query(x, y, x, y)
        return int(hits[-1]) if len(hits) else None

    def edge_at(self, x: float, y: float, tol: float) -> int | None:
        """The edge whose route passes within `tol` world units of (x, y), or None."""
        segs = self.data.segment_index.query(x - tol, y - tol, x + tol, y + tol)
        if len(segs) == 0:
            return None
        s = self.data.segments[segs]
        a, b = s[:, :2], s[:, 2:]
        d = b - a
        ll = np.maximum((d * d).sum(axis=1), 1e-12)
        t = np.clip(((np.array([x, y]) - a) * d).sum(axis=1) / ll, 0.0, 1.0)
        closest = a + d * t[:, None]
        dist = np.hypot(closest[:, 0] - x, closest[:, 1] - y)
        k = int(np.argmin(dist))
        return int(self.data.segment_edge[segs[k]]) if dist[k] <= tol else None

    def toggle_at(self, x: float, y: float, slop: float = 3.0) -> tuple[str, ...] | None:
        """The group whose [+] (collapsed group) or [−] (frame title) box is at (x, y),
        within `slop` world units; the boxes are where the painter draws them."""
        hit = self.node_at(x, y)
        if hit is not None:
            item = self.data.items[hit]
            if item.kind == "group":
                x0, y0 = float(self.data.rects[hit][0]), float(self.data.rects[hit][1])
                bx, by = x0 + TOGGLE_PAD_X, y0 + 6
                if bx - slop <= x <= bx + 10 + slop and by - slop <= y <= by + 10 + slop:
                    return tuple(item.group)
            return None
        for f in reversed(self.data.frames):
            bx, by = f.rect[0] + 7, f.rect[1] + 4
            if bx - slop <= x <= bx + 11 + slop and by - slop <= y <= by + 11 + slop:
                return f.path
        return None

    def frame_label_at(self, x: float, y: float) -> tuple[str, ...] | None:
        """The expanded group whose frame title bar is at (x, y) (innermost first)."""
        for f in reversed(self.data.frames):
            x0, y0, x1, _ = f.rect
            if x0 <= x <= x1 and y0 <= y <= y0 + FRAME_LABEL_H + 2:
                return f.path
        return None

    def step(self, i: int, move: str) -> int | None:
        """Up: a producer; Down: a consumer; Left/Right: the nearest sibling in its layer."""
        if move in ("up", "down"):
            cands = self.preds(i) if move == "up" else self.succs(i)
            if not cands:
                return None
            # The one nearest in the cross direction feels like "straight up/down".
            cx = self.centers[cands]
            horiz = self.data.options.direction == "TB"
            axis = 0 if horiz else 1
            k = int(np.argmin(np.abs(cx[:, axis] - self.centers[i, axis])))
            return int(cands[k])
        horiz = self.data.options.direction == "TB"
        layer_axis, along = (1, 0) if horiz else (0, 1)
        c = self.centers
        same = np.abs(c[:, layer_axis] - c[i, layer_axis]) < 1.0
        same[i] = False
        delta = c[:, along] - c[i, along]
        ok = same & ((delta > 0) if move == "right" else (delta < 0))
        if not ok.any():
            return None
        cand = np.flatnonzero(ok)
        return int(cand[np.argmin(np.abs(delta[cand]))])

    @staticmethod
    def lineage(graph: Graph, name: str, direction: str) -> set[str]:
        """`name` and every node upstream ("ancestors") or downstream ("descendants") of it."""
        start = graph.node(name)
        seen = {start.name}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            if direction == "ancestors":
                nxt = [graph.producer(v) for v in node.inputs if v]
            else:
                nxt = [c for v in node.outputs if v for c in graph.consumers(v)]
            for m in nxt:
                if m is not None and m.name not in seen:
                    seen.add(m.name)
                    queue.append(m)
        return seen


def dimmed_items(data: SceneData, names: set[str]) -> np.ndarray:
    """True for every item to draw faint when only the nodes `names` are highlighted: nodes
    not in it, groups holding none of them, inputs and outputs not named in it."""
    graph = data.graph
    prefixes: set[tuple[str, ...]] = set()
    for n in names:
        try:
            g = graph.node(n).group
        except KeyError:
            continue
        prefixes.update(tuple(g[:k]) for k in range(1, len(g) + 1))
    dim = np.ones(len(data.items), dtype=bool)
    for i, item in enumerate(data.items):
        if item.kind == "node":
            dim[i] = item.node.name not in names
        elif item.kind == "group":
            dim[i] = tuple(item.group) not in prefixes
        else:
            dim[i] = item.label not in names
    return dim


def item_colors(data: SceneData, colors: dict[str, tuple[int, int, int]]) -> dict[int, tuple[int, ...]]:
    """{item index: colour} for the node items whose node name has a colour in `colors`."""
    idx = data.index_of_node
    return {
        idx[n]: tuple(int(v) for v in c)
        for n, c in colors.items()
        if n in idx and data.items[idx[n]].kind == "node"
    }
