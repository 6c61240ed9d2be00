"""Generated graphs shaped like real networks (chain, ResNet, Inception, transformer, random
DAG), as (node count, (m, 2) edge array), for layout tests and the layout benchmark."""

from __future__ import annotations

import numpy as np


class _Builder:
    """Append-only graph: `node(*inputs)` adds a node fed by `inputs` and returns its index."""

    def __init__(self) -> None:
        self.n = 0
        self.edges: list[tuple[int, int]] = []
        self.group = -1  # new nodes go in this group
        self.group_of: list[int] = []
        self.parent: list[int] = []

    def node(self, *inputs: int) -> int:
        v = self.n
        self.n += 1
        self.edges.extend((u, v) for u in inputs)
        self.group_of.append(self.group)
        return v

    def enter(self) -> int:
        """Open a group inside the current one (like an ONNX name scope); returns the outer."""
        outer = self.group
        self.parent.append(outer)
        self.group = len(self.parent) - 1
        return outer

    def groups(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self.group_of, dtype=np.int64), np.array(self.parent, dtype=np.int64)

    def chain(self, start: int, length: int) -> int:
        v = start
        for _ in range(length):
            v = self.node(v)
        return v

    def done(self) -> tuple[int, np.ndarray]:
        return self.n, np.array(self.edges, dtype=np.int64).reshape(-1, 2)


def chain(n: int) -> tuple[int, np.ndarray]:
    """A plain chain 0 -> 1 -> ... -> n-1."""
    b = _Builder()
    if n:
        b.chain(b.node(), n - 1)
    return b.done()


def resnet(blocks: int) -> tuple[int, np.ndarray]:
    """Stem, residual blocks (conv-bn-relu-conv-bn-add-relu, skip to the add; every fourth
    block has a projection conv-bn on the skip), then pool-flatten-fc-softmax."""
    n, edges, _ = resnet_with_spine(blocks)
    return n, edges


def resnet_with_spine(blocks: int) -> tuple[int, np.ndarray, list[int]]:
    """`resnet` plus the nodes of its main chain (everything but the projection shortcuts)."""
    b = _Builder()
    x = b.chain(b.node(), 4)
    for i in range(blocks):
        y = b.chain(x, 5)
        skip = b.chain(x, 2) if i % 4 == 0 else x
        x = b.node(y, skip)
        x = b.node(x)
    b.chain(x, 4)
    n, edges = b.done()
    spine = _longest_path(n, edges)
    return n, edges, spine


def inception(modules: int) -> tuple[int, np.ndarray]:
    """Modules of four branches (1x1; 1x1-3x3; 1x1-3x3-3x3; pool-1x1) joined by a concat."""
    b = _Builder()
    x = b.chain(b.node(), 3)
    for _ in range(modules):
        ends = [b.chain(x, k) for k in (1, 2, 3, 2)]
        x = b.node(*ends)
    b.chain(x, 3)
    return b.done()


def transformer(blocks: int) -> tuple[int, np.ndarray]:
    """Encoder blocks as an ONNX export draws them: q/k/v projections with reshapes, scaled
    dot-product attention with one attention mask (made once, fed to every block),
    residual adds, layer norms and a GELU MLP."""
    b = _Builder()
    ids = b.node()
    x = b.node(b.chain(ids, 1), b.node())  # embedding + position embedding
    mask = b.chain(b.node(), 3)  # unsqueeze, cast, scale
    for _ in range(blocks):
        h = b.node(x)  # layer norm
        q, k, v = (b.chain(h, 4) for _ in range(3))  # matmul, add, reshape, transpose
        s = b.node(q, b.node(k))  # transpose k, matmul
        s = b.node(b.node(s), mask)  # div, add mask
        a = b.node(b.node(s), v)  # softmax, matmul v
        a = b.chain(a, 4)  # transpose, reshape, matmul, add
        x = b.node(x, a)
        h = b.chain(b.node(x), 5)  # layer norm, matmul, add, gelu, matmul, add
        x = b.node(x, h)
    b.chain(x, 2)
    return b.done()


def _longest_path(n: int, edges: np.ndarray) -> list[int]:
    """Nodes of one longest path (nodes are numbered in topological order)."""
    best = [1] * n
    prev = [-1] * n
    for u, v in sorted(map(tuple, edges.tolist()), key=lambda e: e[1]):
        if best[u] + 1 > best[v]:
            best[v], prev[v] = best[u] + 1, u
    v = max(range(n), key=lambda i: best[i])
    path = []
    while v >= 0:
        path.append(v)
        v = prev[v]
    return path[::-1]


def random_dag(n: int, m: int, seed: int = 0, window: int = 40) -> tuple[int, np.ndarray]:
    """Random DAG: `m` edges i -> j with i < j <= i + window (locality like real graphs)."""
    rng = np.random.default_rng(seed)
    src = rng.integers(0, max(n - 1, 1), size=m)
    dst = np.minimum(src + rng.integers(1, window + 1, size=m), n - 1)
    keep = src < dst
    return n, np.column_stack([src[keep], dst[keep]]).astype(np.int64)


def sizes_for(n: int, seed: int = 0) -> np.ndarray:
    """Node sizes like a graph view's boxes: widths 40-180, heights 20-64."""
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(40, 180, n), rng.uniform(20, 64, n)])


def shaped(kind: str, approx_nodes: int) -> tuple[int, np.ndarray]:
    """A graph of `kind` ("resnet", "inception", "transformer") with about this many nodes."""
    per = {"resnet": 7.5, "inception": 9.0, "transformer": 32.0}[kind]
    count = max(1, int(approx_nodes / per))
    return {"resnet": resnet, "inception": inception, "transformer": transformer}[kind](count)


Grouped = tuple[int, np.ndarray, tuple[np.ndarray, np.ndarray]]


def grouped_transformer(blocks: int) -> Grouped:
    """`transformer` with name scopes as an exporter writes them: /encoder, one group per
    block, and attention and MLP groups inside each block; the mask stays outside."""
    b = _Builder()
    ids = b.node()
    x = b.node(b.chain(ids, 1), b.node())
    mask = b.chain(b.node(), 3)
    b.enter()  # /encoder
    for _ in range(blocks):
        block = b.enter()
        h = b.node(x)
        outer = b.enter()  # attention
        q, k, v = (b.chain(h, 4) for _ in range(3))
        s = b.node(q, b.node(k))
        s = b.node(b.node(s), mask)
        a = b.node(b.node(s), v)
        a = b.chain(a, 4)
        b.group = outer
        x = b.node(x, a)
        b.enter()  # mlp
        h = b.chain(b.node(x), 5)
        b.group = outer
        x = b.node(x, h)
        b.group = block
    b.group = -1
    b.chain(x, 2)
    n, edges = b.done()
    return n, edges, b.groups()


def scoped_transformer(blocks: int) -> Grouped:
    """A transformer as "Expand all" shows an exported encoder's name scopes: /mask, and
    /encoder/layer.k with attention/self/{query,key,value}, attention/output and mlp
    inside; every block's attention takes the one mask (a long edge through all blocks)."""
    b = _Builder()

    def scope(outer: int) -> int:
        b.group = outer
        b.enter()
        return b.group

    scope(-1)  # /mask
    mask = b.node()
    b.group = -1
    x = b.node()
    encoder = scope(-1)
    for _ in range(blocks):
        block = scope(encoder)  # layer.k
        h = b.node(x)  # layer norm
        attention = scope(block)
        selfs = scope(attention)
        qkv = []
        for _ in range(3):
            scope(selfs)  # query / key / value
            qkv.append(b.chain(h, 4))
        b.group = selfs
        s = b.node(b.node(qkv[0], qkv[1]), mask)
        a = b.node(b.node(s), qkv[2])
        scope(attention)  # output
        a = b.chain(a, 4)
        x = b.node(x, a)
        scope(block)  # mlp
        m = b.chain(x, 6)
        b.group = block
        x = b.node(x, m)
    b.group = -1
    b.node(x)
    n, edges = b.done()
    return n, edges, b.groups()


def grouped_resnet(blocks: int) -> Grouped:
    """`resnet` with a group per stage of four blocks and a group per block inside it."""
    b = _Builder()
    x = b.chain(b.node(), 4)
    for i in range(blocks):
        if i % 4 == 0:
            b.group = -1
            b.enter()
        stage = b.group
        b.enter()
        y = b.chain(x, 5)
        skip = b.chain(x, 2) if i % 4 == 0 else x
        x = b.node(y, skip)
        x = b.node(x)
        b.group = stage
    b.group = -1
    b.chain(x, 4)
    n, edges = b.done()
    return n, edges, b.groups()


def range_groups(n: int, seed: int = 0, depth: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Nested groups over runs of consecutive node indices (how name scopes fall in a
    topologically numbered graph), some nodes left directly in the parent."""
    rng = np.random.default_rng(seed)
    group_of = np.full(n, -1, dtype=np.int64)
    parent: list[int] = []

    def split(lo: int, hi: int, outer: int, level: int) -> None:
        if level == depth or hi - lo < 4:
            return
        cuts = np.sort(rng.choice(np.arange(lo + 1, hi), size=min(3, hi - lo - 1), replace=False))
        for a, z in zip([lo, *cuts.tolist()], [*cuts.tolist(), hi], strict=True):
            if rng.random() < 0.7:
                parent.append(outer)
                g = len(parent) - 1
                group_of[a:z] = g
                split(a, z, g, level + 1)

    split(0, n, -1, 0)
    return group_of, np.array(parent, dtype=np.int64)
