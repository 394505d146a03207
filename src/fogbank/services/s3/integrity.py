"""Upload integrity: Content-MD5, x-amz-checksum-* headers and trailers, declared lengths.

Which checksum an upload carries is decided before the body is read, so it is computed in the same pass
that stores the bytes; the comparison happens after EOF and before anything is committed.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from fogbank.protocol.http import Headers
from fogbank.services.s3 import errors
from fogbank.services.s3.checksums import (
    ALGORITHMS,
    algorithm_for_header,
    decode_digest,
    header_name,
    member_name,
    normalize_algorithm,
)
from fogbank.services.s3.content import Ingested

# What S3 computes for an upload that names no checksum (its default data-integrity protection).
DEFAULT_ALGORITHM = "CRC64NVME"
CRC_ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME")


def algorithm_of(value: str, argument: str = "x-amz-checksum-algorithm") -> str:
    try:
        return normalize_algorithm(value)
    except ValueError:
        raise errors.InvalidRequest("Checksum algorithm provided is unsupported. Please try again with any "
                                    "of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]",
                                    ArgumentName=argument, ArgumentValue=value) from None


@dataclass(frozen=True)
class ChecksumPlan:
    """The one checksum algorithm an upload is stored with, and where its expected value comes from."""

    algorithm: str
    expected: str | None  # from a header member; trailers are read after the body
    trailer: str | None  # the trailer header that will carry the value, if any
    requested: bool  # False when S3 picked the default algorithm itself

    @staticmethod
    def of(req: dict[str, Any], headers: Headers | None, default: str | None = DEFAULT_ALGORITHM,
           ) -> ChecksumPlan | None:
        given = [(alg, req[member_name(alg)]) for alg in ALGORITHMS if req.get(member_name(alg))]
        if len(given) > 1:
            raise errors.InvalidRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types "
                                        "are not allowed.")
        trailer_header = headers.get("x-amz-trailer") if headers is not None else None
        trailer_alg = None
        if trailer_header:
            trailer_alg = algorithm_for_header(trailer_header.strip())
        sdk = req.get("ChecksumAlgorithm")
        sdk_alg = algorithm_of(sdk, "x-amz-sdk-checksum-algorithm") if sdk else None
        if given:
            algorithm, expected = given[0]
            if sdk_alg and sdk_alg != algorithm:
                raise errors.InvalidRequest("Value for x-amz-sdk-checksum-algorithm header is invalid.",
                                            ArgumentName="x-amz-sdk-checksum-algorithm", ArgumentValue=sdk)
            try:
                decode_digest(algorithm, expected)
            except ValueError:
                raise errors.InvalidRequest(f"Value for {header_name(algorithm)} header is invalid.") from None
            return ChecksumPlan(algorithm, expected, None, True)
        if trailer_alg:
            return ChecksumPlan(trailer_alg, None, header_name(trailer_alg), True)
        if sdk_alg:
            return ChecksumPlan(sdk_alg, None, None, True)
        if default is None:
            return None
        return ChecksumPlan(default, None, None, False)

    def verify(self, ingested: Ingested) -> str:
        """Compares the computed checksum with the expected one; returns the base64 value to store."""
        computed = ingested.checksums[self.algorithm].b64digest()
        expected = self.expected
        if expected is None and self.trailer is not None:
            expected = ingested.trailers.get(self.trailer)
            if expected is not None:
                try:
                    decode_digest(self.algorithm, expected)
                except ValueError:
                    raise errors.InvalidRequest(f"Value for {self.trailer} trailing header is invalid.") from None
        if expected is not None and expected != computed:
            raise errors.BadDigest(f"The {self.algorithm} you specified did not match the calculated checksum.")
        return computed


def parse_content_md5(value: str | None) -> bytes | None:
    """The decoded Content-MD5, validated before the body is read (InvalidDigest when malformed)."""
    if value is None:
        return None
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise errors.InvalidDigest() from None
    if len(raw) != 16:
        raise errors.InvalidDigest()
    return raw


def check_content_md5(expected: bytes | None, ingested: Ingested) -> None:
    if expected is not None and expected != ingested.md5:
        raise errors.BadDigest(ExpectedDigest=expected.hex(), CalculatedDigest=base64.b64encode(ingested.md5).decode())


def declared_length(req: dict[str, Any], headers: Headers | None) -> int | None:
    """The body length the client promised, when the transfer encoding makes it comparable."""
    if headers is not None:
        decoded = headers.get("x-amz-decoded-content-length")
        if decoded is not None:
            return int(decoded) if decoded.isdigit() else None
        encoding = headers.get("content-encoding") or ""
        if "aws-chunked" in encoding.lower():
            return None
    value = req.get("ContentLength")
    return int(value) if value is not None else None


def check_length(expected: int | None, ingested: Ingested) -> None:
    if expected is not None and ingested.content.size < expected:
        raise errors.IncompleteBody()


def checksum_members(checksums: dict[str, str], checksum_type: str | None) -> dict[str, Any]:
    """Output members for stored checksums: ChecksumCRC32=..., ChecksumType=..."""
    out: dict[str, Any] = {member_name(alg): value for alg, value in checksums.items()}
    if out and checksum_type:
        out["ChecksumType"] = checksum_type
    return out
