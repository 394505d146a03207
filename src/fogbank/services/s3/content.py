"""Object bytes in and out: streaming ingest with digests, and ranged reads across blob manifests.

Bodies are read in 1 MiB chunks and never held whole. Small bodies (up to 64 KiB) stay in memory and are
stored inline in the metadata row, which spares a file, two fsyncs and a rename per PUT. Larger ones go to
a blob that is committed only after every digest checked out, so a rejected upload leaves nothing behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from fogbank.engines.blobs import BlobStore, BlobWriter
from fogbank.protocol.http import Readable
from fogbank.services.s3 import errors
from fogbank.services.s3.checksums import Checksum, new_checksum
from fogbank.services.s3.records import Content, Segment

CHUNK = 1024 * 1024
_HASH_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="s3-digest")
INLINE_LIMIT = 64 * 1024
# Files a read opens before it starts streaming, so a concurrent delete cannot cut the response short.
_EAGER_OPEN = 64


@dataclass
class Ingested:
    """A stored body and the digests computed while reading it."""

    content: Content
    md5: bytes
    checksums: dict[str, Checksum] = field(default_factory=dict)
    trailers: dict[str, str] = field(default_factory=dict)

    @property
    def etag(self) -> str:
        return f'"{self.md5.hex()}"'


Verifier = Callable[["Ingested"], None]


def ingest(blobs: BlobStore, body: Readable | bytes | None, algorithms: list[str], max_size: int,
           verify: Verifier | None = None, force_blob: bool = False) -> Ingested:
    """Reads `body` to EOF into inline bytes or a new blob, computing MD5 and `algorithms` on the way.

    `verify` runs after the last byte and before the blob is committed; if it raises, nothing is kept.
    `force_blob` stores even small bodies as blobs (multipart parts are always blobs).
    """
    inline_limit = -1 if force_blob else INLINE_LIMIT
    md5 = hashlib.md5(usedforsecurity=False)
    sums = {name: new_checksum(name) for name in dict.fromkeys(algorithms)}
    hasher = _Hasher([md5, *sums.values()])
    buffer = bytearray()
    writer: BlobWriter | None = None
    size = 0
    reader = _reader_of(body)
    try:
        while True:
            chunk = reader(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > max_size:
                raise errors.EntityTooLarge(MaxSizeAllowed=max_size)
            if writer is None and len(buffer) + len(chunk) <= inline_limit:
                hasher.update_now(chunk)
                buffer += chunk
                continue
            if writer is None:
                writer = blobs.writer()
                writer.write(bytes(buffer))
                buffer.clear()
            hasher.update(chunk)
            writer.write(chunk)
        hasher.finish()
        trailers = dict(getattr(body, "trailers", None) or {})
        if writer is None and force_blob:
            writer = blobs.writer()
        if writer is None:
            result = Ingested(Content(size, inline=bytes(buffer)), md5.digest(), sums, trailers)
            if verify is not None:
                verify(result)
            return result
        result = Ingested(Content(size), md5.digest(), sums, trailers)
        if verify is not None:
            verify(result)
        blob_id = writer.commit()
        result.content = Content(size, segments=(Segment(blob_id, size),))
        return result
    finally:
        hasher.finish()
        if writer is not None and writer.blob_id is None:
            writer.abort()


class _Hasher:
    """Digests large bodies on a helper thread, one chunk behind the disk writes.

    hashlib and the CRC routines release the GIL on large buffers, so hashing chunk n overlaps writing it
    and reading chunk n+1: a big PUT is bounded by the slower of the two, not their sum.
    """

    def __init__(self, digests: list[Any]) -> None:
        self._digests = digests
        self._pending: Future[None] | None = None

    def _apply(self, chunk: bytes) -> None:
        for digest in self._digests:
            digest.update(chunk)

    def update_now(self, chunk: bytes) -> None:
        self.finish()
        self._apply(chunk)

    def update(self, chunk: bytes) -> None:
        self.finish()
        self._pending = _HASH_POOL.submit(self._apply, chunk)

    def finish(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()


def _reader_of(body: Readable | bytes | None) -> Callable[[int], bytes]:
    if body is None:
        return lambda n: b""
    if isinstance(body, bytes | bytearray | memoryview):
        data = memoryview(bytes(body))
        pos = 0

        def read(n: int) -> bytes:
            nonlocal pos
            chunk = bytes(data[pos:pos + n])
            pos += len(chunk)
            return chunk

        return read
    return body.read


class BlobStream:
    """An iterable of byte chunks over a range of an object's blobs; closes its files when done.

    The first files are opened at construction, so the bytes a GET promised stay readable even if the
    object is overwritten or deleted while the response is streaming.
    """

    def __init__(self, blobs: BlobStore, segments: tuple[Segment, ...], start: int, length: int) -> None:
        self._blobs = blobs
        self._plan: list[tuple[Segment, int, int]] = []
        offset = 0
        end = start + length
        for segment in segments:
            seg_start, seg_end = offset, offset + segment.size
            offset = seg_end
            if seg_end <= start or seg_start >= end or segment.size == 0:
                continue
            lo = max(start, seg_start) - seg_start
            hi = min(end, seg_end) - seg_start
            self._plan.append((segment, lo, hi - lo))
        self._files: dict[int, BinaryIO] = {}
        try:
            for index, (segment, _, _) in enumerate(self._plan[:_EAGER_OPEN]):
                self._files[index] = blobs.open(segment.blob_id)
        except BaseException:
            self.close()
            raise
        self._index = 0
        self._remaining = self._plan[0][2] if self._plan else 0
        self._positioned = False
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        while self._index < len(self._plan):
            segment, lo, _ = self._plan[self._index]
            file = self._files.get(self._index)
            if file is None:
                file = self._files[self._index] = self._blobs.open(segment.blob_id)
            if not self._positioned:
                file.seek(lo)
                self._positioned = True
            if self._remaining > 0:
                chunk = file.read(min(CHUNK, self._remaining))
                if not chunk:
                    self.close()
                    raise OSError(f"blob {segment.blob_id} is shorter than its manifest says")
                self._remaining -= len(chunk)
                return chunk
            file.close()
            del self._files[self._index]
            self._index += 1
            self._positioned = False
            if self._index < len(self._plan):
                self._remaining = self._plan[self._index][2]
        self.close()
        raise StopIteration

    def close(self) -> None:
        for file in self._files.values():
            file.close()
        self._files.clear()
        self._closed = True

    def __del__(self) -> None:
        if self._files:
            self.close()


def read_range(blobs: BlobStore, content: Content, start: int, length: int) -> bytes | BlobStream:
    """The bytes [start, start+length) of an object: a slice when inline, else a stream."""
    if content.inline is not None:
        return content.inline[start:start + length]
    if length == 0:
        return b""
    return BlobStream(blobs, content.segments, start, length)


def iter_range(blobs: BlobStore, content: Content, start: int, length: int) -> Iterator[bytes]:
    """Like `read_range`, always as chunks, closing files even if the consumer stops early."""
    data = read_range(blobs, content, start, length)
    if isinstance(data, bytes):
        if data:
            yield data
        return
    try:
        yield from data
    finally:
        data.close()


class ChunkReader:
    """A `.read(n)` view of a chunk iterator, so stored bytes can be re-ingested (copies)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def read(self, size: int = -1, /) -> bytes:
        if size < 0:
            data = self._buffer + b"".join(self._chunks)
            self._buffer = b""
            return data
        while len(self._buffer) < size:
            chunk = next(self._chunks, b"")
            if not chunk:
                break
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def copy_content(blobs: BlobStore, content: Content, start: int, length: int, algorithms: list[str],
                 need_md5: bool, force_blob: bool = False) -> Ingested:
    """A new, independent copy of a byte range of stored content.

    Whole blob-backed objects are hard-linked rather than copied, and their bytes are read only when a
    digest is needed (the MD5 of a copied multipart object, or a checksum in a new algorithm). Ranges and
    inline objects are copied, as is anything that must become a single blob (`force_blob`: a part).
    """
    whole = start == 0 and length == content.size
    one_blob_needed = force_blob and len(content.segments) != 1
    if content.inline is not None or not whole or not content.segments or one_blob_needed:
        chunks = iter_range(blobs, content, start, length)
        try:
            return ingest(blobs, ChunkReader(chunks), algorithms, max_size=length, force_blob=force_blob)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
    new_ids = blobs.clone_many([s.blob_id for s in content.segments])
    copied = Content(length, segments=tuple(
        Segment(new_id, s.size) for new_id, s in zip(new_ids, content.segments, strict=True)))
    result = Ingested(copied, b"")
    if need_md5 or algorithms:
        try:
            md5 = hashlib.md5(usedforsecurity=False)
            sums = {name: new_checksum(name) for name in dict.fromkeys(algorithms)}
            for chunk in iter_range(blobs, copied, 0, length):
                md5.update(chunk)
                for checksum in sums.values():
                    checksum.update(chunk)
        except BaseException:
            for new_id in new_ids:
                blobs.delete(new_id)
            raise
        result.md5, result.checksums = md5.digest(), sums
    return result
