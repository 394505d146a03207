"""The records S3's store hands out: buckets, object versions, multipart uploads and parts."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

NULL_VERSION = "null"


def new_version_id() -> str:
    """A 32-character version id in S3's alphabet (letters, digits, '.', '_')."""
    return secrets.token_urlsafe(24).replace("-", ".")


def new_upload_id() -> str:
    return secrets.token_urlsafe(48).replace("-", ".")


def is_version_id(value: str) -> bool:
    """Whether a client-sent version id could be one this store generated (or "null")."""
    if value == NULL_VERSION:
        return True
    return len(value) == 32 and all(c.isascii() and (c.isalnum() or c in "._") for c in value)


def to_datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def dumps(value: Any) -> str:
    """JSON that keeps datetimes (lifecycle dates, Expires) and bytes round-tripping exactly."""
    return json.dumps(value, default=_encode, separators=(",", ":"))


def loads(text: str) -> Any:
    return json.loads(text, object_hook=_decode)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.timestamp()}
    if isinstance(value, bytes | bytearray):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(f"cannot store {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        if "$dt" in obj:
            return to_datetime(obj["$dt"])
        if "$b64" in obj:
            return base64.b64decode(obj["$b64"])
    return obj


@dataclass(frozen=True)
class Bucket:
    id: int
    name: str
    account: str
    region: str
    created: float
    versioning: str | None  # None (never enabled), "Enabled" or "Suspended"
    object_lock: bool

    @property
    def ever_versioned(self) -> bool:
        return self.versioning is not None


@dataclass(frozen=True)
class Segment:
    """A run of an object's bytes kept in one blob."""

    blob_id: str
    size: int


@dataclass(frozen=True)
class Content:
    """An object's bytes: inline in the metadata row (small objects) or a manifest of blobs."""

    size: int
    inline: bytes | None = None
    segments: tuple[Segment, ...] = ()

    @property
    def blob_ids(self) -> list[str]:
        return [s.blob_id for s in self.segments]

    def segments_json(self) -> str | None:
        return None if self.inline is not None else dumps([[s.blob_id, s.size] for s in self.segments])

    @staticmethod
    def from_row(size: int, data: bytes | None, segments: str | None) -> Content:
        if segments is None:
            return Content(size, inline=data if data is not None else b"")
        return Content(size, segments=tuple(Segment(b, n) for b, n in loads(segments)))


@dataclass
class ObjectVersion:
    """One version of a key (or a delete marker)."""

    id: int
    bucket_id: int
    key: str
    version_id: str
    latest: bool
    delete_marker: bool
    modified: float
    size: int
    etag: str
    storage_class: str
    meta: dict[str, Any]
    tags: list[tuple[str, str]]
    content: Content | None = None
    checksum_algorithm: str | None = None
    checksum_type: str | None = None

    @property
    def last_modified(self) -> datetime:
        return to_datetime(self.modified)

    @property
    def parts(self) -> list[dict[str, Any]]:
        """The multipart layout: one {"Size": n, "Checksum...": ...} per part, empty for single PUTs."""
        parts: list[dict[str, Any]] = self.meta.get("Parts", [])
        return parts


@dataclass
class NewVersion:
    """What a write stores: everything but the version id and row id, which the store assigns."""

    content: Content
    etag: str
    storage_class: str = "STANDARD"
    meta: dict[str, Any] = field(default_factory=dict)
    tags: list[tuple[str, str]] = field(default_factory=list)
    checksum_algorithm: str | None = None
    checksum_type: str | None = None
    modified: float | None = None


@dataclass
class Upload:
    id: int
    upload_id: str
    bucket_id: int
    key: str
    initiated: float
    owner: str
    storage_class: str
    checksum_algorithm: str | None
    checksum_type: str | None
    meta: dict[str, Any]
    tags: list[tuple[str, str]]

    @property
    def initiated_at(self) -> datetime:
        return to_datetime(self.initiated)


@dataclass
class Part:
    part_number: int
    etag: str
    size: int
    modified: float
    blob_id: str
    checksums: dict[str, str]

    @property
    def last_modified(self) -> datetime:
        return to_datetime(self.modified)
