"""HTTP preconditions and byte ranges with S3's precedence rules.

S3 follows RFC 7232: If-Match beats If-Unmodified-Since, and If-None-Match beats If-Modified-Since.
Reads answer a failed If-None-Match / If-Modified-Since with 304; copies answer every failed
x-amz-copy-source-if-* condition with 412.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fogbank.services.s3 import errors

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _strip(tag: str) -> str:
    tag = tag.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    return tag.strip('"')


def etag_matches(header: str, etag: str) -> bool:
    """Whether an If-Match / If-None-Match header value (a list, or '*') names this ETag."""
    target = _strip(etag)
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or _strip(candidate) == target:
            return True
    return False


def _seconds(value: datetime | float) -> int:
    return int(value.timestamp() if isinstance(value, datetime) else value)


def _modified_since(modified: float, since: datetime) -> bool:
    # HTTP dates have whole seconds, so compare at that precision.
    return int(modified) > _seconds(since)


def check_read(req: dict[str, Any], etag: str, modified: float) -> None:
    """GET/HEAD preconditions: raises PreconditionFailed (412) or NotModified (304)."""
    if_match = req.get("IfMatch")
    if if_match is not None:
        if not etag_matches(if_match, etag):
            raise errors.PreconditionFailed(Condition="If-Match")
    elif req.get("IfUnmodifiedSince") is not None and _modified_since(modified, req["IfUnmodifiedSince"]):
        raise errors.PreconditionFailed(Condition="If-Unmodified-Since")
    if_none_match = req.get("IfNoneMatch")
    if if_none_match is not None:
        if etag_matches(if_none_match, etag):
            raise errors.NotModified()
    elif req.get("IfModifiedSince") is not None and not _modified_since(modified, req["IfModifiedSince"]):
        raise errors.NotModified()


def check_copy_source(req: dict[str, Any], etag: str, modified: float) -> None:
    """x-amz-copy-source-if-* preconditions; every failure is a 412."""
    if_match = req.get("CopySourceIfMatch")
    if if_match is not None:
        if not etag_matches(if_match, etag):
            raise errors.PreconditionFailed(Condition="x-amz-copy-source-If-Match")
    elif (req.get("CopySourceIfUnmodifiedSince") is not None
          and _modified_since(modified, req["CopySourceIfUnmodifiedSince"])):
        raise errors.PreconditionFailed(Condition="x-amz-copy-source-If-Unmodified-Since")
    if_none_match = req.get("CopySourceIfNoneMatch")
    if if_none_match is not None:
        if etag_matches(if_none_match, etag):
            raise errors.PreconditionFailed(Condition="x-amz-copy-source-If-None-Match")
    elif (req.get("CopySourceIfModifiedSince") is not None
          and not _modified_since(modified, req["CopySourceIfModifiedSince"])):
        raise errors.PreconditionFailed(Condition="x-amz-copy-source-If-Modified-Since")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, length) for a Range header, None for the whole object.

    Like S3: a header that is not a single `bytes=` range is ignored; a syntactically valid range that
    cannot be satisfied is a 416.
    """
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if m is None:
        return None
    first, last = m.group(1), m.group(2)
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise errors.InvalidRange(ActualObjectSize=size, RangeRequested=header)
        suffix = min(suffix, size)
        return size - suffix, suffix
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise errors.InvalidRange(ActualObjectSize=size, RangeRequested=header)
    end = min(end, size - 1)
    return start, end - start + 1


def parse_copy_range(header: str, size: int) -> tuple[int, int]:
    """(start, length) for x-amz-copy-source-range, which must be an explicit, satisfiable `bytes=a-b`."""
    m = _RANGE.match(header.strip())
    if m is None or not m.group(1) or not m.group(2):
        raise errors.InvalidArgument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last "
            "are the zero-based offsets of the first and last bytes to copy",
            ArgumentName="x-amz-copy-source-range", ArgumentValue=header)
    start, end = int(m.group(1)), int(m.group(2))
    if end < start or end >= size:
        raise errors.InvalidArgument(
            f"Range specified is not valid for source object of size: {size}",
            ArgumentName="x-amz-copy-source-range", ArgumentValue=header)
    return start, end - start + 1
