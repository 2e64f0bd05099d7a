"""Read (and, for test fixtures, write) TFRecord files of ``tf.train.Example`` without TensorFlow.

ERQA ships as ``erqa.tfrecord``. A TFRecord is a sequence of records: uint64 length, uint32 masked
CRC-32C of the length, the bytes, uint32 masked CRC-32C of the bytes (all little endian). Each record
here is a serialised ``tf.train.Example``: ``features`` (field 1) -> map entries (field 1) of
key (1, string) -> ``Feature`` (2) with one of ``bytes_list`` (1), ``float_list`` (2), ``int64_list``
(3), each holding ``value`` (field 1, repeated; floats and ints usually packed).

The length CRC is checked (a corrupt or truncated file fails at once); the payload CRC is not, since
CRC-32C in pure Python costs about a second per few MB and ERQA holds ~100 MB of images.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

from vlaser.errors import UserError

_POLY = 0x82F63B78  # CRC-32C (Castagnoli), reflected
_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ _POLY if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# ------------------------------------------------------------------------------------- wire format
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int, bytes | int]]:
    """(field number, wire type, value) for each field of one protobuf message."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            val, pos = _varint(buf, pos)
        elif wire == 2:
            n, pos = _varint(buf, pos)
            if pos + n > len(buf):
                raise ValueError("truncated length-delimited field")
            val, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            val, pos = buf[pos:pos + 4], pos + 4
        elif wire == 1:
            val, pos = buf[pos:pos + 8], pos + 8
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield num, wire, val


def _feature_values(buf: bytes) -> list:
    for kind, _, lst in _fields(buf):
        values: list = []
        for num, wire, val in _fields(lst):
            if num != 1:
                continue
            if kind == 1:
                values.append(val)
            elif kind == 2:  # floats: packed (wire 2) or single fixed32 (wire 5)
                values.extend(struct.unpack(f"<{len(val) // 4}f", val))
            elif kind == 3 and wire == 2:  # packed int64 varints
                p = 0
                while p < len(val):
                    v, p = _varint(val, p)
                    values.append(v - (1 << 64) if v >= 1 << 63 else v)
            elif kind == 3:
                values.append(val - (1 << 64) if val >= 1 << 63 else val)
        return values
    return []


def parse_example(buf: bytes) -> dict[str, list]:
    """A serialised ``tf.train.Example`` as {feature name: list of bytes | float | int}."""
    out: dict[str, list] = {}
    for num, _, features in _fields(buf):
        if num != 1:
            continue
        for fnum, _, entry in _fields(features):
            if fnum != 1:
                continue
            key, value = "", b""
            for enum, _, v in _fields(entry):
                if enum == 1:
                    key = v.decode("utf-8")
                elif enum == 2:
                    value = v
            out[key] = _feature_values(value)
    return out


def read_tfrecord(path: Path) -> Iterator[bytes]:
    """Payloads of a TFRecord file; UserError naming the file and record on damage."""
    path = Path(path)
    with open(path, "rb") as f:
        index = 0
        while header := f.read(12):
            if len(header) < 12:
                raise UserError(f"{path}: record {index}: truncated header (expected a TFRecord file)")
            length, crc = struct.unpack("<QI", header)
            if masked_crc(header[:8]) != crc:
                raise UserError(f"{path}: record {index}: bad length checksum (not a TFRecord file, or corrupt)")
            data = f.read(length)
            if len(data) < length or len(f.read(4)) < 4:
                raise UserError(f"{path}: record {index}: truncated (expected {length} bytes)")
            yield data
            index += 1


# ---------------------------------------------------------------------------------- writing (fixtures)
def _put_varint(n: int) -> bytes:
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


def _field(num: int, payload: bytes) -> bytes:
    return _put_varint(num << 3 | 2) + _put_varint(len(payload)) + payload


def encode_example(features: dict[str, list]) -> bytes:
    """Serialise {name: list of bytes | str | int | float} as a ``tf.train.Example``."""
    entries = b""
    for key, values in features.items():
        if all(isinstance(v, bytes | str) for v in values):
            body = b"".join(_field(1, v.encode() if isinstance(v, str) else v) for v in values)
            feature = _field(1, body)
        elif all(isinstance(v, int) for v in values):
            feature = _field(3, _field(1, b"".join(_put_varint(v) for v in values)))
        else:
            feature = _field(2, _field(1, struct.pack(f"<{len(values)}f", *values)))
        entries += _field(1, _field(1, key.encode()) + _field(2, feature))
    return _field(1, entries)


def write_tfrecord(path: Path, payloads: list[bytes]) -> None:
    with open(path, "wb") as f:
        for data in payloads:
            header = struct.pack("<Q", len(data))
            f.write(header + struct.pack("<I", masked_crc(header)) + data + struct.pack("<I", masked_crc(data)))
