"""Kinesis Producer Library aggregation: one Kinesis record carrying many user records.

The format is a 4-byte magic, a protobuf `AggregatedRecord` and its MD5. Only the user records' data is
needed here, so the protobuf is walked by hand: field 3 (repeated `Record`) and, inside it, field 3 (`data`).
"""

from __future__ import annotations

import hashlib

MAGIC = b"\xf3\x89\x9a\xc2"


class NotAggregated(ValueError):
    """The bytes are not a well-formed KPL aggregate."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise NotAggregated("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> list[tuple[int, bytes | int]]:
    out: list[tuple[int, bytes | int]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            out.append((number, value))
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise NotAggregated("truncated field")
            out.append((number, buf[pos:pos + length]))
            pos += length
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise NotAggregated(f"unsupported wire type {wire}")
    return out


def is_aggregated(data: bytes) -> bool:
    return len(data) > len(MAGIC) + 16 and data.startswith(MAGIC)


def deaggregate(data: bytes) -> list[bytes]:
    """The user records inside a KPL aggregate; raises NotAggregated when the digest or framing is wrong."""
    if not is_aggregated(data):
        raise NotAggregated("no KPL magic")
    body, digest = data[len(MAGIC):-16], data[-16:]
    if hashlib.md5(body, usedforsecurity=False).digest() != digest:
        raise NotAggregated("KPL digest mismatch")
    records: list[bytes] = []
    for number, value in _fields(body):
        if number == 3 and isinstance(value, bytes):
            payload = b""
            for inner, inner_value in _fields(value):
                if inner == 3 and isinstance(inner_value, bytes):
                    payload = inner_value
            records.append(payload)
    return records
