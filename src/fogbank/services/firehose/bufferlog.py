"""The durable buffer of a DirectPut delivery stream: an fsynced append-only log and a delivery checkpoint.

Records are numbered from 0 for the life of the stream. PutRecord appends frames to the active segment file
and returns once they are fsynced; concurrent writers share fsyncs (group commit): whoever syncs covers
every frame appended before it started. The checkpoint file, replaced atomically, says how many records
were delivered and which batch is in flight; segments wholly before the checkpoint are deleted.

A frame is `<length u32><crc32 u32><arrival ms u64><payload>`, the CRC covering arrival time and payload.
A crash can leave a torn frame only at the end of the last segment, where no acknowledged record lives:
recovery cuts it off.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import json
import logging
import operator
import os
import struct
import threading
import zlib
from array import array
from collections.abc import Iterable
from itertools import repeat
from pathlib import Path
from typing import Any

from fogbank.engines.blobs import fsync_dir

log = logging.getLogger("fogbank.firehose")

FRAME = struct.Struct("<IIQ")
_HEAD = struct.Struct("<II")
SEGMENT_BYTES = 64 * 1024 * 1024
_fdatasync = getattr(os, "fdatasync", os.fsync)
_CHECKPOINT = "checkpoint.json"


class LogClosed(Exception):
    """The stream was deleted (or the server is stopping) while a writer held it."""


def write_atomic(path: Path, data: bytes) -> None:
    """Replaces `path` so that a crash leaves either the old or the new content."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


class Checkpoint:
    """The delivery state of one stream: records delivered, next batch number, the batch in flight."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / _CHECKPOINT
        self.state: dict[str, Any] = {"delivered": 0, "batch": 0, "intent": None}
        if self.path.exists():
            self.state.update(json.loads(self.path.read_text()))

    def save(self, **changes: Any) -> None:
        state = {**self.state, **changes}
        write_atomic(self.path, json.dumps(state, sort_keys=True).encode())
        self.state = state

    @property
    def intent(self) -> dict[str, Any] | None:
        intent = self.state.get("intent")
        return intent if isinstance(intent, dict) else None


class Index:
    """Where the buffered records live: one column of integers per field, record `head + k` being the k-th
    record not yet released. Columns rather than an object per record: a batch indexes hundreds of thousands
    of records, and tuples would cost an allocation each and weigh on the garbage collector."""

    def __init__(self) -> None:
        self.segment = array("q")
        self.offset = array("q")  # of the frame in its segment
        self.arrival = array("q")
        self.size = array("q")
        self.end = array("q")  # bytes appended since the log was opened, through this record
        self.head = 0

    def __len__(self) -> int:
        return len(self.size) - self.head

    def extend(self, segment: int, offsets: Iterable[int], arrival_ms: int, sizes: list[int],
               ends: Iterable[int]) -> None:
        self.segment.extend(repeat(segment, len(sizes)))
        self.offset.extend(offsets)
        self.arrival.extend(repeat(arrival_ms, len(sizes)))
        self.size.extend(sizes)
        self.end.extend(ends)

    def bytes_between(self, first: int, last: int) -> int:
        """Payload bytes of records [first, last) counted from the head."""
        if last <= first:
            return 0
        a, b = self.head + first, self.head + last - 1
        return self.end[b] - self.end[a] + self.size[a]

    def drop(self, count: int) -> None:
        self.head += min(count, len(self))
        if self.head >= 65536 and self.head * 2 >= len(self.size):
            for column in (self.segment, self.offset, self.arrival, self.size, self.end):
                del column[:self.head]
            self.head = 0

    def clear(self) -> None:
        for column in (self.segment, self.offset, self.arrival, self.size, self.end):
            del column[:]
        self.head = 0


def _pread_all(fd: int, length: int, offset: int) -> bytes:
    """`length` bytes from `offset`, fewer only at the end of the file (a single pread may return less)."""
    parts: list[bytes] = []
    while length > 0:
        part = os.pread(fd, length, offset)
        if not part:
            break
        parts.append(part)
        length -= len(part)
        offset += len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _segment_name(base: int) -> str:
    return f"{base:020d}.seg"


class BufferLog:
    """The log of one stream. `append` and `wait_durable` are thread-safe; one flusher reads and releases."""

    def __init__(self, directory: Path, delivered: int, segment_bytes: int = SEGMENT_BYTES) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.dir = directory
        self.segment_bytes = segment_bytes
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._index = Index()
        self._first = delivered  # sequence number of the index's head
        self._bytes = 0
        self._appended = 0
        self._retired: list[int] = []
        self._closed = False
        self._segments: list[int] = []
        self._active = 0
        self._size = 0
        self._fd = -1
        self._recover(delivered)
        self._durable = self._next

    # -- recovery --------------------------------------------------------------------------------------

    def _recover(self, delivered: int) -> None:
        bases = sorted(int(p.name[:20]) for p in self.dir.glob("*.seg") if p.name[:20].isdigit())
        for tmp in self.dir.glob("*.tmp"):
            tmp.unlink(missing_ok=True)
        seq = bases[0] if bases else delivered
        kept: list[int] = []
        for i, base in enumerate(bases):
            following = bases[i + 1] if i + 1 < len(bases) else None
            if following is not None and following <= delivered:
                (self.dir / _segment_name(base)).unlink(missing_ok=True)
                continue
            kept.append(base)
            seq = self._scan(base, delivered, last=following is None)
        self._segments = kept
        if not kept or seq < delivered:
            # Nothing buffered (or the log is behind its checkpoint): start a fresh segment at the checkpoint.
            for base in kept:
                (self.dir / _segment_name(base)).unlink(missing_ok=True)
            self._index.clear()
            self._bytes = 0
            seq = delivered
            self._segments = []
            self._open_segment(seq)
        else:
            self._active = kept[-1]
            path = self.dir / _segment_name(self._active)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            self._size = os.fstat(self._fd).st_size
            _fdatasync(self._fd)  # frames a killed process left in the page cache count as buffered from now on
        self._first = delivered
        self._next = seq

    def _scan(self, base: int, delivered: int, last: bool) -> int:
        """Indexes the records of one segment from `delivered` on; cuts a torn tail off the last segment."""
        path = self.dir / _segment_name(base)
        data = path.read_bytes()
        pos = 0
        seq = base
        while pos + FRAME.size <= len(data):
            length, crc, arrival = FRAME.unpack_from(data, pos)
            end = pos + FRAME.size + length
            if end > len(data) or zlib.crc32(data[pos + 8:end]) != crc:
                break
            if seq >= delivered:
                self._appended += length
                self._index.extend(base, (pos,), arrival, [length], (self._appended,))
                self._bytes += length
            seq += 1
            pos = end
        if pos < len(data):
            if not last:
                log.error("firehose buffer segment %s is corrupt at offset %d; later records are lost", path, pos)
            fd = os.open(path, os.O_WRONLY)
            try:
                os.ftruncate(fd, pos)
                os.fsync(fd)
            finally:
                os.close(fd)
        return seq

    def _open_segment(self, base: int) -> None:
        path = self.dir / _segment_name(base)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        fsync_dir(self.dir)
        self._segments.append(base)
        self._active = base
        self._size = 0

    # -- writing ---------------------------------------------------------------------------------------

    def append(self, records: list[bytes], arrival_ms: int, max_bytes: int) -> tuple[int, int]:
        """Appends as many records as fit under `max_bytes` of backlog; returns (first seq, count)."""
        with self._lock:
            if self._closed:
                raise LogClosed()
            if self._size >= self.segment_bytes:
                self._roll()
            first = self._next
            sizes = list(map(len, records))
            count = bisect.bisect_right(list(itertools.accumulate(sizes)), max_bytes - self._bytes)
            if count:
                del sizes[count:]
                records = records[:count]
                arrival = struct.pack("<Q", arrival_ms)
                arrival_crc = zlib.crc32(arrival)  # the CRC of arrival + payload continues from the arrival's
                crc32 = zlib.crc32
                parts: list[bytes] = [arrival] * (3 * count)
                parts[0::3] = map(_HEAD.pack, sizes, [crc32(data, arrival_crc) for data in records])
                parts[2::3] = records
                buffer = b"".join(parts)
                offsets = itertools.accumulate([FRAME.size + size for size in sizes[:-1]], initial=self._size)
                ends = itertools.accumulate(sizes, initial=self._appended)
                next(ends)
                self._index.extend(self._active, offsets, arrival_ms, sizes, ends)
                view = memoryview(buffer)
                while view:
                    view = view[os.write(self._fd, view):]
                added = len(buffer) - count * FRAME.size
                self._size += len(buffer)
                self._bytes += added
                self._appended += added
                self._next += count
            return first, count

    def _roll(self) -> None:
        """Starts a new segment; the old one is fsynced first so `wait_durable` only ever syncs the active one."""
        _fdatasync(self._fd)
        self._retired.append(self._fd)
        self._open_segment(self._next)

    def wait_durable(self, end: int) -> None:
        """Returns once every record before sequence number `end` is on disk."""
        if self._durable >= end:
            return
        with self._sync_lock:
            if self._durable >= end:
                return
            with self._lock:
                if self._closed:
                    raise LogClosed()
                target, fd = self._next, self._fd
                retired, self._retired = self._retired, []
            _fdatasync(fd)
            for old in retired:
                os.close(old)
            self._durable = max(self._durable, target)

    # -- reading (flusher) ---------------------------------------------------------------------------------

    @property
    def delivered(self) -> int:
        return self._first

    def pending(self) -> tuple[int, int, int | None]:
        """(durable records waiting, their bytes, arrival of the oldest), for the flush decision."""
        with self._lock:
            count = max(0, min(self._durable, self._next) - self._first)
            if not count:
                return 0, 0, None
            index = self._index
            return count, index.bytes_between(0, count), index.arrival[index.head]

    def plan(self, max_bytes: int) -> int:
        """How many durable records from the checkpoint on make the next batch (at least one)."""
        with self._lock:
            count = max(0, min(self._durable, self._next) - self._first)
            if not count:
                return 0
            index = self._index
            head = index.head
            limit = index.end[head] - index.size[head] + max_bytes
            taken = bisect.bisect_right(index.end, limit, head, head + count) - head
            return max(taken, 1)

    def read(self, start: int, end: int) -> list[tuple[int, int, bytes]]:
        """(sequence number, arrival ms, data) of records [start, end); they must not be released yet."""
        arrivals, datas = self.read_columns(start, end)
        return list(zip(range(start, end), arrivals, datas, strict=True))

    def read_columns(self, start: int, end: int) -> tuple[list[int], list[bytes]]:
        """The arrival times and the data of records [start, end), which must not be released yet."""
        with self._lock:
            if start < self._first or end > self._next:
                raise ValueError(f"records {start}..{end} are not buffered ({self._first}..{self._next})")
            index = self._index
            low, high = index.head + start - self._first, index.head + end - self._first
            segments = index.segment[low:high]
            offsets = index.offset[low:high]
            arrivals = index.arrival[low:high].tolist()
            sizes = index.size[low:high]
        datas: list[bytes] = []
        first = 0
        while first < len(sizes):
            # One segment's frames follow each other on disk: one read covers them all.
            segment = segments[first]
            last = bisect.bisect_right(segments, segment, first)
            begin = offsets[first]
            length = offsets[last - 1] + FRAME.size + sizes[last - 1] - begin
            fd = os.open(self.dir / _segment_name(segment), os.O_RDONLY)
            try:
                chunk = _pread_all(fd, length, begin)
            finally:
                os.close(fd)
            if len(chunk) != length:
                raise OSError(f"short read in firehose buffer segment {segment}")
            starts = list(map(operator.add, offsets[first:last], repeat(FRAME.size - begin)))
            stops = map(operator.add, starts, sizes[first:last])
            datas.extend(map(chunk.__getitem__, map(slice, starts, stops)))
            first = last
        return arrivals, datas

    def release(self, end: int) -> None:
        """Forgets records before `end` (delivered and checkpointed) and deletes segments they filled."""
        with self._lock:
            count = min(max(0, end - self._first), len(self._index))
            self._bytes -= self._index.bytes_between(0, count)
            self._index.drop(count)
            self._first += count
            self._first = max(self._first, end)
            doomed: list[int] = []
            while len(self._segments) > 1 and self._segments[1] <= self._first:
                doomed.append(self._segments.pop(0))
        for base in doomed:
            (self.dir / _segment_name(base)).unlink(missing_ok=True)

    def close(self) -> None:
        with self._sync_lock, self._lock:
            if self._closed:
                return
            self._closed = True
            for fd in [self._fd, *self._retired]:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._retired = []
