"""ListObjects, ListObjectsV2 and ListObjectVersions: key-ordered pages with prefixes and delimiters.

Listings walk the SQLite index in key order. When a delimiter folds keys into a common prefix, the walk
jumps past every key under that prefix with one index seek instead of reading them, so a bucket with a
million keys under "logs/" lists "logs/" as fast as it lists one key.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote

from fogbank.context import RequestContext
from fogbank.protocol.dispatch import operation
from fogbank.services.s3 import errors
from fogbank.services.s3.base import S3Base
from fogbank.services.s3.records import to_datetime
from fogbank.services.s3.rules import owner_of
from fogbank.services.s3.store import ListedRow, S3Store, prefix_end

_BATCH = 1000
MAX_KEYS = 1000

Item = tuple[str, Any]  # ("key", ListedRow) or ("prefix", str)


def _common_prefix(key: str, prefix: str, delimiter: str | None) -> str | None:
    if not delimiter:
        return None
    index = key.find(delimiter, len(prefix))
    return None if index < 0 else key[:index + len(delimiter)]


def _grouped(scan: Callable[[str | None, bool], list[ListedRow]], kind: str, prefix: str, delimiter: str | None,
             start: str | None, rest_of_key: Callable[[ListedRow], Iterable[ListedRow]] | None = None
             ) -> Iterator[Item]:
    """Rows in key order after `start`, each run of keys under one common prefix folded into that prefix.

    A common prefix is skipped in one jump (the next scan starts past it), so a folder of a million keys costs
    one row. `rest_of_key` yields what a full batch left unread of its last key (its older versions).
    """
    cursor, inclusive = start, False
    while True:
        rows = scan(cursor, inclusive)
        if not rows:
            return
        jumped = False
        for row in rows:
            common = _common_prefix(row.key, prefix, delimiter)
            if common is not None:
                if common != start:
                    yield "prefix", common
                end = prefix_end(common)
                if end is None:
                    return
                cursor, inclusive, jumped = end, True, True
                break
            yield kind, row
        if jumped:
            continue
        if len(rows) < _BATCH:
            return
        last = rows[-1]
        if rest_of_key is not None:
            for row in rest_of_key(last):
                yield kind, row
        cursor, inclusive = last.key, False


def iter_current(store: S3Store, bucket_id: int, prefix: str, delimiter: str | None,
                 after: str | None) -> Iterator[Item]:
    """Current keys and common prefixes after `after`, in key order."""
    return _grouped(lambda cursor, inclusive: store.scan_latest(bucket_id, cursor, prefix, _BATCH, inclusive),
                    "key", prefix, delimiter, after)


def iter_versions(store: S3Store, bucket_id: int, prefix: str, delimiter: str | None,
                  key_marker: str | None, version_marker: str | None) -> Iterator[Item]:
    """Every version and delete marker by key, newest first, after the (key, version) markers."""
    if key_marker is not None and version_marker is not None:
        row_id = store.version_row_id(bucket_id, key_marker, version_marker)
        if row_id is not None and key_marker.startswith(prefix):
            for row in store.versions_of_key(bucket_id, key_marker, below_id=row_id):
                yield "version", row
    yield from _grouped(
        lambda cursor, inclusive: store.scan_versions(bucket_id, cursor, prefix, _BATCH, inclusive),
        "version", prefix, delimiter, key_marker,
        lambda last: store.versions_of_key(bucket_id, last.key, below_id=last.id))


def take(items: Iterator[Item], limit: int) -> tuple[list[Item], bool]:
    """The first `limit` items and whether more exist."""
    page: list[Item] = []
    if limit <= 0:
        return page, False
    for item in items:
        if len(page) == limit:
            return page, True
        page.append(item)
    return page, False


def encode_token(marker: str) -> str:
    return base64.urlsafe_b64encode(b"k1:" + marker.encode("utf-8", "surrogatepass")).decode("ascii")


def decode_token(token: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
        if not raw.startswith(b"k1:"):
            raise ValueError(token)
        return raw[3:].decode("utf-8", "surrogatepass")
    except (ValueError, binascii.Error, UnicodeError):
        raise errors.InvalidArgument("The continuation token provided is incorrect",
                                     ArgumentName="continuation-token", ArgumentValue=token) from None


def max_keys(req: dict[str, Any], member: str = "MaxKeys") -> int:
    value = req.get(member)
    if value is None:
        return MAX_KEYS
    value = int(value)
    if value < 0:
        raise errors.InvalidArgument(f"Argument {member.lower()} must be an integer between 0 and 2147483647",
                                     ArgumentName=member.lower(), ArgumentValue=str(value))
    return min(value, MAX_KEYS)


class Encoder:
    """Applies EncodingType=url to the members S3 encodes."""

    def __init__(self, encoding_type: str | None) -> None:
        if encoding_type not in (None, "url"):
            raise errors.InvalidArgument("Invalid Encoding Method specified in Request",
                                         ArgumentName="encoding-type", ArgumentValue=encoding_type)
        self.url = encoding_type == "url"

    def __call__(self, value: str) -> str:
        return quote(value, safe="/") if self.url else value


def _object_entry(row: ListedRow, enc: Encoder, owner: dict[str, str] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"Key": enc(row.key), "LastModified": to_datetime(row.modified), "ETag": row.etag,
                             "Size": row.size, "StorageClass": row.storage_class}
    if row.checksum_algorithm:
        entry["ChecksumAlgorithm"] = [row.checksum_algorithm]
        if row.checksum_type:
            entry["ChecksumType"] = row.checksum_type
    if owner is not None:
        entry["Owner"] = owner
    return entry


class ListingOps(S3Base):
    """The three object listings."""

    def _echo(self, out: dict[str, Any], req: dict[str, Any], enc: Encoder) -> None:
        prefix = req.get("Prefix") or ""
        out["Prefix"] = enc(prefix)
        if req.get("Delimiter"):
            out["Delimiter"] = enc(req["Delimiter"])
        if enc.url:
            out["EncodingType"] = "url"

    @operation("ListObjects")
    def list_objects(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        enc = Encoder(req.get("EncodingType"))
        limit = max_keys(req)
        prefix, delimiter = req.get("Prefix") or "", req.get("Delimiter") or None
        marker = req.get("Marker") or None
        page, truncated = take(iter_current(self.store, bucket.id, prefix, delimiter, marker), limit)
        owner = owner_of(bucket.account)
        out: dict[str, Any] = {"Name": bucket.name, "Marker": enc(marker or ""), "MaxKeys": limit,
                               "IsTruncated": truncated}
        self._echo(out, req, enc)
        self._fill(out, page, enc, owner)
        if truncated and delimiter and page:
            last_kind, last = page[-1]
            out["NextMarker"] = enc(last if last_kind == "prefix" else last.key)
        return out

    @operation("ListObjectsV2")
    def list_objects_v2(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        enc = Encoder(req.get("EncodingType"))
        limit = max_keys(req)
        prefix, delimiter = req.get("Prefix") or "", req.get("Delimiter") or None
        token = req.get("ContinuationToken")
        start_after = req.get("StartAfter") or None
        after = decode_token(token) if token else start_after
        page, truncated = take(iter_current(self.store, bucket.id, prefix, delimiter, after), limit)
        owner = owner_of(bucket.account) if req.get("FetchOwner") else None
        out: dict[str, Any] = {"Name": bucket.name, "MaxKeys": limit, "IsTruncated": truncated,
                               "KeyCount": len(page)}
        self._echo(out, req, enc)
        if token:
            out["ContinuationToken"] = token
        if start_after:
            out["StartAfter"] = enc(start_after)
        self._fill(out, page, enc, owner)
        if truncated and page:
            last_kind, last = page[-1]
            out["NextContinuationToken"] = encode_token(last if last_kind == "prefix" else last.key)
        return out

    @staticmethod
    def _fill(out: dict[str, Any], page: list[Item], enc: Encoder, owner: dict[str, str] | None) -> None:
        contents = [_object_entry(row, enc, owner) for kind, row in page if kind == "key"]
        prefixes = [{"Prefix": enc(p)} for kind, p in page if kind == "prefix"]
        if contents:
            out["Contents"] = contents
        if prefixes:
            out["CommonPrefixes"] = prefixes

    @operation("ListObjectVersions")
    def list_object_versions(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        enc = Encoder(req.get("EncodingType"))
        limit = max_keys(req)
        prefix, delimiter = req.get("Prefix") or "", req.get("Delimiter") or None
        key_marker = req.get("KeyMarker") or None
        version_marker = req.get("VersionIdMarker") or None
        if version_marker is not None and key_marker is None:
            raise errors.InvalidArgument("A version-id marker cannot be specified without a key marker.",
                                         ArgumentName="version-id-marker", ArgumentValue=version_marker)
        items = iter_versions(self.store, bucket.id, prefix, delimiter, key_marker, version_marker)
        page, truncated = take(items, limit)
        owner = owner_of(bucket.account)
        out: dict[str, Any] = {"Name": bucket.name, "MaxKeys": limit, "IsTruncated": truncated,
                               "KeyMarker": enc(key_marker or ""), "VersionIdMarker": version_marker or ""}
        self._echo(out, req, enc)
        versions: list[dict[str, Any]] = []
        markers: list[dict[str, Any]] = []
        prefixes: list[dict[str, str]] = []
        for kind, value in page:
            if kind == "prefix":
                prefixes.append({"Prefix": enc(value)})
                continue
            row: ListedRow = value
            if row.delete_marker:
                markers.append({"Owner": owner, "Key": enc(row.key), "VersionId": row.version_id,
                                "IsLatest": row.latest, "LastModified": to_datetime(row.modified)})
            else:
                entry = _object_entry(row, enc, owner)
                entry["VersionId"] = row.version_id
                entry["IsLatest"] = row.latest
                versions.append(entry)
        if versions:
            out["Versions"] = versions
        if markers:
            out["DeleteMarkers"] = markers
        if prefixes:
            out["CommonPrefixes"] = prefixes
        if truncated and page:
            kind, last = page[-1]
            if kind == "prefix":
                out["NextKeyMarker"] = enc(last)
            else:
                out["NextKeyMarker"] = enc(last.key)
                out["NextVersionIdMarker"] = last.version_id
        return out
