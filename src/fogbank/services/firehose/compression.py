"""The CompressionFormat codecs of S3 delivery: GZIP, ZIP, Snappy (framing format) and Hadoop-Snappy.

Snappy block compression comes from pyarrow's codec; the framing around it is written here: the Snappy
framing format (stream identifier, chunks of at most 64 KiB with masked CRC-32C) for `Snappy`, and Hadoop's
BlockCompressorStream layout (big-endian uncompressed length, then length-prefixed compressed chunks) for
`HADOOP_SNAPPY`, which is what Hadoop, Hive and Athena read.
"""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
from typing import Any

from awscrt import checksums

UNCOMPRESSED = "UNCOMPRESSED"
FORMATS = (UNCOMPRESSED, "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY")
EXTENSIONS = {UNCOMPRESSED: "", "GZIP": ".gz", "ZIP": ".zip", "Snappy": ".snappy", "HADOOP_SNAPPY": ".snappy"}

_FRAME_CHUNK = 65536
_HADOOP_BLOCK = 256 * 1024
_STREAM_IDENTIFIER = b"\xff\x06\x00\x00sNaPpY"


def _snappy_codec() -> Any:
    try:
        import pyarrow
    except ImportError:  # pragma: no cover - pyarrow ships with fogbank's data extras
        raise RuntimeError("Snappy compression needs pyarrow, which is not installed") from None
    return pyarrow.Codec("snappy")


def _masked_crc32c(data: bytes) -> int:
    crc = checksums.crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def snappy_frame(data: bytes) -> bytes:
    """The Snappy framing format, as `python-snappy`'s stream compressor and `snzip` write it."""
    codec = _snappy_codec()
    out = bytearray(_STREAM_IDENTIFIER)
    for start in range(0, len(data), _FRAME_CHUNK):
        chunk = data[start:start + _FRAME_CHUNK]
        compressed = codec.compress(chunk, asbytes=True)
        if len(compressed) < len(chunk):
            kind, body = 0x00, compressed
        else:
            kind, body = 0x01, chunk
        out += struct.pack("<B", kind) + (len(body) + 4).to_bytes(3, "little")
        out += struct.pack("<I", _masked_crc32c(chunk)) + body
    return bytes(out)


def snappy_unframe(data: bytes) -> bytes:
    """Reads the Snappy framing format back (for tests and for reading delivered objects)."""
    codec = _snappy_codec()
    out = bytearray()
    pos = 0
    while pos < len(data):
        kind = data[pos]
        length = int.from_bytes(data[pos + 1:pos + 4], "little")
        body = data[pos + 4:pos + 4 + length]
        pos += 4 + length
        if kind == 0xFF or 0x80 <= kind <= 0xFE:
            continue
        payload = body[4:]
        if kind == 0x00:
            size = _snappy_length(payload)
            chunk = codec.decompress(payload, decompressed_size=size, asbytes=True)
        elif kind == 0x01:
            chunk = bytes(payload)
        else:
            raise ValueError(f"unknown Snappy chunk type {kind}")
        if struct.unpack("<I", body[:4])[0] != _masked_crc32c(chunk):
            raise ValueError("Snappy chunk checksum mismatch")
        out += chunk
    return bytes(out)


def _snappy_length(block: bytes) -> int:
    """The uncompressed length a raw Snappy block starts with (a little-endian varint)."""
    result = shift = 0
    for byte in block[:5]:
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result
        shift += 7
    raise ValueError("bad Snappy length varint")


def hadoop_snappy(data: bytes) -> bytes:
    codec = _snappy_codec()
    out = bytearray()
    for start in range(0, len(data), _HADOOP_BLOCK):
        block = data[start:start + _HADOOP_BLOCK]
        compressed = codec.compress(block, asbytes=True)
        out += struct.pack(">I", len(block)) + struct.pack(">I", len(compressed)) + compressed
    return bytes(out)


def hadoop_unsnappy(data: bytes) -> bytes:
    codec = _snappy_codec()
    out = bytearray()
    pos = 0
    while pos < len(data):
        (expected,) = struct.unpack(">I", data[pos:pos + 4])
        pos += 4
        produced = 0
        while produced < expected:
            (length,) = struct.unpack(">I", data[pos:pos + 4])
            pos += 4
            block = data[pos:pos + length]
            pos += length
            chunk = codec.decompress(block, decompressed_size=_snappy_length(block), asbytes=True)
            produced += len(chunk)
            out += chunk
    return bytes(out)


def compress(data: bytes, fmt: str, entry_name: str) -> bytes:
    """The object body for `fmt`; ZIP archives hold one entry named after the object."""
    if fmt == "GZIP":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if fmt == "ZIP":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            info = zipfile.ZipInfo(entry_name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
        return buffer.getvalue()
    if fmt == "Snappy":
        return snappy_frame(data)
    if fmt == "HADOOP_SNAPPY":
        return hadoop_snappy(data)
    return data
