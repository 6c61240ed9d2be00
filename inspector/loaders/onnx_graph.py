"""GraphProto/FunctionProto -> ir.Graph: nodes, values, weights, subgraphs and function links."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping, Sequence
from functools import lru_cache

import onnx
from onnx import AttributeProto, FunctionProto, GraphProto, NodeProto

from inspector.ir import Attribute, Graph, Node, Tensor, Value, Weight, category_of
from inspector.loaders.onnx_tensors import (
    ExternalData,
    constant_tensor,
    sparse_from_proto,
    tensor_from_proto,
)
from inspector.loaders.onnx_types import UNKNOWN_TYPE, TypeInfo, type_info, type_name
from inspector.progress import Task

FunctionKey = tuple[str, str, str]  # (domain, name, overload)


@lru_cache(maxsize=4096)
def as_text(value: str | bytes) -> str:
    """A protobuf string field as text; undecodable bytes become U+FFFD."""
    return value if type(value) is str else bytes(value).decode("utf-8", "replace")


def formal_inputs(op_type: str, domain: str, opset: int | None) -> tuple[tuple[str, bool], ...]:
    """(formal input name, is variadic) for an op from its onnx schema; () when unknown."""
    try:
        if opset is None:
            schema = onnx.defs.get_schema(op_type, domain)
        else:
            schema = onnx.defs.get_schema(op_type, opset, domain)
    except Exception:  # noqa: BLE001 - SchemaError for unknown ops, custom domains
        return ()
    variadic = onnx.defs.OpSchema.FormalParameterOption.Variadic
    return tuple((p.name, p.option == variadic) for p in schema.inputs)


def group_of(name: str) -> tuple[str, ...]:
    """Name scopes of a node name: "/encoder/layer.0/attention/MatMul" -> the first three."""
    if "/" not in name:
        return ()
    parts = [p for p in name.split("/") if p]
    return tuple(parts[:-1])


def _domain_key(domain: str) -> str:
    return "" if domain in ("", "ai.onnx") else domain


class GraphBuilder:
    """Builds IR graphs for one model; shares its external-data checker, opsets and functions."""

    def __init__(self, ext: ExternalData, task: Task, total_nodes: int = 0) -> None:
        self.ext = ext
        self.task = task
        self.total_nodes = max(total_nodes, 1)
        self.done = 0
        self.functions: dict[FunctionKey, Graph] = {}
        self.function_protos: dict[FunctionKey, FunctionProto] = {}
        self._categories: dict[tuple[str, str], str] = {}

    # -- functions ---------------------------------------------------------------------------

    def build_functions(self, protos: list[FunctionProto], opsets: Mapping[str, int]) -> list[Graph]:
        """One Graph per model-local function, callees built before callers."""
        for fp in protos:
            self.function_protos[(fp.domain, fp.name, getattr(fp, "overload", ""))] = fp
        building: set[FunctionKey] = set()
        order: list[Graph] = []

        def build(key: FunctionKey) -> Graph | None:
            if key in self.functions:
                return self.functions[key]
            if key in building:  # a recursive function: link nothing rather than loop
                return None
            building.add(key)
            fp = self.function_protos[key]
            for n in fp.node:
                callee = (n.domain, n.op_type, getattr(n, "overload", ""))
                if callee in self.function_protos:
                    build(callee)
            f_opsets = {_domain_key(o.domain): o.version for o in fp.opset_import} or dict(opsets)
            types = {vi.name: type_info(vi.type) for vi in getattr(fp, "value_info", [])}
            g = self._graph(
                name=f"{fp.domain}.{fp.name}" if fp.domain else fp.name,
                nodes=list(fp.node),
                inputs=list(fp.input),
                outputs=list(fp.output),
                initializers={},
                types=types,
                typed_nodes=None,
                scope={},
                opsets=f_opsets,
                doc=fp.doc_string,
            )
            self.functions[key] = g
            order.append(g)
            return g

        for key in list(self.function_protos):
            build(key)
        return order

    # -- graphs ------------------------------------------------------------------------------

    def graph(
        self,
        gp: GraphProto,
        opsets: Mapping[str, int],
        typed: GraphProto | None = None,
        outer: Mapping[str, Tensor] | None = None,
    ) -> Graph:
        """The IR of `gp`; `typed` is its shape-inferred twin, `outer` the enclosing weights."""
        inits: dict[str, Tensor] = {}
        for tp in gp.initializer:
            inits[tp.name] = tensor_from_proto(tp, self.ext)
        for sp in gp.sparse_initializer:
            inits[sp.values.name] = sparse_from_proto(sp, self.ext)
        types = _declared_types(gp)
        if typed is not None:
            for name, info in _declared_types(typed).items():
                old = types.get(name)
                if old is None or _better(info, old):
                    types[name] = info
        inputs = [vi.name for vi in gp.input if vi.name not in inits]
        return self._graph(
            name=gp.name,
            nodes=list(gp.node),
            inputs=inputs,
            outputs=[vi.name for vi in gp.output],
            initializers=inits,
            types=types,
            # the repeated field itself: wrapping 100k nodes in a list costs; few are indexed
            typed_nodes=typed.node if typed is not None and len(typed.node) == len(gp.node) else None,
            scope=ChainMap(inits, outer) if outer is not None else inits,
            opsets=opsets,
            doc=gp.doc_string,
        )

    def _graph(
        self,
        name: str,
        nodes: list[NodeProto],
        inputs: list[str],
        outputs: list[str],
        initializers: dict[str, Tensor],
        types: dict[str, TypeInfo],
        typed_nodes: Sequence[NodeProto] | None,
        scope: Mapping[str, Tensor],
        opsets: Mapping[str, int],
        doc: str,
    ) -> Graph:
        # Read each protobuf field once: upb field access is the cost on 100k-node graphs.
        rows = [(n, n.name, n.op_type, n.domain, tuple(n.input), tuple(n.output)) for n in nodes]
        # ONNX is proto2: its strings are not checked as UTF-8, and upb hands back bytes for
        # ones that do not decode (a flipped bit in an op type). Make them text once here.
        if not all(type(r[1]) is str and type(r[2]) is str and type(r[3]) is str
                   and all(type(v) is str for v in r[4]) and all(type(v) is str for v in r[5])
                   for r in rows):
            rows = [(r[0], as_text(r[1]), as_text(r[2]), as_text(r[3]),
                     tuple(as_text(v) for v in r[4]), tuple(as_text(v) for v in r[5]))
                    for r in rows]
        constants: dict[str, Tensor] = {}
        for np_, _, op, domain, _, outs in rows:
            if op == "Constant" and outs and _domain_key(domain) == "":
                t = constant_tensor(np_, self.ext)
                if t is not None:
                    constants[outs[0]] = t
        if not constants:
            weights_scope = scope
        elif isinstance(scope, dict):
            weights_scope = {**scope, **constants}
        else:
            weights_scope = ChainMap(constants, scope)

        values: dict[str, Value] = {}

        def add_value(vname: str) -> None:
            if not vname or vname in values:
                return
            known, shape, dtype = types.get(vname, UNKNOWN_TYPE)
            if known:
                values[vname] = Value(vname, shape, dtype)
            elif vname in constants:
                c = constants[vname]
                values[vname] = Value(vname, c.shape, c.dtype)
            else:
                values[vname] = Value(vname)

        for n in inputs:
            add_value(n)
        # Names produced here (inputs, node outputs) shadow outer weights of the same name.
        local = set(inputs) | {o for r in rows for o in r[5] if o and o not in constants}
        reserved = {r[1] for r in rows if r[1]}
        used: set[str] = set()
        out_nodes: list[Node] = []
        for i, row in enumerate(rows):
            nname = row[1]
            if not nname or nname in used:
                nname = f"{row[2]}_{i}"
                while nname in used or nname in reserved:
                    nname += "_"
            used.add(nname)
            out_nodes.append(
                self._node(row, nname, typed_nodes, i, weights_scope, constants, opsets, local)
            )
            for o in row[5]:
                add_value(o)
            self.done += 1
            if self.done % 2000 == 0:
                self.task.report(0.3 + 0.65 * min(1.0, self.done / self.total_nodes), "Reading nodes")
        for n in outputs:
            add_value(n)
        return Graph(
            name=name,
            nodes=tuple(out_nodes),
            values=values,
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            initializers=initializers,
            doc=doc,
        )

    def _category(self, op: str, domain: str) -> str:
        key = (op, domain)
        cat = self._categories.get(key)
        if cat is None:
            cat = self._categories[key] = category_of(op, "onnx", domain)
        return cat

    def _node(
        self,
        row: tuple[NodeProto, str, str, str, tuple[str, ...], tuple[str, ...]],
        name: str,
        typed_nodes: Sequence[NodeProto] | None,
        index: int,
        scope: Mapping[str, Tensor],
        constants: Mapping[str, Tensor],
        opsets: Mapping[str, int],
        local: set[str],
    ) -> Node:
        np_, proto_name, op, domain, proto_inputs, outs = row
        is_constant = op == "Constant" and domain in ("", "ai.onnx")
        fkey = (domain, op, getattr(np_, "overload", "")) if self.functions else None
        function = self.functions.get(fkey) if fkey else None
        attributes: list[Attribute] = []
        subgraphs: list[tuple[str, Graph]] = []
        proto_attrs = np_.attribute
        if proto_attrs:
            const_out = constants.get(outs[0]) if is_constant and outs else None
            for a in proto_attrs:
                aname = a.name
                if const_out is not None and aname.startswith(("value", "sparse_value")):
                    value: object = const_out
                else:
                    value = self._attr_value(a, typed_nodes, index, scope, opsets, subgraphs)
                attributes.append(Attribute(aname, value, _attr_type(a.type)))
            if len(subgraphs) > 1:  # helper.make_node sorts attributes; show "then" before "else"
                subgraphs.sort(key=lambda kv: {"then_branch": 0, "else_branch": 1}.get(kv[0], 2))
        if function is not None:
            subgraphs.append(("function", function))

        weights: list[Weight] = []
        data_inputs: list[str] = []
        if is_constant:
            if outs and outs[0] in constants:
                weights.append(Weight("value", constants[outs[0]]))
        else:
            formal: tuple[tuple[str, bool], ...] | None = None
            for pos, inp in enumerate(proto_inputs):
                if not inp:
                    continue
                tensor = None if inp in local else scope.get(inp)
                if tensor is None:
                    data_inputs.append(inp)
                    continue
                if formal is None:
                    if function is not None and fkey is not None:
                        formal = tuple((n, False) for n in self.function_protos[fkey].input)
                    else:
                        dk = _domain_key(domain)
                        formal = formal_inputs(op, dk, opsets.get(dk))
                role = _role(formal, pos, inp)
                if any(w.name == role for w in weights):
                    role = f"{role}_{pos}"
                weights.append(Weight(role, tensor))
        return Node(
            name=name,
            op_type=op,
            category=self._category(op, domain),
            domain=domain,
            inputs=tuple(data_inputs),
            outputs=outs,
            attributes=tuple(attributes),
            weights=tuple(weights),
            input_names=proto_inputs,
            group=group_of(proto_name) if "/" in proto_name else (),
            subgraphs=tuple(subgraphs),
            doc=np_.doc_string,
        )

    def _attr_value(
        self,
        a: AttributeProto,
        typed_nodes: Sequence[NodeProto] | None,
        index: int,
        scope: Mapping[str, Tensor],
        opsets: Mapping[str, int],
        subgraphs: list[tuple[str, Graph]],
    ) -> object:
        t = a.type
        if a.ref_attr_name:  # inside a function: the caller's attribute of that name
            return f"${a.ref_attr_name}"
        if t == AttributeProto.FLOAT:
            return float(a.f)
        if t == AttributeProto.INT:
            return int(a.i)
        if t == AttributeProto.STRING:
            return _text(a.s)
        if t == AttributeProto.TENSOR:
            return tensor_from_proto(a.t, self.ext, kind="constant")
        if t == AttributeProto.SPARSE_TENSOR:
            return sparse_from_proto(a.sparse_tensor, self.ext)
        if t == AttributeProto.GRAPH:
            typed = _typed_attr(typed_nodes, index, a.name)
            g = self.graph(a.g, opsets, typed.g if typed is not None else None, scope)
            subgraphs.append((a.name, g))
            return g
        if t == AttributeProto.TYPE_PROTO:
            return type_name(a.tp)
        if t == AttributeProto.FLOATS:  # upb already yields Python floats and ints
            return list(a.floats)
        if t == AttributeProto.INTS:
            return list(a.ints)
        if t == AttributeProto.STRINGS:
            return [_text(s) for s in a.strings]
        if t == AttributeProto.TENSORS:
            return [tensor_from_proto(x, self.ext, kind="constant") for x in a.tensors]
        if t == AttributeProto.SPARSE_TENSORS:
            return [sparse_from_proto(x, self.ext) for x in a.sparse_tensors]
        if t == AttributeProto.GRAPHS:
            typed = _typed_attr(typed_nodes, index, a.name)
            typed_gs = list(typed.graphs) if typed is not None and len(typed.graphs) == len(a.graphs) else None
            gs = []
            for k, gp in enumerate(a.graphs):
                g = self.graph(gp, opsets, typed_gs[k] if typed_gs else None, scope)
                subgraphs.append((f"{a.name}[{k}]", g))
                gs.append(g)
            return gs
        if t == AttributeProto.TYPE_PROTOS:
            return [type_name(x) for x in a.type_protos]
        return None


def _role(formal: tuple[tuple[str, bool], ...], pos: int, tensor_name: str) -> str:
    """The schema's name for input `pos` ("W", "B"), indexed for variadic inputs."""
    if not formal:
        return tensor_name
    last = len(formal) - 1
    name, variadic = formal[min(pos, last)]
    if variadic and pos >= last:
        return f"{name}_{pos - last}"
    return name if pos <= last else tensor_name


def _typed_attr(typed_nodes: Sequence[NodeProto] | None, index: int,
                name: str) -> AttributeProto | None:
    """Attribute `name` of the shape-inferred twin of node `index` (its typed subgraphs)."""
    if typed_nodes is None:
        return None
    for a in typed_nodes[index].attribute:
        if a.name == name:
            return a
    return None


@lru_cache(maxsize=64)
def _attr_type(t: int) -> str:
    try:
        return AttributeProto.AttributeType.Name(t).lower()
    except ValueError:
        return "undefined"


def _text(b: bytes) -> str | bytes:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b


def _declared_types(gp: GraphProto) -> dict[str, TypeInfo]:
    types: dict[str, TypeInfo] = {}
    for seq in (gp.input, gp.value_info, gp.output):
        for vi in seq:
            name = vi.name
            if name:
                info = type_info(vi.type)
                old = types.get(name)
                if old is None or _better(info, old):
                    types[name] = info
    return types


def _better(new: TypeInfo, old: TypeInfo) -> bool:
    """True when `new` says more than `old` (a type where there was none, or a shape)."""
    if not old[0]:
        return new[0]
    if old[1] is None and new[1] is not None:
        return new[2] == old[2] or old[2] is None
    return False
