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

import contextlib
import itertools
import json
import logging
import os
import struct
import threading
import zlib
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("fogbank.firehose")

FRAME = struct.Struct("<IIQ")
SEGMENT_BYTES = 64 * 1024 * 1024
_fdatasync = getattr(os, "fdatasync", os.fsync)
_CHECKPOINT = "checkpoint.json"


class LogClosed(Exception):
    """The stream was deleted (or the server is stopping) while a writer held it."""


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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


@dataclass(frozen=True)
class Entry:
    """Where one buffered record lives."""

    segment: int
    offset: int
    arrival_ms: int
    size: int
    end: int  # bytes appended since the log was opened, through this record: sizes of ranges without a walk


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
        self._entries: deque[Entry] = deque()
        self._first = delivered  # sequence number of _entries[0]
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
            self._entries.clear()
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
                self._entries.append(Entry(base, pos, arrival, length, self._appended))
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
            buffer = bytearray()
            count = 0
            room = max_bytes - self._bytes
            for data in records:
                if len(data) > room:
                    break
                room -= len(data)
                body = struct.pack("<Q", arrival_ms) + data
                self._appended += len(data)
                self._entries.append(Entry(self._active, self._size + len(buffer), arrival_ms, len(data),
                                           self._appended))
                buffer += struct.pack("<II", len(data), zlib.crc32(body)) + body
                count += 1
            if count:
                view = memoryview(buffer)
                while view:
                    view = view[os.write(self._fd, view):]
                self._size += len(buffer)
                self._bytes += sum(len(d) for d in records[:count])
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
            first = self._entries[0]
            return count, self._entries[count - 1].end - first.end + first.size, first.arrival_ms

    def plan(self, max_bytes: int) -> int:
        """How many durable records from the checkpoint on make the next batch (at least one)."""
        with self._lock:
            count = max(0, min(self._durable, self._next) - self._first)
            total = taken = 0
            for entry in itertools.islice(self._entries, count):
                size = entry.size
                if taken and total + size > max_bytes:
                    break
                total += size
                taken += 1
            return taken

    def read(self, start: int, end: int) -> list[tuple[int, int, bytes]]:
        """(sequence number, arrival ms, data) of records [start, end); they must not be released yet."""
        with self._lock:
            if start < self._first or end > self._next:
                raise ValueError(f"records {start}..{end} are not buffered ({self._first}..{self._next})")
            entries = list(itertools.islice(self._entries, start - self._first, end - self._first))
        out: list[tuple[int, int, bytes]] = []
        handles: dict[int, int] = {}
        try:
            for n, entry in enumerate(entries):
                fd = handles.get(entry.segment)
                if fd is None:
                    fd = handles[entry.segment] = os.open(self.dir / _segment_name(entry.segment), os.O_RDONLY)
                data = os.pread(fd, entry.size, entry.offset + FRAME.size)
                if len(data) != entry.size:
                    raise OSError(f"short read in firehose buffer segment {entry.segment}")
                out.append((start + n, entry.arrival_ms, data))
        finally:
            for fd in handles.values():
                os.close(fd)
        return out

    def release(self, end: int) -> None:
        """Forgets records before `end` (delivered and checkpointed) and deletes segments they filled."""
        with self._lock:
            while self._first < end and self._entries:
                self._bytes -= self._entries.popleft().size
                self._first += 1
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
