"""Horizontal compaction of the coordinate step: longest paths over the block graph.

Each block (a vertical run of aligned nodes) goes as far left as the separation
constraints x[dst] - x[src] >= sep allow, and separately as far right. That is a longest
path in a DAG. A network's block graph is shallow (a 100k-node transformer with nested
frames: 31,000 blocks, 590,000 constraints, 12 levels), so the blocks are taken a whole
level at a time (Kahn's algorithm with the frontier as one array). A deep block graph
(a random DAG: thousands of levels of a few blocks) would pay numpy's per-call overhead
per level, so once many levels have been thin the rest runs as a plain Python loop.

Both give the same bits as a sequential pass in any topological order: a block's value
is the maximum (minimum) over its constraints of one float addition (subtraction) each,
taken only when all its predecessors (successors) are final, and fmax/fmin skip a NaN
just as the comparison `new > old` of the sequential loop does.
"""

from __future__ import annotations

import numpy as np

THIN = 64  # fewer out-edges than this in a frontier: numpy's call overhead outweighs the work
PATIENCE = 16  # thin frontiers taken level-wise before the Python loop takes over


def _ranges(start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Concatenated aranges start[i] .. start[i] + count[i] - 1."""
    total = int(count.sum())
    offset = np.cumsum(count) - count
    return np.arange(total, dtype=np.int64) + np.repeat(start - offset, count)


def compact(nb: int, src: np.ndarray, dst: np.ndarray, sep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Leftmost and rightmost block positions under x[dst] - x[src] >= sep (each >= 0 and
    <= 0 respectively), level by level while levels are wide."""
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    sep = np.asarray(sep, dtype=np.float64)
    order = np.argsort(src, kind="stable")
    d, s = dst[order], sep[order]
    ptr = np.zeros(nb + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=nb), out=ptr[1:])
    indeg = np.bincount(dst, minlength=nb)
    left = np.zeros(nb)
    levels: list[np.ndarray] = []
    frontier = np.flatnonzero(indeg == 0)
    placed = thin = 0
    while len(frontier):
        count = ptr[frontier + 1] - ptr[frontier]
        # a few thin levels are common (a frame's border block leads the graph); many
        # mean a deep block graph
        thin += int(count.sum() < THIN)
        if thin > PATIENCE:
            break
        levels.append(frontier)
        placed += len(frontier)
        idx = _ranges(ptr[frontier], count)
        b = d[idx]
        np.fmax.at(left, b, np.repeat(left[frontier], count) + s[idx])
        np.subtract.at(indeg, b, 1)
        frontier = np.unique(b[indeg[b] == 0])
    tail: list[int] = []
    if len(frontier):
        done = np.zeros(nb, dtype=bool)
        for f in levels:
            done[f] = True
        t_ptr, t_d, t_s, t_indeg = _tail_graph(nb, src[order], d, s, done)
        tail = _kahn_tail(frontier.tolist(), t_ptr, t_d, t_s, t_indeg, left)
    if placed + len(tail) < nb:  # only if the alignment were cyclic: the sequential rules
        lo, hi = compact_sequential(nb, src.tolist(), dst.tolist(), sep.tolist())
        return np.asarray(lo), np.asarray(hi)
    right = np.zeros(nb)
    if tail:
        _right_tail(tail, t_ptr, t_d, t_s, right)
    for frontier in reversed(levels):
        count = ptr[frontier + 1] - ptr[frontier]
        idx = _ranges(ptr[frontier], count)
        np.fmin.at(right, np.repeat(frontier, count), right[d[idx]] - s[idx])
    return left, right


def _tail_graph(nb: int, u: np.ndarray, v: np.ndarray, sep: np.ndarray,
                done: np.ndarray) -> tuple[list[int], list[int], list[float], np.ndarray]:
    """Constraints among the blocks not yet placed, as lists for the Python loop: each
    pair once with its largest separation (two blocks side by side in many layers repeat
    it per layer; x + max(s) is max(x + s) exactly, as float addition is monotone), and
    the in-degrees they leave."""
    keep = ~done[u]
    code = u[keep] * nb + v[keep]
    order = np.argsort(code, kind="stable")
    code = code[order]
    head = np.flatnonzero(np.r_[True, code[1:] != code[:-1]]) if len(code) else np.zeros(0, np.int64)
    # fmax skips a NaN separation as the loop's comparison would
    best = np.fmax.reduceat(sep[keep][order], head) if len(head) else np.zeros(0)
    pu, pv = code[head] // nb, code[head] % nb
    ptr = np.zeros(nb + 1, dtype=np.int64)
    np.cumsum(np.bincount(pu, minlength=nb), out=ptr[1:])
    return ptr.tolist(), pv.tolist(), best.tolist(), np.bincount(pv, minlength=nb)


def _kahn_tail(queue: list[int], ptr: list[int], d: list[int], s: list[float],
               indeg_arr: np.ndarray, left_arr: np.ndarray) -> list[int]:
    """Finish the left pass one block at a time from `queue`; updates `left_arr` and
    returns the blocks in the order placed."""
    indeg = indeg_arr.tolist()
    left = left_arr.tolist()
    i = 0
    while i < len(queue):
        a = queue[i]
        i += 1
        xa = left[a]
        for k in range(ptr[a], ptr[a + 1]):
            b = d[k]
            if xa + s[k] > left[b]:
                left[b] = xa + s[k]
            indeg[b] -= 1
            if indeg[b] == 0:
                queue.append(b)
    left_arr[:] = left
    return queue


def _right_tail(tail: list[int], ptr: list[int], d: list[int], s: list[float],
                right_arr: np.ndarray) -> None:
    """Right pass over the blocks the Python loop placed, last placed first."""
    right = right_arr.tolist()
    for a in reversed(tail):
        for k in range(ptr[a], ptr[a + 1]):
            v = right[d[k]] - s[k]
            if v < right[a]:
                right[a] = v
    right_arr[:] = right


def compact_sequential(nb: int, src: list[int], dst: list[int], sep: list[float]) -> tuple[list[float], list[float]]:
    """`compact` one block at a time in Kahn order (the reference; also places the blocks
    of a cyclic block graph, which a consistent alignment never makes)."""
    out: list[list[int]] = [[] for _ in range(nb)]
    indeg = [0] * nb
    for k, (a, b) in enumerate(zip(src, dst, strict=True)):
        out[a].append(k)
        indeg[b] += 1
    topo = [b for b in range(nb) if indeg[b] == 0]
    left = [0.0] * nb
    i = 0
    while i < len(topo):
        a = topo[i]
        i += 1
        xa = left[a]
        for k in out[a]:
            b = dst[k]
            if xa + sep[k] > left[b]:
                left[b] = xa + sep[k]
            indeg[b] -= 1
            if indeg[b] == 0:
                topo.append(b)
    if len(topo) < nb:
        seen = set(topo)
        topo.extend(b for b in range(nb) if b not in seen)
    right = [0.0] * nb
    for a in reversed(topo):
        for k in out[a]:
            b = dst[k]
            if right[b] - sep[k] < right[a]:
                right[a] = right[b] - sep[k]
    return left, right
