"""Where the sections of a model file start and end: protobuf fields, zip records, HDF5
objects. The mutators cut and corrupt at these offsets (structure-aware fuzzing).

Nothing here trusts the file: a walk that meets nonsense stops and returns what it found.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

# --------------------------------------------------------------------------- protobuf


@dataclass(frozen=True)
class PbField:
    """One protobuf field: where its tag starts, where its length varint and payload start,
    where it ends, its field number and wire type, and its nesting depth."""

    start: int
    len_at: int  # offset of the length varint (wire type 2), else -1
    payload: int
    end: int
    number: int
    wire: int
    depth: int


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, next position); ValueError when the varint runs off the end or past 10 bytes."""
    value = shift = 0
    for i in range(10):
        if pos + i >= len(data):
            raise ValueError("varint runs off the end")
        b = data[pos + i]
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos + i + 1
        shift += 7
    raise ValueError("varint over 10 bytes")


def encode_varint(n: int) -> bytes:
    """Protobuf varint of a non-negative int (up to 64 bits; larger values are masked)."""
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _walk(data: bytes, lo: int, hi: int, depth: int, out: list[PbField], limit: int) -> bool:
    pos = lo
    found: list[PbField] = []
    while pos < hi:
        try:
            tag, p = read_varint(data, pos)
        except ValueError:
            return False
        number, wire = tag >> 3, tag & 7
        if number == 0:
            return False
        len_at = -1
        if wire == 0:
            try:
                _, end = read_varint(data, p)
            except ValueError:
                return False
            payload = p
        elif wire == 1:
            payload, end = p, p + 8
        elif wire == 5:
            payload, end = p, p + 4
        elif wire == 2:
            len_at = p
            try:
                n, payload = read_varint(data, p)
            except ValueError:
                return False
            end = payload + n
        else:
            return False
        if end > hi:
            return False
        found.append(PbField(pos, len_at, payload, end, number, wire, depth))
        pos = end
    out.extend(found)
    if depth < 12:
        for f in found:
            # A length-delimited field may be a sub-message, a string or packed numbers;
            # it counts as a message only when the whole payload walks cleanly.
            if f.wire == 2 and f.end - f.payload >= 2 and len(out) < limit:
                sub: list[PbField] = []
                if _walk(data, f.payload, f.end, depth + 1, sub, limit):
                    out.extend(sub)
    return True


def protobuf_fields(data: bytes, limit: int = 200_000) -> list[PbField]:
    """Every field of a serialized message, nested ones included (best effort)."""
    out: list[PbField] = []
    _walk(data, 0, len(data), 0, out, limit)
    return sorted(out, key=lambda f: f.start)


# --------------------------------------------------------------------------- zip


@dataclass(frozen=True)
class ZipRecord:
    """A zip record: kind ("local", "central", "eocd"), its offset, and the offsets of its
    size/offset fields that a lie can be written into."""

    kind: str
    offset: int
    name: str
    fields: dict[str, tuple[int, str]]  # field name -> (offset, struct format)


_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_EOCD = b"PK\x05\x06"


def zip_records(data: bytes) -> list[ZipRecord]:
    """Local headers, central-directory entries and the end record, found by signature."""
    out: list[ZipRecord] = []
    for m in re.finditer(re.escape(_LOCAL), data):
        o = m.start()
        if o + 30 > len(data):
            continue
        nlen = struct.unpack_from("<H", data, o + 26)[0]
        out.append(ZipRecord("local", o, data[o + 30: o + 30 + nlen].decode("utf-8", "replace"), {
            "method": (o + 8, "<H"), "crc": (o + 14, "<I"), "csize": (o + 18, "<I"),
            "usize": (o + 22, "<I"), "name_len": (o + 26, "<H"), "extra_len": (o + 28, "<H"),
        }))
    for m in re.finditer(re.escape(_CENTRAL), data):
        o = m.start()
        if o + 46 > len(data):
            continue
        nlen = struct.unpack_from("<H", data, o + 28)[0]
        out.append(ZipRecord("central", o, data[o + 46: o + 46 + nlen].decode("utf-8", "replace"), {
            "method": (o + 10, "<H"), "crc": (o + 16, "<I"), "csize": (o + 20, "<I"),
            "usize": (o + 24, "<I"), "name_len": (o + 28, "<H"), "extra_len": (o + 30, "<H"),
            "local_offset": (o + 42, "<I"),
        }))
    for m in re.finditer(re.escape(_EOCD), data):
        o = m.start()
        if o + 22 > len(data):
            continue
        out.append(ZipRecord("eocd", o, "", {
            "entries_disk": (o + 8, "<H"), "entries": (o + 10, "<H"),
            "cd_size": (o + 12, "<I"), "cd_offset": (o + 16, "<I"),
        }))
    return sorted(out, key=lambda r: r.offset)


# --------------------------------------------------------------------------- HDF5

_H5_SIGNATURES = (b"TREE", b"HEAP", b"SNOD", b"OHDR", b"OCHK", b"GCOL", b"BTHD", b"BTIN",
                  b"BTLF", b"FRHP", b"FHDB", b"FHIB", b"FSHD", b"FSSE", b"SMTB", b"SMLI")


def hdf5_structures(path: Path) -> list[tuple[str, int]]:
    """(what, offset) of the superblock, every object header h5py reports, and every
    signed structure (B-trees, heaps, symbol nodes) found by signature."""
    import h5py

    data = path.read_bytes()
    out: list[tuple[str, int]] = [("superblock", 0)]
    try:
        with h5py.File(path, "r") as f:
            out.append(("object_header:/", h5py.h5o.get_info(f.id).addr))

            def visit(name: str, obj: object) -> None:
                try:
                    out.append((f"object_header:{name}", h5py.h5o.get_info(obj.id).addr))
                except Exception:  # noqa: BLE001 - best effort
                    pass

            f.visititems(visit)
    except Exception:  # noqa: BLE001 - a sample that h5py cannot walk gives signatures only
        pass
    for sig in _H5_SIGNATURES:
        for m in re.finditer(re.escape(sig), data):
            out.append((sig.decode(), m.start()))
    return sorted({(w, o) for w, o in out if 0 <= o < len(data)}, key=lambda t: t[1])
