"""In-process access to S3 objects for engines on the same machine (Athena's DuckDB, result writers).

Engines read objects in place: a single-blob object is exposed as a hard link of its blob in a scratch
directory the caller owns, so the engine reads the stored bytes directly, and a concurrent overwrite or
delete of the key cannot pull the file away mid-query (the link keeps the inode alive). Only objects whose
bytes are not one file (small inline objects, multipart objects) are written out as one temporary file.
Scratch file names are generated, never taken from keys; only a whitelisted extension is kept, because
readers pick the decompression codec from it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from fogbank.services.s3.checksums import new_checksum
from fogbank.services.s3.content import ChunkReader, ingest, iter_range
from fogbank.services.s3.records import NewVersion

if TYPE_CHECKING:
    from fogbank.services.s3.provider import S3Provider
    from fogbank.services.s3.records import Bucket, Content, ObjectVersion
    from fogbank.services.s3.store import S3Store

_PAGE = 1000
_ALGORITHM = "CRC64NVME"
_MAX_OBJECT = 5 * 1024**4
# Suffixes that name a compression codec or a format; anything else is dropped from scratch names.
_KEPT_SUFFIXES = (".csv.gz", ".json.gz", ".txt.gz", ".gz", ".gzip", ".bz2", ".zst", ".snappy", ".lz4", ".deflate",
                  ".csv", ".json", ".txt", ".parquet", ".orc")


class S3LocalError(Exception):
    """A bucket or object the caller cannot use: missing, or owned by another account."""


@dataclass(frozen=True)
class ObjectRef:
    """A current object: enough to plan a scan (sizes) and to report paths (s3 URIs)."""

    bucket: str
    key: str
    size: int
    modified: float
    etag: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def split_uri(uri: str) -> tuple[str, str]:
    """s3://bucket/key/prefix -> (bucket, key prefix); s3a:// and s3n:// are accepted as Hadoop writes them."""
    text = uri.strip()
    for scheme in ("s3://", "s3a://", "s3n://"):
        if text.lower().startswith(scheme):
            text = text[len(scheme):]
            break
    else:
        raise S3LocalError(f"Not an S3 location: {uri}")
    bucket, _, key = text.partition("/")
    if not bucket:
        raise S3LocalError(f"Not an S3 location: {uri}")
    return bucket, key


def scratch_suffix(key: str) -> str:
    lower = key.lower()
    return next((s for s in _KEPT_SUFFIXES if lower.endswith(s)), "")


class S3LocalAccess:
    """Listing, in-place reading and writing of one server's S3 objects, by account."""

    def __init__(self, s3: S3Provider) -> None:
        self.store: S3Store = s3.store

    def bucket(self, account: str, name: str) -> Bucket:
        found = self.store.bucket(name)
        if found is None:
            raise S3LocalError(f"The specified bucket does not exist: {name}")
        if found.account != account:
            raise S3LocalError(f"Access Denied for bucket {name}")
        return found

    def list(self, account: str, bucket: str, prefix: str) -> Iterator[ObjectRef]:
        """Current objects under a prefix, in key order."""
        target = self.bucket(account, bucket)
        after: str | None = None
        while True:
            rows = self.store.scan_latest(target.id, after, prefix, _PAGE)
            for row in rows:
                yield ObjectRef(bucket, row.key, row.size, row.modified, row.etag)
            if len(rows) < _PAGE:
                return
            after = rows[-1].key

    def head(self, account: str, bucket: str, key: str) -> ObjectRef | None:
        target = self.bucket(account, bucket)
        version = self.store.get_object(target.id, key)
        if version is None or version.delete_marker:
            return None
        return ObjectRef(bucket, key, version.size, version.modified, version.etag)

    def _current(self, account: str, bucket: str, key: str) -> tuple[ObjectVersion, Content]:
        """The key's current version and where its bytes are; S3LocalError if there is none."""
        target = self.bucket(account, bucket)
        version = self.store.get_object(target.id, key, with_content=True)
        if version is None or version.delete_marker or version.content is None:
            raise S3LocalError(f"The specified key does not exist: s3://{bucket}/{key}")
        return version, version.content

    def materialize(self, account: str, bucket: str, key: str, scratch: Path, name: str) -> Path:
        """A local file holding the object's current bytes, named `name` + the key's codec suffix.

        `name` is chosen by the caller (never a key). The file stays valid whatever happens to the key
        afterwards; the caller deletes the scratch directory when done.
        """
        _, content = self._current(account, bucket, key)
        path = scratch / (name + scratch_suffix(key))
        self._place(content, path, f"s3://{bucket}/{key}")
        return path

    def link(self, account: str, bucket: str, key: str, folder: Path) -> Path:
        """A file in `folder` holding the object's current bytes, named after that version's identity.

        Unlike `materialize`, the name is the same every time while the version stays current (and new
        once its bytes change), so a folder kept between statements holds each version once and a reader
        may cache what it learnt about a file by its name. The name is derived, never taken from the key.
        """
        version, content = self._current(account, bucket, key)
        fields = (version.bucket_id, key, version.version_id, version.etag, repr(version.modified), version.size)
        identity = "\0".join(str(part) for part in fields)
        path = folder / ("o" + hashlib.sha256(identity.encode()).hexdigest()[:40] + scratch_suffix(key))
        if not path.exists():
            self._place(content, path, f"s3://{bucket}/{key}")
        return path

    def _place(self, content: Content, path: Path, uri: str) -> None:
        """Puts an object's bytes at `path`: a hard link of its one blob, else a copy (written aside first, so
        that no half-written file ever has the name a later reader trusts)."""
        if content.inline is None and len(content.segments) == 1:
            try:
                os.link(self.store.blobs.path(content.segments[0].blob_id), path)
                return
            except FileExistsError:
                return
            except FileNotFoundError:
                raise S3LocalError(f"The specified key does not exist: {uri}") from None
            except OSError:
                pass  # another filesystem: fall through to a copy
        partial = path.with_name(path.name + ".part")
        with open(partial, "wb") as out:
            for chunk in iter_range(self.store.blobs, content, 0, content.size):
                out.write(chunk)
        os.replace(partial, path)

    def read(self, account: str, bucket: str, key: str) -> bytes:
        """A whole (small) object's bytes, for result files and manifests."""
        _, content = self._current(account, bucket, key)
        return b"".join(iter_range(self.store.blobs, content, 0, content.size))

    def read_range(self, account: str, bucket: str, key: str, start: int, length: int) -> bytes:
        version, content = self._current(account, bucket, key)
        start = max(0, min(start, version.size))
        length = max(0, min(length, version.size - start))
        return b"".join(iter_range(self.store.blobs, content, start, length))

    def put(self, account: str, bucket: str, key: str, body: bytes | BinaryIO | Path,
            content_type: str = "application/octet-stream") -> ObjectRef:
        """Stores a new current version exactly as a PutObject would (digests, SSE default, checksum)."""
        target = self.bucket(account, bucket)
        with contextlib.ExitStack() as stack:
            source = stack.enter_context(open(body, "rb")) if isinstance(body, Path) else body
            reader = source if isinstance(source, bytes) else ChunkReader(_chunks(source))
            ingested = ingest(self.store.blobs, reader, [_ALGORITHM], _MAX_OBJECT)
        checksum = ingested.checksums.get(_ALGORITHM) or new_checksum(_ALGORITHM)
        meta = {"ContentType": content_type, "ServerSideEncryption": "AES256",
                "Checksums": {_ALGORITHM: checksum.b64digest()}}
        new = NewVersion(ingested.content, ingested.etag, "STANDARD", meta, [], _ALGORITHM, "FULL_OBJECT")
        version = self.store.put_object(target, key, new)  # drops the new blob itself if the write fails
        return ObjectRef(bucket, key, version.size, version.modified, version.etag)

    def delete(self, account: str, bucket: str, key: str) -> None:
        target = self.bucket(account, bucket)
        self.store.delete_object(target, key)


def _chunks(source: BinaryIO) -> Iterator[bytes]:
    while chunk := source.read(1024 * 1024):
        yield chunk


def remove_scratch(path: Path) -> None:
    """Deletes a scratch directory and every link or temporary file in it."""
    shutil.rmtree(path, ignore_errors=True)
