"""S3's input rules that botocore's model cannot express: names, keys, tags, metadata, copy sources."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from fogbank.services.s3 import errors

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")

MAX_KEY_BYTES = 1024
MAX_METADATA_BYTES = 2048
MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50


def validate_bucket_name(name: str) -> None:
    """S3's general-purpose bucket naming rules."""
    bad = (not _BUCKET.match(name) or ".." in name or ".-" in name or "-." in name
           or name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES))
    if not bad:
        try:
            ipaddress.IPv4Address(name)
            bad = True
        except ValueError:
            pass
    if bad:
        raise errors.InvalidBucketName(BucketName=name)


def validate_key(key: str) -> None:
    if not key:
        raise errors.InvalidArgument("Object key must not be empty", ArgumentName="key")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise errors.KeyTooLongError(MaxSizeAllowed=MAX_KEY_BYTES, Size=len(key.encode("utf-8", "surrogatepass")))


def validate_metadata(metadata: dict[str, str] | None) -> dict[str, str]:
    """User metadata, keys lower-cased as S3 stores them; at most 2 KB in total."""
    if not metadata:
        return {}
    clean = {k.lower(): v for k, v in metadata.items()}
    size = sum(len(k.encode()) + len(v.encode()) for k, v in clean.items())
    if size > MAX_METADATA_BYTES:
        raise errors.MetadataTooLarge(MaxSizeAllowed=MAX_METADATA_BYTES, Size=size)
    return clean


def canonical_id(account: str) -> str:
    """A stable 64-hex canonical user id for an account, the form S3 uses in ACLs and owners."""
    return hashlib.sha256(f"fogbank-canonical:{account}".encode()).hexdigest()


def owner_of(account: str) -> dict[str, str]:
    return {"ID": canonical_id(account), "DisplayName": account}


# -- tags -----------------------------------------------------------------------------------------------

def _check_tags(tags: list[tuple[str, str]], limit: int, what: str) -> list[tuple[str, str]]:
    if len(tags) > limit:
        if what == "object":
            raise errors.BadRequest("Object tags cannot be greater than 10")
        raise errors.InvalidTag("Bucket tag count cannot be greater than 50")
    seen: set[str] = set()
    for key, value in tags:
        if key in seen:
            raise errors.InvalidTag("Cannot provide multiple Tags with the same key", TagKey=key)
        seen.add(key)
        if not key or len(key) > 128:
            raise errors.InvalidTag("The TagKey you have provided is invalid", TagKey=key)
        if len(value) > 256:
            raise errors.InvalidTag("The TagValue you have provided is invalid", TagKey=key, TagValue=value)
        if key.lower().startswith("aws:"):
            raise errors.InvalidTag("System tags cannot be added/updated by requester", TagKey=key)
    return tags


def parse_tagging_header(value: str | None) -> list[tuple[str, str]]:
    """The x-amz-tagging header: a URL-encoded query string of tags."""
    if not value:
        return []
    try:
        pairs = parse_qsl(value, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise errors.InvalidArgument("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded "
                                     "URL query parameters without tag name duplicates.",
                                     ArgumentName="x-amz-tagging", ArgumentValue=value) from None
    return _check_tags(pairs, MAX_OBJECT_TAGS, "object")


def tags_from_tagset(tag_set: list[dict[str, Any]] | None, what: str = "object") -> list[tuple[str, str]]:
    pairs = [(str(t.get("Key", "")), str(t.get("Value", ""))) for t in tag_set or []]
    return _check_tags(pairs, MAX_OBJECT_TAGS if what == "object" else MAX_BUCKET_TAGS, what)


def tagset(tags: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags]


# -- copy sources ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CopySource:
    bucket: str
    key: str
    version_id: str | None


def parse_copy_source(value: str) -> CopySource:
    """x-amz-copy-source: URL-encoded "bucket/key", optionally "?versionId=..."; a leading '/' is allowed."""
    raw = value.strip()
    version_id: str | None = None
    path, sep, query = raw.partition("?")
    if sep:
        for name, val in parse_qsl(query, keep_blank_values=True):
            if name == "versionId":
                version_id = val
    path = unquote(path).lstrip("/")
    bucket, slash, key = path.partition("/")
    if not bucket or not slash or not key:
        raise errors.InvalidArgument("Invalid copy source object key", ArgumentName="x-amz-copy-source",
                                     ArgumentValue=value)
    return CopySource(bucket, key, version_id)
