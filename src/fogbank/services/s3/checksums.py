"""S3's flexible checksums: the five algorithms, multipart COMPOSITE checksums and FULL_OBJECT CRC combining.

S3 reports a multipart object's checksum in one of two ways. COMPOSITE is a hash over the parts' digests
with a ``-N`` suffix. FULL_OBJECT (CRC algorithms only) is the CRC of the whole object, which S3 derives
from the parts' CRCs and lengths without reading the data again; `combine_full_object` does the same
with the zlib ``crc32_combine`` method, written once for any reflected CRC width and polynomial.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from awscrt import checksums as crt_checksums

ALGORITHMS: tuple[str, ...] = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")

_HEADER_PREFIX = "x-amz-checksum-"


class Checksum(Protocol):
    """A running checksum over a byte stream."""

    def update(self, data: bytes) -> None: ...

    def digest(self) -> bytes: ...

    def b64digest(self) -> str: ...


@dataclass(frozen=True)
class _CrcKind:
    """One reflected CRC: its width, reflected polynomial and a fast update function."""

    width: int
    poly: int
    update: Callable[[bytes, int], int]


def _zlib_crc32(data: bytes, crc: int) -> int:
    return zlib.crc32(data, crc)


def _crt_crc32c(data: bytes, crc: int) -> int:
    return crt_checksums.crc32c(data, crc)


def _crt_crc64nvme(data: bytes, crc: int) -> int:
    return crt_checksums.crc64nvme(data, crc)


# Reflected polynomials: CRC-32 (0x04C11DB7), CRC-32C Castagnoli (0x1EDC6F41) and CRC-64/NVME
# (0xAD93D23594C93659), each bit-reversed as the reflected algorithms use them.
_CRCS: dict[str, _CrcKind] = {
    "CRC32": _CrcKind(32, 0xEDB88320, _zlib_crc32),
    "CRC32C": _CrcKind(32, 0x82F63B78, _crt_crc32c),
    "CRC64NVME": _CrcKind(64, 0x9A6C9329AC4BC9B5, _crt_crc64nvme),
}

_HASHES: dict[str, str] = {"SHA1": "sha1", "SHA256": "sha256"}

DIGEST_SIZES: dict[str, int] = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}


def normalize_algorithm(algorithm: str) -> str:
    """Accepts any case, since S3 headers spell algorithms in lower case and API members in upper."""
    name = algorithm.upper()
    if name not in ALGORITHMS:
        raise ValueError(f"unsupported checksum algorithm: {algorithm!r}")
    return name


class _CrcChecksum:
    __slots__ = ("_kind", "_value")

    def __init__(self, kind: _CrcKind) -> None:
        self._kind = kind
        self._value = 0

    def update(self, data: bytes) -> None:
        self._value = self._kind.update(data, self._value) & ((1 << self._kind.width) - 1)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._kind.width // 8, "big")

    def b64digest(self) -> str:
        return base64.b64encode(self.digest()).decode("ascii")


class _HashChecksum:
    __slots__ = ("_hash",)

    def __init__(self, name: str) -> None:
        self._hash = hashlib.new(name)

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        return self._hash.digest()

    def b64digest(self) -> str:
        return base64.b64encode(self.digest()).decode("ascii")


def new_checksum(algorithm: str) -> Checksum:
    """A fresh running checksum for one of `ALGORITHMS`; ValueError for anything else."""
    name = normalize_algorithm(algorithm)
    if name in _CRCS:
        return _CrcChecksum(_CRCS[name])
    return _HashChecksum(_HASHES[name])


def header_name(algorithm: str) -> str:
    """The request/response header that carries this algorithm's checksum, e.g. x-amz-checksum-crc32."""
    return _HEADER_PREFIX + normalize_algorithm(algorithm).lower()


def member_name(algorithm: str) -> str:
    """The API member that carries this algorithm's checksum, e.g. ChecksumCRC32."""
    return "Checksum" + normalize_algorithm(algorithm)


def algorithm_for_header(name: str) -> str | None:
    """The algorithm a checksum header (or trailer) names, or None if it names none we support."""
    lowered = name.lower()
    if not lowered.startswith(_HEADER_PREFIX):
        return None
    candidate = lowered[len(_HEADER_PREFIX):].upper()
    return candidate if candidate in ALGORITHMS else None


def decode_digest(algorithm: str, value: str) -> bytes:
    """Decodes a client-sent base64 checksum, so a malformed one is rejected before any data is stored."""
    name = normalize_algorithm(algorithm)
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(f"checksum for {name} is not valid base64") from exc
    if len(raw) != DIGEST_SIZES[name]:
        raise ValueError(f"checksum for {name} must be {DIGEST_SIZES[name]} bytes, got {len(raw)}")
    return raw


def composite_checksum(algorithm: str, part_digests: list[bytes]) -> str:
    """S3's COMPOSITE multipart checksum: the checksum of the concatenated part digests, then ``-N``."""
    checksum = new_checksum(algorithm)
    for digest in part_digests:
        checksum.update(digest)
    return f"{checksum.b64digest()}-{len(part_digests)}"


def _multmodp(kind: _CrcKind, a: int, b: int) -> int:
    """a(x) * b(x) modulo the CRC polynomial, both in the reflected bit order (x^0 is the top bit)."""
    if a == 0:
        return 0
    top = 1 << (kind.width - 1)
    product = 0
    mask = top
    while True:
        if a & mask:
            product ^= b
            if a & (mask - 1) == 0:
                return product
        mask >>= 1
        b = (b >> 1) ^ kind.poly if b & 1 else b >> 1


# Lengths are byte counts below 2^64, so shifts go up to x^(8 * 2^64) = x^(2^67). The powers are tabled in
# full rather than wrapped at the CRC width as zlib does: that wrap assumes x^(2^32) == x, which holds for
# the CRC-32 polynomial but not for CRC-32C, whose polynomial has a factor (x + 1).
_MAX_LENGTH_BITS = 64
_X2N_SIZE = _MAX_LENGTH_BITS + 3


def _x2n_table(kind: _CrcKind) -> list[int]:
    """x^(2^k) modulo the polynomial for every k needed, so shifting by n bits costs log2(n) products."""
    table = []
    power = 1 << (kind.width - 2)  # x^1
    for _ in range(_X2N_SIZE):
        table.append(power)
        power = _multmodp(kind, power, power)
    return table


_X2N: dict[str, list[int]] = {name: _x2n_table(kind) for name, kind in _CRCS.items()}


@functools.lru_cache(maxsize=1024)
def _x8nmodp(name: str, length: int) -> int:
    """x^(8 * length) modulo the polynomial: the operator that moves a CRC past `length` zero bytes.

    Cached because a multipart upload's parts mostly share one size.
    """
    kind, table = _CRCS[name], _X2N[name]
    power = 1 << (kind.width - 1)  # x^0
    k = 3  # 8 * length == length * 2^3
    while length:
        if length & 1:
            power = _multmodp(kind, table[k], power)
        length >>= 1
        k += 1
    return power


def combine_crc(algorithm: str, crc1: int, crc2: int, length2: int) -> int:
    """The CRC of A||B from CRC(A), CRC(B) and len(B)."""
    name = normalize_algorithm(algorithm)
    if name not in _CRCS:
        raise ValueError(f"{name} checksums cannot be combined; only CRC algorithms can")
    if not 0 <= length2 < 1 << _MAX_LENGTH_BITS:
        raise ValueError(f"part length {length2} is out of range")
    kind = _CRCS[name]
    return _multmodp(kind, _x8nmodp(name, length2), crc1) ^ crc2


def combine_full_object(algorithm: str, parts: list[tuple[bytes, int]]) -> str:
    """S3's FULL_OBJECT multipart checksum from each part's (CRC digest, length), base64-encoded."""
    name = normalize_algorithm(algorithm)
    if name not in _CRCS:
        raise ValueError(f"{name} has no FULL_OBJECT checksum; only CRC algorithms do")
    size = DIGEST_SIZES[name]
    combined = 0
    for digest, length in parts:
        if len(digest) != size:
            raise ValueError(f"{name} part digest must be {size} bytes, got {len(digest)}")
        combined = combine_crc(name, combined, int.from_bytes(digest, "big"), length)
    return base64.b64encode(combined.to_bytes(size, "big")).decode("ascii")
