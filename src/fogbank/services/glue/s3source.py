"""How a crawler reads S3: in-process through the S3 provider's store (listing keys, opening object bytes).

Objects open as seekable read-only files over their blobs, so columnar readers (Parquet, ORC) fetch only
the footer and the pages they need instead of the whole object.
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from fogbank.services.s3.provider import S3Provider
    from fogbank.services.s3.records import Content
    from fogbank.services.s3.store import S3Store

_PAGE = 1000


class S3AccessError(Exception):
    """A target the crawler cannot read (missing bucket, another account's bucket); the crawl fails with it."""


class S3Unavailable(Exception):
    """S3's store closed under a crawl (the server is shutting down)."""


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    size: int
    modified: float
    etag: str


def parse_s3_path(path: str) -> tuple[str, str]:
    """s3://bucket/prefix -> (bucket, prefix); the prefix of a folder path ends with '/'."""
    text = path.strip()
    if text.lower().startswith("s3://"):
        text = text[5:]
    elif text.lower().startswith("s3a://") or text.lower().startswith("s3n://"):
        text = text[6:]
    bucket, _, prefix = text.partition("/")
    if not bucket:
        raise S3AccessError(f"Invalid S3 path: {path}")
    return bucket, prefix


class _ContentFile(io.RawIOBase):
    """A read-only, seekable view of an object's bytes, whether inline or in blob segments."""

    def __init__(self, store: S3Store, content: Content) -> None:
        super().__init__()
        self._store = store
        self._inline = content.inline
        self._segments: list[tuple[int, int, str]] = []
        offset = 0
        for segment in content.segments:
            self._segments.append((offset, segment.size, segment.blob_id))
            offset += segment.size
        self._size = content.size
        self._pos = 0
        self._open: tuple[str, BinaryIO] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._pos >= self._size:
            return 0
        want = min(len(buffer), self._size - self._pos)
        if self._inline is not None:
            buffer[:want] = self._inline[self._pos:self._pos + want]
            self._pos += want
            return want
        for start, size, blob_id in self._segments:
            if start <= self._pos < start + size:
                take = min(want, start + size - self._pos)
                file = self._file(blob_id)
                file.seek(self._pos - start)
                data = file.read(take)
                buffer[:len(data)] = data
                self._pos += len(data)
                return len(data)
        return 0

    def _file(self, blob_id: str) -> BinaryIO:
        if self._open is not None and self._open[0] == blob_id:
            return self._open[1]
        if self._open is not None:
            self._open[1].close()
        file = self._store.blobs.open(blob_id)
        self._open = (blob_id, file)
        return file

    def close(self) -> None:
        if self._open is not None:
            self._open[1].close()
            self._open = None
        super().close()


class S3Source:
    """Listing and reading objects of one account's buckets."""

    def __init__(self, s3: S3Provider) -> None:
        self.store: S3Store = s3.store

    def _bucket_id(self, account: str, bucket: str) -> int:
        try:
            found = self.store.bucket(bucket)
        except (RuntimeError, sqlite3.ProgrammingError) as exc:
            raise S3Unavailable(str(exc)) from exc
        if found is None:
            raise S3AccessError(f"The S3 bucket {bucket} does not exist.")
        if found.account != account:
            raise S3AccessError(f"Access Denied to s3://{bucket}.")
        return found.id

    def list_objects(self, account: str, bucket: str, prefix: str) -> Iterator[S3Object]:
        """Current objects under a prefix, in key order."""
        bucket_id = self._bucket_id(account, bucket)
        after: str | None = None
        while True:
            try:
                rows = self.store.scan_latest(bucket_id, after, prefix, _PAGE)
            except (RuntimeError, sqlite3.ProgrammingError) as exc:
                raise S3Unavailable(str(exc)) from exc
            for row in rows:
                yield S3Object(bucket, row.key, row.size, row.modified, row.etag)
            if len(rows) < _PAGE:
                return
            after = rows[-1].key

    def open(self, account: str, bucket: str, key: str) -> io.BufferedReader:
        """The object's bytes as a seekable binary file; raises S3AccessError when it is gone."""
        bucket_id = self._bucket_id(account, bucket)
        try:
            version = self.store.get_object(bucket_id, key, with_content=True)
        except (RuntimeError, sqlite3.ProgrammingError) as exc:
            raise S3Unavailable(str(exc)) from exc
        if version is None or version.delete_marker or version.content is None:
            raise S3AccessError(f"The object s3://{bucket}/{key} does not exist.")
        return io.BufferedReader(_ContentFile(self.store, version.content), buffer_size=256 * 1024)
