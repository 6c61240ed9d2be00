"""Deterministic mutations of the sample models: each `Case` names a sample, a mutation
family and its parameters, and `write_case` turns it into a file (plus, for external-data
lies, the files beside it). The same seed always gives the same cases, byte for byte.

Families (see README.md beside this file): truncate (at every protobuf field, zip record and
HDF5 structure boundary), bitflip, bytes, pb_length, pb_tag, onnx_lie (absurd dims, dtype,
opset and graph lies), external (external data outside the folder, at /etc/passwd, huge
offsets, a FIFO), zip_lie (central-directory and local-header fields), keras_config (Lambda
with marshalled code, custom objects, absurd shapes), h5_damage (superblock and object
headers), h5_config (the legacy model_config attribute).
"""

from __future__ import annotations

import base64
import io
import json
import marshal
import os
import random
import shutil
import struct
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fuzz.formats import (
    encode_varint,
    hdf5_structures,
    protobuf_fields,
    read_varint,
    zip_records,
)

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SAMPLE_SUFFIXES = (".onnx", ".keras", ".h5")
#: The file a Lambda payload creates if anything ever executes it.
CANARY_ENV = "MI_FUZZ_CANARY"


@dataclass(frozen=True)
class Case:
    """One mutated file: `id` is unique and stable for a seed."""

    id: str
    sample: str
    family: str
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


def samples() -> list[Path]:
    """The sample model files the campaign mutates."""
    return sorted(p for p in SAMPLES.iterdir() if p.suffix in SAMPLE_SUFFIXES)


# --------------------------------------------------------------------------- case lists


def _spread(values: list[int], cap: int, rng: random.Random) -> list[int]:
    """At most `cap` of `values`, always keeping the first and last, the rest sampled."""
    values = sorted(set(values))
    if len(values) <= cap:
        return values
    keep = {values[0], values[-1]}
    keep.update(rng.sample(values[1:-1], cap - 2))
    return sorted(keep)


def _boundaries(path: Path, data: bytes) -> list[int]:
    if path.suffix == ".onnx":
        offs = []
        for f in protobuf_fields(data):
            offs += [f.start, f.payload, f.end]
            if f.len_at >= 0:
                offs.append(f.len_at)
    elif path.suffix == ".keras":
        offs = []
        for r in zip_records(data):
            offs += [r.offset, r.offset + 4]
            offs += [o for o, _ in r.fields.values()]
            if r.kind == "local":
                nlen, xlen = struct.unpack_from("<HH", data, r.offset + 26)
                offs.append(r.offset + 30 + nlen + xlen)  # where the entry's data starts
    else:
        offs = []
        for _, o in hdf5_structures(path):
            offs += [o, o + 1, o + 8, o + 16]
    offs += [1, 2, 4, 8, len(data) - 1]
    return [o for o in offs if 0 < o < len(data)]


def cases_for(path: Path, seed: int, scale: float = 1.0) -> list[Case]:
    """Every case for one sample file; `scale` shrinks the random families (CI uses 0.03)."""
    rng = random.Random(f"{seed}:{path.name}")
    data = path.read_bytes()
    out: list[Case] = []
    stem = path.name

    def add(family: str, **params: Any) -> None:
        out.append(Case(f"{stem}:{family}:{len(out)}", stem, family, params))

    for cut in _spread(_boundaries(path, data), max(3, int(260 * scale)), rng):
        add("truncate", at=cut)
    for _ in range(max(2, int(330 * scale))):
        k = rng.choice((1, 1, 1, 2, 3, 8))
        add("bitflip", bits=[(rng.randrange(len(data)), rng.randrange(8)) for _ in range(k)])
    for _ in range(max(1, int(100 * scale))):
        n = rng.choice((1, 2, 4, 8, 16, 64))
        at = rng.randrange(len(data))
        add("bytes", at=at, fill=rng.choice(("zero", "ff", "random")), n=n,
            seed=rng.randrange(1 << 30))
    if path.suffix == ".onnx":
        fields = protobuf_fields(data)
        lens = [f for f in fields if f.len_at >= 0]
        for f in rng.sample(lens, min(len(lens), max(2, int(90 * scale)))):
            n = f.end - f.payload
            new = rng.choice((0, max(n - 1, 0), n + 1, 2 * n + 7, 2**31 - 1, 2**32 + 5, 2**63))
            add("pb_length", at=f.len_at, new=new)
        for f in rng.sample(fields, min(len(fields), max(2, int(45 * scale)))):
            add("pb_tag", at=f.start, number=rng.choice((f.number, rng.randrange(1, 40))),
                wire=rng.randrange(8))
        for lie in ONNX_LIES:
            add("onnx_lie", lie=lie)
        for lie in EXTERNAL_LIES:
            add("external", lie=lie)
    elif path.suffix == ".keras":
        recs = zip_records(data)
        lies = [(r.offset, name) for r in recs for name in r.fields]
        for at, name in _spread_pairs(lies, max(3, int(230 * scale)), rng):
            add("zip_lie", record=at, field=name, value=rng.choice(ZIP_VALUES))
        for edit in CONFIG_EDITS:
            add("keras_config", edit=edit)
    else:
        structs = hdf5_structures(path)
        for what, at in structs:
            for _ in range(max(1, int(6 * scale))):
                add("h5_damage", what=what, at=at, delta=rng.randrange(0, 24),
                    value=rng.choice((0, 0xFF, 0x7F, rng.randrange(256))), n=rng.choice((1, 2, 4, 8)))
        for edit in CONFIG_EDITS:
            add("h5_config", edit=edit)
    return out


def _spread_pairs(items: list[tuple[int, str]], cap: int, rng: random.Random) -> list[tuple[int, str]]:
    if len(items) <= cap:
        return items * (cap // max(len(items), 1)) + items[: cap % max(len(items), 1)]
    return rng.sample(items, cap)


def all_cases(seed: int = 0, scale: float = 1.0) -> list[Case]:
    """The campaign: every case of every sample, in a stable order."""
    return [c for p in samples() for c in cases_for(p, seed, scale)]


# --------------------------------------------------------------------------- writing


def write_case(case: Case, folder: Path, canary: Path) -> Path:
    """Write the case's file (and any files beside it) into `folder`; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))  # json.dumps of nested_deep
    src = SAMPLES / case.sample
    data = bytearray(src.read_bytes())
    p = case.params
    out = folder / case.sample
    f = case.family
    if f == "truncate":
        data = data[: p["at"]]
    elif f == "bitflip":
        for at, bit in p["bits"]:
            data[at] ^= 1 << bit
    elif f == "bytes":
        n = min(p["n"], len(data) - p["at"])
        fill = {"zero": b"\x00" * n, "ff": b"\xff" * n,
                "random": random.Random(p["seed"]).randbytes(n)}[p["fill"]]
        data[p["at"]: p["at"] + n] = fill
    elif f == "pb_length":
        _, end = read_varint(bytes(data), p["at"])
        data[p["at"]: end] = encode_varint(p["new"])
    elif f == "pb_tag":
        _, end = read_varint(bytes(data), p["at"])
        data[p["at"]: end] = encode_varint((p["number"] << 3) | p["wire"])
    elif f == "onnx_lie":
        data = bytearray(_onnx_lie(bytes(data), p["lie"]))
    elif f == "external":
        data = bytearray(_external_lie(bytes(data), p["lie"], folder))
    elif f == "zip_lie":
        data = _zip_lie(data, p["record"], p["field"], p["value"])
    elif f == "keras_config":
        data = bytearray(_keras_config(src, p["edit"], canary))
    elif f == "h5_damage":
        at = p["at"] + p["delta"]
        for i in range(p["n"]):
            if at + i < len(data):
                data[at + i] = p["value"]
    elif f == "h5_config":
        out.write_bytes(bytes(data))
        _h5_config(out, p["edit"], canary)
        return out
    else:
        raise ValueError(f"unknown family {f}")
    out.write_bytes(bytes(data))
    return out


# ---- ONNX semantic lies

ONNX_LIES = (
    "input_dim_huge", "input_dim_2p62", "input_dim_negative", "input_dims_product_overflow",
    "input_rank_64", "init_dims_mismatch", "init_dims_huge", "init_dtype_string",
    "init_dtype_bfloat16", "init_dtype_999", "init_dtype_undefined", "input_dtype_999",
    "input_dtype_string", "opset_999", "opset_domain_weird", "ir_version_999",
    "unknown_op", "dangling_input", "no_outputs", "duplicate_node_output",
    "output_type_sequence_lie", "attr_huge_ints", "init_negative_dim", "input_dim_zero",
    "init_raw_truncated", "node_self_loop", "input_type_missing", "init_int4_odd",
)


def _onnx_lie(data: bytes, lie: str) -> bytes:
    import onnx
    from onnx import TensorProto as T
    from onnx import helper

    m = onnx.ModelProto()
    m.ParseFromString(data)
    g = m.graph
    inits = {t.name for t in g.initializer}
    inputs = [i for i in g.input if i.name not in inits]
    big = max(g.initializer, key=lambda t: t.ByteSize(), default=None)

    def dim(v: int) -> None:
        d = inputs[0].type.tensor_type.shape.dim
        if d:
            d[-1].ClearField("dim_param")
            d[-1].dim_value = v

    if lie == "input_dim_huge":
        dim(1 << 40)
    elif lie == "input_dim_2p62":
        dim(1 << 62)
    elif lie == "input_dim_negative":
        dim(-3)
    elif lie == "input_dim_zero":
        dim(0)
    elif lie == "input_dims_product_overflow":
        for d in inputs[0].type.tensor_type.shape.dim:
            d.ClearField("dim_param")
            d.dim_value = 1 << 31
    elif lie == "input_rank_64":
        shape = inputs[0].type.tensor_type.shape
        for _ in range(64):
            shape.dim.add().dim_value = 2
    elif big is not None and lie == "init_dims_mismatch":
        big.dims.append(3)
    elif big is not None and lie == "init_dims_huge":
        del big.dims[:]
        big.dims.extend([1 << 20, 1 << 20, 1 << 20])
    elif big is not None and lie == "init_negative_dim":
        if big.dims:
            big.dims[0] = -5
    elif big is not None and lie == "init_dtype_string":
        big.data_type = T.STRING
    elif big is not None and lie == "init_dtype_bfloat16":
        big.data_type = T.BFLOAT16
    elif big is not None and lie == "init_dtype_999":
        big.data_type = 999
    elif big is not None and lie == "init_dtype_undefined":
        big.data_type = T.UNDEFINED
    elif big is not None and lie == "init_int4_odd":
        big.data_type = T.INT4
    elif big is not None and lie == "init_raw_truncated":
        if big.raw_data:
            big.raw_data = big.raw_data[: len(big.raw_data) // 2 + 1]
    elif lie == "input_dtype_999":
        inputs[0].type.tensor_type.elem_type = 999
    elif lie == "input_dtype_string":
        inputs[0].type.tensor_type.elem_type = T.STRING
    elif lie == "input_type_missing":
        inputs[0].ClearField("type")
    elif lie == "opset_999":
        for o in m.opset_import:
            o.version = 999
    elif lie == "opset_domain_weird":
        m.opset_import.add().domain, m.opset_import[-1].version = "com.evil\x00\xff", 1
    elif lie == "ir_version_999":
        m.ir_version = 999
    elif lie == "unknown_op" and g.node:
        g.node[0].op_type = "NoSuchOp" * 40
    elif lie == "dangling_input" and g.node:
        g.node[-1].input.append("no_such_value")
    elif lie == "no_outputs":
        del g.output[:]
    elif lie == "duplicate_node_output" and len(g.node) > 1:
        g.node[0].output[0] = g.node[-1].output[0]
    elif lie == "output_type_sequence_lie":
        o = g.output[0]
        o.type.CopyFrom(helper.make_sequence_type_proto(helper.make_tensor_type_proto(T.FLOAT, None)))
    elif lie == "attr_huge_ints" and g.node:
        g.node[0].attribute.append(helper.make_attribute("kernel_shape", [1 << 62, 1 << 62]))
    elif lie == "node_self_loop" and g.node:
        n = g.node[min(1, len(g.node) - 1)]
        if n.input and n.output:
            n.input[0] = n.output[0]
    return m.SerializeToString()


EXTERNAL_LIES = (
    "parent", "etc_passwd_abs", "etc_passwd_rel", "symlink_passwd", "symlink_folder_escape",
    "huge_offset", "huge_length", "negative_offset", "non_numeric", "folder", "fifo",
    "empty_location", "nul_in_location", "dev_zero_symlink", "missing", "offset_past_end",
)


def _external_lie(data: bytes, lie: str, folder: Path) -> bytes:
    """Move the largest initializer to external data, then lie about where it is."""
    import onnx
    from onnx import TensorProto as T

    m = onnx.ModelProto()
    m.ParseFromString(data)
    big = max(m.graph.initializer, key=lambda t: t.ByteSize(), default=None)
    if big is None:
        return data
    raw = onnx.numpy_helper.to_array(big).tobytes()
    (folder / "weights.bin").write_bytes(raw)
    location, offset, length = "weights.bin", "0", str(len(raw))
    if lie == "parent":
        (folder.parent / "outside.bin").write_bytes(raw)
        location = "../outside.bin"
    elif lie == "etc_passwd_abs":
        location = "/etc/passwd"
    elif lie == "etc_passwd_rel":
        location = "../../../../../../../../etc/passwd"
    elif lie == "symlink_passwd":
        _symlink("/etc/passwd", folder / "passwd.bin")
        location, length = "passwd.bin", "16"
    elif lie == "symlink_folder_escape":
        _symlink(str(folder.parent), folder / "up")
        (folder.parent / "outside.bin").write_bytes(raw)
        location = "up/outside.bin"
    elif lie == "dev_zero_symlink":
        _symlink("/dev/zero", folder / "zero.bin")
        location = "zero.bin"
    elif lie == "huge_offset":
        offset = str(1 << 62)
    elif lie == "huge_length":
        length = str(1 << 62)
    elif lie == "negative_offset":
        offset = "-4096"
    elif lie == "non_numeric":
        offset = "0x10; rm -rf /"
    elif lie == "folder":
        (folder / "adir").mkdir(exist_ok=True)
        location = "adir"
    elif lie == "fifo":
        fifo = folder / "pipe.bin"
        if not fifo.exists():
            os.mkfifo(fifo)
        location = "pipe.bin"
    elif lie == "empty_location":
        location = ""
    elif lie == "nul_in_location":
        location = "weights.bin\x00/etc/passwd"
    elif lie == "missing":
        location = "not_there.bin"
    elif lie == "offset_past_end":
        offset = str(len(raw) + 1)
    big.ClearField("raw_data")
    for name in ("float_data", "int32_data", "int64_data", "double_data", "uint64_data"):
        big.ClearField(name)
    big.data_location = T.EXTERNAL
    del big.external_data[:]
    for key, value in (("location", location), ("offset", offset), ("length", length)):
        e = big.external_data.add()
        e.key, e.value = key, value
    return m.SerializeToString()


def _symlink(target: str, link: Path) -> None:
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target)


# ---- zip lies

ZIP_VALUES = (0, 1, 0xFFFF, 0xFFFFFFFF, 0x7FFFFFFF, 99, 12, 14, 1 << 20, 30, -1)


def _zip_lie(data: bytearray, record: int, name: str, value: int) -> bytearray:
    rec = next((r for r in zip_records(bytes(data)) if r.offset == record), None)
    if rec is None:
        return data
    at, fmt = rec.fields[name]
    size = struct.calcsize(fmt)
    mask = (1 << (8 * size)) - 1
    if value == -1:  # "one more than the truth"
        value = struct.unpack_from(fmt, data, at)[0] + 1
    struct.pack_into(fmt, data, at, value & mask)
    return data


# ---- Keras config edits (both .keras and legacy .h5)

CONFIG_EDITS = (
    "lambda_k3", "lambda_k2", "lambda_closure", "custom_os_system", "custom_builtins_eval",
    "registered_name_lie", "module_lie", "units_huge", "units_negative", "units_float",
    "batch_shape_huge", "batch_shape_rank_100", "dtype_lie", "dtype_object", "layers_not_list",
    "layers_empty", "config_null", "class_name_missing", "nested_deep", "name_collision",
    "inbound_self", "kernel_size_huge", "activation_custom_code", "output_layers_lie",
    "shared_object_lie", "function_type_raw",
)


def _payload(canary: Path) -> str:
    """Base64 marshalled code of a lambda that creates `canary` when called."""
    src = (f"lambda x: (__import__('pathlib').Path({str(canary)!r}).write_text('ran'), "
           f"__import__('os').system('touch {canary}'), x)[2]")
    code = compile(src, "<payload>", "eval")
    fn_code = next(c for c in code.co_consts if hasattr(c, "co_code"))
    return base64.b64encode(marshal.dumps(fn_code)).decode("ascii")


def _edit_config(config: dict, edit: str, canary: Path) -> dict:
    layers = config.get("config", {}).get("layers", [])
    target = layers[1] if len(layers) > 1 else (layers[0] if layers else {})
    cfg = target.setdefault("config", {})
    code = _payload(canary)
    if edit == "lambda_k3":
        target["class_name"], target["module"] = "Lambda", "keras.layers"
        cfg["function"] = {"class_name": "__lambda__", "config": {
            "code": code, "defaults": None, "closure": None}}
    elif edit == "lambda_k2":
        target["class_name"] = "Lambda"
        cfg.update(function=[code, None, None], function_type="lambda", output_shape=None,
                   output_shape_type="raw", arguments={})
    elif edit == "lambda_closure":
        target["class_name"] = "Lambda"
        cfg["function"] = {"class_name": "__lambda__", "config": {
            "code": code, "defaults": [code], "closure": [code]}}
        cfg["output_shape"] = {"class_name": "__lambda__", "config": {"code": code}}
    elif edit == "custom_os_system":
        target.update(module="os", class_name="system", registered_name="os>system")
        cfg["command"] = f"touch {canary}"
    elif edit == "custom_builtins_eval":
        target.update(module="builtins", class_name="eval", registered_name="builtins>eval")
        cfg["source"] = f"open({str(canary)!r}, 'w')"
    elif edit == "registered_name_lie":
        target["registered_name"] = "Custom>Evil"
        target["class_name"] = "Evil"
    elif edit == "module_lie":
        target["module"] = "subprocess"
    elif edit == "units_huge":
        cfg["units"] = 10**12
    elif edit == "units_negative":
        cfg["units"] = -7
    elif edit == "units_float":
        cfg["units"] = 1e308
    elif edit == "batch_shape_huge" and layers:
        layers[0].setdefault("config", {})["batch_shape"] = [None, 10**9, 10**9, 3]
        layers[0]["config"]["batch_input_shape"] = [None, 10**9, 10**9, 3]
    elif edit == "batch_shape_rank_100" and layers:
        layers[0].setdefault("config", {})["batch_shape"] = [None] + [2] * 100
        layers[0]["config"]["batch_input_shape"] = [None] + [2] * 100
    elif edit == "dtype_lie":
        cfg["dtype"] = "float1024"
    elif edit == "dtype_object":
        cfg["dtype"] = {"module": "os", "class_name": "system", "config": {"command": "true"}}
    elif edit == "layers_not_list":
        config.setdefault("config", {})["layers"] = "x"
    elif edit == "layers_empty":
        config.setdefault("config", {})["layers"] = []
    elif edit == "config_null":
        config["config"] = None
    elif edit == "class_name_missing":
        target.pop("class_name", None)
    elif edit == "nested_deep":
        inner: dict = {"class_name": "Functional", "config": {"layers": []}}
        for _ in range(400):
            inner = {"class_name": "Functional", "name": "m", "config": {"layers": [inner]}}
        layers.append(inner)
    elif edit == "name_collision" and len(layers) > 2:
        layers[2]["name"] = layers[1].get("name")
        layers[2].setdefault("config", {})["name"] = layers[1].get("name")
    elif edit == "inbound_self":
        name = target.get("name", "x")
        target["inbound_nodes"] = [{"args": [{"class_name": "__keras_tensor__", "config": {
            "keras_history": [name, 0, 0]}}], "kwargs": {}}]
    elif edit == "kernel_size_huge":
        cfg["kernel_size"] = [1 << 40, 1 << 40]
        cfg["units"] = 1 << 40
    elif edit == "activation_custom_code":
        cfg["activation"] = {"class_name": "__lambda__", "config": {"code": code}}
    elif edit == "output_layers_lie":
        config.setdefault("config", {})["output_layers"] = [["no_such", 99, 99]]
    elif edit == "shared_object_lie":
        cfg["shared_object_id"] = 1 << 62
    elif edit == "function_type_raw":
        target["class_name"] = "Lambda"
        cfg.update(function=code, function_type="raw")
    return config


def _keras_config(src: Path, edit: str, canary: Path) -> bytes:
    with zipfile.ZipFile(src) as z:
        entries = [(i, z.read(i.filename)) for i in z.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info, raw in entries:
            if info.filename == "config.json":
                raw = json.dumps(_edit_config(json.loads(raw), edit, canary)).encode()
            z.writestr(info.filename, raw)
    return buf.getvalue()


def _h5_config(path: Path, edit: str, canary: Path) -> None:
    import h5py

    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        f.attrs["model_config"] = json.dumps(_edit_config(config, edit, canary))


def iter_written(cases: list[Case], root: Path, canary: Path) -> Iterator[tuple[Case, Path]]:
    """Write each case into its own folder under `root` (removing the previous one's)."""
    for i, case in enumerate(cases):
        folder = root / f"c{i % 64}" / "model"
        if folder.parent.exists():
            shutil.rmtree(folder.parent, ignore_errors=True)
        yield case, write_case(case, folder, canary)
