"""Match the nodes of model A to model B: by name, by layer scope, by topology and op family.

A match pairs a value of A with the value of B that computes the same thing, together with
the nodes on each side that compute it. Quantization and cast "glue" (Q/DQ pairs,
DynamicQuantizeLinear, the Cast/Mul epilogue of MatMulInteger/ConvInteger) is absorbed into
the op it wraps, so it is neither a match nor an added node.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from inspector.compare.metrics import shapes_compatible
from inspector.ir import Graph, Model, Node

# Ops that only re-encode a value (onnx operators spec: QuantizeLinear, DequantizeLinear,
# DynamicQuantizeLinear, Cast, Identity): absorbed into the node they wrap.
GLUE_OPS = frozenset({"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "Cast",
                      "Identity"})
INTEGER_OPS = frozenset({"MatMulInteger", "ConvInteger"})
# Layers that pass their input through at inference time.
PASSTHROUGH_OPS = frozenset({"Dropout", "SpatialDropout1D", "SpatialDropout2D",
                             "SpatialDropout3D", "GaussianNoise", "GaussianDropout",
                             "AlphaDropout", "ActivityRegularization", "Identity"})
NORM_OPS = frozenset({"BatchNormalization"})
_FAMILIES = {
    "conv": {"Conv", "ConvInteger", "QLinearConv", "FusedConv", "Conv1D", "Conv2D", "Conv3D",
             "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D"},
    "matmul": {"MatMul", "MatMulInteger", "QLinearMatMul", "Gemm", "FusedMatMul", "Dense",
               "EinsumDense"},
    "add": {"Add", "QLinearAdd"},
    "mul": {"Mul", "QLinearMul"},
    "pool": {"MaxPool", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D"},
    "avgpool": {"AveragePool", "QLinearAveragePool", "AveragePooling2D"},
    "gap": {"GlobalAveragePool", "QLinearGlobalAveragePool", "GlobalAveragePooling2D",
            "GlobalAveragePooling1D"},
    "concat": {"Concat", "QLinearConcat", "Concatenate"},
    "relu": {"Relu", "ReLU"},
    "flatten": {"Flatten", "Reshape"},
}
_FAMILY_OF = {op: fam for fam, ops in _FAMILIES.items() for op in ops}
_FUSABLE = frozenset({"conv", "matmul", "add", "mul", "relu", "batchnormalization", "clip",
                      "sub", "div", "sigmoid"})
_SUFFIX = re.compile(r"_\d+$")


def family(op_type: str) -> str:
    """The op family used for topology matching (Conv and ConvInteger are both "conv")."""
    return _FAMILY_OF.get(op_type, op_type.lower())


@dataclass(frozen=True)
class ValuePair:
    """A value of A (`a`, a key of A's activations) matched to `b`, with the nodes that
    compute it on each side; `how` is name, scope, topology, fused, passthrough or manual."""

    a: str
    b: str
    a_nodes: tuple[str, ...]
    b_nodes: tuple[str, ...]
    how: str


@dataclass
class Matching:
    """Value pairs in A's topological order, node maps both ways, and the nodes left over."""

    pairs: list[ValuePair]
    a_to_b: dict[str, tuple[str, ...]]
    b_to_a: dict[str, tuple[str, ...]]
    unmatched_a: list[str]
    unmatched_b: list[str]
    absorbed_b: dict[str, str] = field(default_factory=dict)
    absorbed_a: dict[str, str] = field(default_factory=dict)
    compute_a: int = 0  # A's nodes that are not glue: the denominator of `coverage`

    @property
    def coverage(self) -> float:
        """The share of A's (non-glue) nodes that found a partner."""
        return 1.0 if not self.compute_a else 1 - len(self.unmatched_a) / self.compute_a


class _Side:
    """One model's graph with the indexes matching needs."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.graph: Graph = model.graph
        self.nodes = list(self.graph.nodes)
        self.index = {n.name: i for i, n in enumerate(self.nodes)}
        self.value_nodes = {o: n for n in self.nodes for o in n.outputs if o}
        self.glue = self._glue_nodes()

    def _glue_nodes(self) -> set[str]:
        glue: set[str] = set()
        integer_tail: set[str] = set()
        for n in self.nodes:
            producers = [self.graph.producer(i) for i in n.inputs if i]
            if n.op_type in GLUE_OPS or (not n.inputs and self.graph.inputs):
                # No data input: a constant or a reshape of a weight (ORT's bias Reshape_N).
                glue.add(n.name)
            elif n.op_type in ("Mul", "Cast") and producers and any(
                p is not None and (p.op_type in INTEGER_OPS or p.name in integer_tail
                                   or p.op_type == "DynamicQuantizeLinear")
                for p in producers
            ):
                # ORT's dynamic quantization: Cast(int32) and Mul by the scales after the op.
                glue.add(n.name)
                integer_tail.add(n.name)
        return glue

    def shape(self, value: str) -> tuple | None:
        return self.graph.value(value).shape

    def main_output(self, node: Node) -> str | None:
        """The float value `node` hands on, past any re-encoding of it: Q then DQ, the
        Cast/Mul epilogue of an integer op, a Cast to float16 and back."""
        outs = [o for o in node.outputs if o]
        if not outs:
            return None
        value = outs[0]
        for _ in range(8):
            cons = self.graph.consumers(value)
            nxt = None
            if len(cons) >= 1:
                q = next((c for c in cons if c.op_type == "QuantizeLinear"), None)
                if q is not None:
                    dq = [c for c in self.graph.consumers(q.outputs[0])
                          if c.op_type == "DequantizeLinear"]
                    if dq:
                        nxt = dq[0].outputs[0]
                if nxt is None and len(cons) == 1 and cons[0].name in self.glue \
                        and cons[0].op_type in ("Cast", "Mul", "Identity"):
                    nxt = cons[0].outputs[0]
            if nxt is None:
                break
            value = nxt
        return value

    def real_consumers(self, node: Node) -> list[Node]:
        """The consumers of `node`'s outputs, looking through glue (Cast, Mul by scales)."""
        out: list[Node] = []
        frontier, seen = [node], {node.name}
        while frontier:
            nxt = []
            for n in frontier:
                for o in n.outputs:
                    for c in self.graph.consumers(o) if o else ():
                        if c.name in seen:
                            continue
                        seen.add(c.name)
                        (nxt if c.name in self.glue else out).append(c)
            frontier = nxt
        return out

    def owner(self, name: str) -> str | None:
        """The non-glue node a glue node belongs to: its nearest producer, else consumer."""
        node = self.graph.node(name)
        seen = {name}
        frontier = [node]
        while frontier:
            nxt = []
            for n in frontier:
                for i in n.inputs:
                    p = self.graph.producer(i) if i else None
                    if p is not None and p.name not in seen:
                        if p.name not in self.glue:
                            return p.name
                        seen.add(p.name)
                        nxt.append(p)
            frontier = nxt
        frontier = [node]
        while frontier:
            nxt = []
            for n in frontier:
                for o in n.outputs:
                    for c in self.graph.consumers(o):
                        if c.name not in seen:
                            if c.name not in self.glue:
                                return c.name
                            seen.add(c.name)
                            nxt.append(c)
            frontier = nxt
        return None


def _scopes(name: str) -> list[str]:
    """tf2onnx names nodes after the Keras layer scope, `model_1/conv1_1/BiasAdd`: the scope
    segments (without the op name), each also without a trailing `_N` that TF adds."""
    parts = name.split("/")[:-1]
    out: list[str] = []
    for p in parts:
        out.append(p)
        stripped = _SUFFIX.sub("", p)
        if stripped != p:
            out.append(stripped)
    return out


class _Matcher:
    def __init__(self, a: Model, b: Model) -> None:
        self.a, self.b = _Side(a), _Side(b)
        self.a_to_b: dict[str, list[str]] = {}
        self.b_to_a: dict[str, list[str]] = {}
        self.pairs: dict[str, ValuePair] = {}  # keyed by A value

    def link(self, a_nodes: list[str], b_nodes: list[str], a_val: str | None,
             b_val: str | None, how: str) -> None:
        for x in a_nodes:
            self.a_to_b.setdefault(x, [])
            self.a_to_b[x] += [y for y in b_nodes if y not in self.a_to_b[x]]
        for y in b_nodes:
            self.b_to_a.setdefault(y, [])
            self.b_to_a[y] += [x for x in a_nodes if x not in self.b_to_a[y]]
        if a_val and b_val and a_val not in self.pairs:
            self.pairs[a_val] = ValuePair(a_val, b_val, tuple(a_nodes), tuple(b_nodes), how)

    def free_a(self, n: Node) -> bool:
        return n.name not in self.a_to_b and n.name not in self.a.glue

    def free_b(self, n: Node) -> bool:
        return n.name not in self.b_to_a and n.name not in self.b.glue

    def pair_nodes(self, na: Node, nb: Node, how: str) -> bool:
        va, vb = self.a.main_output(na), self.b.main_output(nb)
        if va and vb and not shapes_compatible(self.a.shape(va), self.b.shape(vb)):
            return False
        self.link([na.name], [nb.name], va, vb, how)
        return True

    def by_manual(self, manual: list[tuple[str, str]]) -> None:
        for an, bn in manual:
            na, nb = self.a.graph.node(an), self.b.graph.node(bn)
            self.link([na.name], [nb.name], self.a.main_output(na), self.b.main_output(nb),
                      "manual")

    def by_name(self) -> None:
        """Same output value name first (a quantizer that fuses Conv+Relu keeps the Relu's
        output name on the Conv), then same node name; a node whose namesake already has a
        partner was fused into it and is linked without a value of its own."""
        b_by_name = {n.name: n for n in self.b.nodes}
        for na in self.a.nodes:
            if not self.free_a(na) or not na.outputs or not na.outputs[0]:
                continue
            nb = self.b.value_nodes.get(na.outputs[0])
            if nb is not None and self.free_b(nb):
                self.pair_nodes(na, nb, "name")
        for na in self.a.nodes:
            nb = b_by_name.get(na.name)
            if nb is None or not self.free_a(na) or nb.name in self.b.glue:
                continue
            if self.free_b(nb):
                self.pair_nodes(na, nb, "name")
            else:
                self.link([na.name], [nb.name], None, None, "fused")

    def by_scope(self) -> None:
        """A Keras layer (or any node) of one side to the group of nodes of the other side
        named inside its scope; the group's last node computes the layer's output."""
        for this, other, flip in ((self.a, self.b, False), (self.b, self.a, True)):
            # Nodes already matched by name still gather their scope (the final layer).
            names = {n.name: n for n in this.nodes if n.name not in this.glue}
            if not names:
                continue
            groups: dict[str, list[Node]] = {}
            for n in other.nodes:
                if n.name in (self.a_to_b if flip else self.b_to_a):
                    continue
                for s in _scopes(n.name):
                    if s in names:
                        groups.setdefault(s, []).append(n)
                        break
            for layer, group in groups.items():
                node = names[layer]
                members = {g.name for g in group}
                outs = set(other.graph.outputs)
                # The layer's output leaves its scope (tf2onnx splits a BatchNormalization
                # into Mul/Add nodes whose topological order need not end on the output).
                leaving = [g for g in group if g.name not in other.glue and any(
                    o in outs or any(c.name not in members for c in other.graph.consumers(o))
                    for o in g.outputs if o)]
                pool = leaving or [g for g in group if g.name not in other.glue] or group
                target = max(pool, key=lambda g: other.index[g.name])
                own = this.main_output(node)
                val = other.main_output(target)
                if own and val and not shapes_compatible(this.shape(own), other.shape(val)):
                    continue
                members = [g.name for g in group]  # type: ignore[assignment]
                if flip:
                    self.link(members, [node.name], val, own, "scope")
                else:
                    self.link([node.name], members, own, val, "scope")

    def by_topology(self) -> None:
        """Op-family sequences of the still unmatched nodes, aligned in topological order."""
        fa = [n for n in self.a.nodes if self.free_a(n)]
        fb = [n for n in self.b.nodes if self.free_b(n)]
        if not fa or not fb:
            return
        sm = SequenceMatcher(None, [family(n.op_type) for n in fa],
                             [family(n.op_type) for n in fb], autojunk=False)
        for block in sm.get_matching_blocks():
            for k in range(block.size):
                self.pair_nodes(fa[block.a + k], fb[block.b + k], "topology")

    def by_structure(self) -> None:
        """A BatchNormalization folded into the Conv before it, and pass-through layers
        (Dropout) that the other side dropped: paired with what their input matched."""
        for this, flip in ((self.a, False), (self.b, True)):
            mapping = self.b_to_a if flip else self.a_to_b
            for n in this.nodes:
                if n.name in mapping or n.name in this.glue or not n.inputs:
                    continue
                p = this.graph.producer(n.inputs[0])
                if p is None or p.name not in mapping:
                    continue
                partner = mapping[p.name]
                if n.op_type in NORM_OPS or n.op_type in PASSTHROUGH_OPS:
                    how = "fused" if n.op_type in NORM_OPS else "passthrough"
                    own = this.main_output(n)
                    other = self.a if flip else self.b
                    pv = other.main_output(other.graph.node(partner[-1]))
                    if flip:
                        self._repoint(pv, own, list(partner), [n.name], how, p.name)
                    else:
                        self._repoint(own, pv, [n.name], list(partner), how, p.name)

    def by_fusion(self) -> None:
        """Ops a runtime or quantizer fused into their consumer (MatMul + Add(bias) into
        Gemm, Conv + Relu into one Conv): linked to the consumer's partner, without a
        value of their own. Reverse topological order lets a chain fold step by step."""
        for this, flip in ((self.a, False), (self.b, True)):
            mapping = self.b_to_a if flip else self.a_to_b
            for n in reversed(this.nodes):
                if n.name in mapping or n.name in this.glue or family(n.op_type) not in _FUSABLE:
                    continue
                cons = this.real_consumers(n)
                if len(cons) == 1 and cons[0].name in mapping:
                    partner = list(mapping[cons[0].name])
                    other = self.a if flip else self.b
                    # Only a compute op absorbs its neighbours (a bias, an activation).
                    if not any(family(other.graph.node(q).op_type) in ("conv", "matmul")
                               for q in partner):
                        continue
                    an, bn = (partner, [n.name]) if flip else ([n.name], partner)
                    self.link(an, bn, None, None, "fused")

    def _repoint(self, va: str | None, vb: str | None, an: list[str], bn: list[str],
                 how: str, producer: str) -> None:
        if how == "fused" and va and vb:
            # The fused op's output is the normalised value: the pre-norm value has no partner.
            for key, pair in list(self.pairs.items()):
                if pair.b == vb or pair.a == va:
                    del self.pairs[key]
        self.link(an, bn, va, vb, how)


def match_models(a: Model, b: Model, manual: list[tuple[str, str]] = ()) -> Matching:
    """Match A's nodes to B's: hand-made pairs, then names, layer scopes, op-family topology,
    fused BatchNormalization and pass-through layers."""
    m = _Matcher(a, b)
    m.by_manual(list(manual))
    m.by_name()
    m.by_scope()
    m.by_topology()
    m.by_structure()
    m.by_fusion()
    pairs = sorted(m.pairs.values(), key=lambda p: min(
        (m.a.index.get(x, 0) for x in p.a_nodes), default=0))
    un_a = [n.name for n in m.a.nodes if m.free_a(n)]
    un_b = [n.name for n in m.b.nodes if m.free_b(n)]
    absorbed_b = {g: o for g in m.b.glue if (o := m.b.owner(g))}
    absorbed_a = {g: o for g in m.a.glue if (o := m.a.owner(g))}
    return Matching(
        pairs, {k: tuple(v) for k, v in m.a_to_b.items()},
        {k: tuple(v) for k, v in m.b_to_a.items()}, un_a, un_b, absorbed_b, absorbed_a,
        compute_a=sum(1 for n in m.a.nodes if n.name not in m.a.glue),
    )
