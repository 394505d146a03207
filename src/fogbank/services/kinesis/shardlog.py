"""One shard's records on disk: an append-only log of segment files with a sparse index, group-committed.

A shard directory holds segments named by the ordinal of their first record: ``<base>.log`` holds framed
records and ``<base>.idx`` a sparse index. A frame is ``length u32 | crc32 u32 | body`` with the body
``ordinal u64 | arrival ms u64 | key length u16 | partition key | data``. The index has one entry
``ordinal u64 | arrival ms u64 | offset u64`` for the first record of every ~4 KiB of log, so finding a record
by ordinal or by arrival time costs two binary searches and a scan of a few KiB, whatever the log's size.

Writers append a whole batch with one write and then wait for durability: the first waiter fsyncs on
behalf of everyone whose bytes were written before it started (group commit). Readers only ever see records
that are durable, so a sequence number a client has seen can never be lost or reused after a crash. At
start, the tail of the last segment is checked frame by frame and cut at the first torn or corrupt frame.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import mmap
import os
import re
import shutil
import struct
import threading
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from fogbank.engines.blobs import fsync_dir

log = logging.getLogger("fogbank.kinesis")

FRAME = struct.Struct("<II")
BODY = struct.Struct("<QQH")
ENTRY = struct.Struct("<QQQ")
_U64 = struct.Struct("<Q")

DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024
DEFAULT_SEGMENT_AGE_MS = 60 * 60 * 1000
INDEX_INTERVAL = 4096
READ_CHUNK = 256 * 1024
# A body can never be larger than the largest record Kinesis accepts plus its key and header.
MAX_BODY = 10 * 1024 * 1024 + 4096

_SEGMENT_NAME = re.compile(r"^(\d{20})\.log$")
_fdatasync = getattr(os, "fdatasync", os.fsync)


class ShardClosedError(Exception):
    """The shard was closed by a split or merge; the caller routes the records again."""


class LogCorruptionError(Exception):
    """A frame inside the durable part of the log failed its checksum."""


class LogRecord(NamedTuple):
    ordinal: int
    arrival_ms: int
    partition_key: str
    data: bytes


@dataclass(frozen=True)
class Position:
    """Where a record's frame starts: lets a sequential reader skip the index lookup."""

    segment: int
    offset: int


@dataclass(frozen=True)
class Tip:
    """The durable end of the log: what readers may see."""

    count: int
    segment: int
    offset: int
    last_arrival_ms: int


@dataclass(frozen=True)
class ReadResult:
    records: list[LogRecord]
    next_ordinal: int
    next_position: Position | None
    tip: Tip
    bytes_read: int


@dataclass(frozen=True)
class AppendResult:
    first_ordinal: int
    arrival_ms: int


class _Column(Sequence[int]):
    """One field of a memory-mapped index file, as a sequence that `bisect` can search."""

    def __init__(self, buf: mmap.mmap | None, field: int, count: int) -> None:
        self._buf = buf
        self._field = field * 8
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, i: int) -> int:  # type: ignore[override]
        if i < 0:
            i += self._count
        if not 0 <= i < self._count or self._buf is None:
            raise IndexError(i)
        return int(_U64.unpack_from(self._buf, i * ENTRY.size + self._field)[0])


class Segment:
    """One segment: its files, its size, and its sparse index (in memory while active, mapped once sealed)."""

    def __init__(self, directory: Path, base: int) -> None:
        self.base = base
        self.log_path = directory / f"{base:020d}.log"
        self.idx_path = directory / f"{base:020d}.idx"
        self.size = 0
        self.ordinals: Sequence[int] = array("Q")
        self.arrivals: Sequence[int] = array("Q")
        self.offsets: Sequence[int] = array("Q")
        self.sealed = False

    @property
    def first_arrival(self) -> int | None:
        return self.arrivals[0] if len(self.arrivals) else None

    def map_index(self) -> None:
        """Switches a sealed segment's index from memory to a read-only mapping of its file."""
        size = self.idx_path.stat().st_size if self.idx_path.exists() else 0
        count = size // ENTRY.size
        buf: mmap.mmap | None = None
        if count:
            with open(self.idx_path, "rb") as handle:
                buf = mmap.mmap(handle.fileno(), count * ENTRY.size, access=mmap.ACCESS_READ)
        self.ordinals = _Column(buf, 0, count)
        self.arrivals = _Column(buf, 1, count)
        self.offsets = _Column(buf, 2, count)
        self.sealed = True

    def entry_at_or_before(self, ordinal: int) -> int:
        """The byte offset of the last indexed record whose ordinal is at most `ordinal`."""
        i = bisect.bisect_right(self.ordinals, ordinal) - 1
        return self.offsets[i] if i >= 0 else 0

    def entry_before_time(self, arrival_ms: int) -> int:
        """The byte offset of the last indexed record that arrived strictly before `arrival_ms`."""
        i = bisect.bisect_left(self.arrivals, arrival_ms) - 1
        return self.offsets[i] if i >= 0 else 0


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class _Frames:
    """Reads consecutive frames of one segment file through a buffer of a few hundred KiB."""

    def __init__(self, fd: int, offset: int, end: int) -> None:
        self.fd = fd
        self.pos = offset
        self.end = end
        self.buf = b""
        self.buf_start = offset

    def _ensure(self, length: int) -> bool:
        have = self.buf_start + len(self.buf) - self.pos
        if have >= length:
            return True
        want = max(length, READ_CHUNK)
        self.buf = os.pread(self.fd, min(want, max(length, self.end - self.pos)), self.pos)
        self.buf_start = self.pos
        return len(self.buf) >= length

    def next(self) -> tuple[int, int, memoryview, int] | None:
        """(ordinal, arrival, body, key length) of the frame at `pos`, or None at `end` or a torn frame."""
        if self.pos + FRAME.size > self.end or not self._ensure(FRAME.size):
            return None
        length, crc = FRAME.unpack_from(self.buf, self.pos - self.buf_start)
        if length < BODY.size or length > MAX_BODY or self.pos + FRAME.size + length > self.end:
            return None
        if not self._ensure(FRAME.size + length):
            return None
        start = self.pos - self.buf_start + FRAME.size
        body = memoryview(self.buf)[start:start + length]
        if zlib.crc32(body) != crc:
            return None
        ordinal, arrival, key_length = BODY.unpack_from(body)
        if BODY.size + key_length > length:
            return None
        return ordinal, arrival, body, key_length


class _BadHint(Exception):
    """A position hint did not point at the expected record; the index is used instead."""


def _scan(fd: int, pos: int, end: int, ordinal: int, records: list[LogRecord], max_records: int, total: int,
          max_bytes: int, hinted: bool) -> tuple[int, int, int, bool]:
    """The read loop, kept flat because it runs once per record returned."""
    unpack_frame = FRAME.unpack_from
    unpack_body = BODY.unpack_from
    crc32 = zlib.crc32
    body_size = BODY.size
    buf = b""
    view = memoryview(buf)
    start = pos
    while len(records) < max_records:
        rel = pos - start
        if rel + 8 > len(buf):
            if pos + 8 > end:
                break
            buf = os.pread(fd, max(READ_CHUNK, 8) if end - pos > READ_CHUNK else end - pos, pos)
            view = memoryview(buf)
            start, rel = pos, 0
            if len(buf) < 8:
                raise LogCorruptionError(f"short read at byte {pos}")
        length, crc = unpack_frame(buf, rel)
        if length < body_size or length > MAX_BODY or pos + 8 + length > end:
            if hinted:
                raise _BadHint()
            raise LogCorruptionError(f"bad frame length at byte {pos}")
        if rel + 8 + length > len(buf):
            buf = os.pread(fd, min(max(READ_CHUNK, 8 + length), end - pos), pos)
            view = memoryview(buf)
            start, rel = pos, 0
            if len(buf) < 8 + length:
                raise LogCorruptionError(f"short read at byte {pos}")
        body = view[rel + 8:rel + 8 + length]
        if crc32(body) != crc:
            if hinted:
                raise _BadHint()
            raise LogCorruptionError(f"checksum mismatch at byte {pos}")
        found, arrival, key_length = unpack_body(buf, rel + 8)
        if found != ordinal:
            if found < ordinal:
                pos += 8 + length
                continue
            if hinted:
                raise _BadHint()
            raise LogCorruptionError(f"expected record {ordinal}, found {found} at byte {pos}")
        hinted = False
        key_end = body_size + key_length
        size = length - key_end
        if records and total + size > max_bytes:
            return ordinal, pos, total, True
        records.append(LogRecord(found, arrival, str(body[body_size:key_end], "utf-8", "surrogatepass"),
                                 bytes(body[key_end:])))
        total += size
        pos += 8 + length
        ordinal += 1
    else:
        return ordinal, pos, total, True
    return ordinal, pos, total, False


class ShardLog:
    """The durable record log of one shard. Thread-safe: many appenders and readers at once."""

    def __init__(self, directory: Path, start_ordinal: int = 0, segment_bytes: int = DEFAULT_SEGMENT_BYTES,
                 segment_age_ms: int = DEFAULT_SEGMENT_AGE_MS) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.segment_age_ms = segment_age_ms
        self._append_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._state = threading.Condition()
        self._syncing = False
        self._closed_for_writes = False
        self._segments: list[Segment] = []
        self._active: Segment | None = None
        self._log_fd = -1
        self._idx_fd = -1
        self._count = start_ordinal
        self._last_arrival = 0
        self._last_indexed = -INDEX_INTERVAL
        self._tip = Tip(start_ordinal, start_ordinal, 0, 0)
        self._recover()

    # ------------------------------------------------------------------ opening and recovery

    def _recover(self) -> None:
        if not self.directory.is_dir():
            return
        bases = sorted(int(m.group(1)) for p in self.directory.iterdir() if (m := _SEGMENT_NAME.match(p.name)))
        for path in self.directory.iterdir():
            if path.suffix == ".idx" and not path.with_suffix(".log").exists():
                path.unlink()
        if not bases:
            return
        segments = [Segment(self.directory, base) for base in bases]
        for segment in segments[:-1]:
            segment.size = segment.log_path.stat().st_size
            if not self._index_is_sound(segment):
                self._rebuild_index(segment)
            segment.map_index()
        last = segments[-1]
        self._recover_tail(last)
        self._segments = segments
        self._active = last
        self._log_fd = os.open(last.log_path, os.O_WRONLY | os.O_APPEND)
        self._idx_fd = os.open(last.idx_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        # Bytes written before a crash but never fsynced become visible now: make them durable first.
        _fdatasync(self._log_fd)
        self._tip = Tip(self._count, last.base, last.size, self._last_arrival)

    def _index_is_sound(self, segment: Segment) -> bool:
        """A sealed segment's index was fsynced when it was sealed; this only guards against damage."""
        if not segment.idx_path.exists():
            return segment.size == 0
        size = segment.idx_path.stat().st_size
        if size % ENTRY.size or (size == 0) != (segment.size == 0):
            return False
        if size == 0:
            return True
        with open(segment.idx_path, "rb") as handle:
            first = ENTRY.unpack(handle.read(ENTRY.size))
            handle.seek(size - ENTRY.size)
            last = ENTRY.unpack(handle.read(ENTRY.size))
        return first[0] == segment.base and first[2] == 0 and last[2] < segment.size

    def _rebuild_index(self, segment: Segment) -> None:
        entries = bytearray()
        last_indexed = -INDEX_INTERVAL
        fd = os.open(segment.log_path, os.O_RDONLY)
        try:
            frames = _Frames(fd, 0, segment.size)
            while (frame := frames.next()) is not None:
                ordinal, arrival, body, _ = frame
                if frames.pos - last_indexed >= INDEX_INTERVAL:
                    entries += ENTRY.pack(ordinal, arrival, frames.pos)
                    last_indexed = frames.pos
                frames.pos += FRAME.size + len(body)
        finally:
            os.close(fd)
        tmp = segment.idx_path.with_suffix(".idx.tmp")
        tmp.write_bytes(entries)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, segment.idx_path)
        fsync_dir(self.directory)

    def _recover_tail(self, segment: Segment) -> None:
        """Keeps the index entries that point at valid frames, then re-reads the log from the last of them."""
        size = segment.log_path.stat().st_size
        raw = segment.idx_path.read_bytes() if segment.idx_path.exists() else b""
        raw = raw[:len(raw) - len(raw) % ENTRY.size]
        entries = [ENTRY.unpack_from(raw, i) for i in range(0, len(raw), ENTRY.size)]
        fd = os.open(segment.log_path, os.O_RDONLY)
        try:
            start = 0
            expected = segment.base
            while entries:
                ordinal, _, offset = entries[-1]
                frame = _Frames(fd, offset, size).next() if offset < size else None
                if frame is not None and frame[0] == ordinal and ordinal >= segment.base:
                    start, expected = offset, ordinal
                    break
                entries.pop()
            kept = entries[:-1]
            frames = _Frames(fd, start, size)
            last_arrival = 0
            last_indexed = kept[-1][2] if kept else -INDEX_INTERVAL
            while (frame := frames.next()) is not None:
                ordinal, arrival, body, _ = frame
                if ordinal != expected or arrival < last_arrival:
                    break
                if frames.pos - last_indexed >= INDEX_INTERVAL:
                    kept.append((ordinal, arrival, frames.pos))
                    last_indexed = frames.pos
                last_arrival = arrival
                expected += 1
                frames.pos += FRAME.size + len(body)
            valid_end = frames.pos
        finally:
            os.close(fd)
        if valid_end < size:
            log.warning("truncating %s at %d of %d bytes: torn or corrupt tail", segment.log_path, valid_end, size)
            with open(segment.log_path, "r+b") as handle:
                handle.truncate(valid_end)
                os.fsync(handle.fileno())
        index_bytes = b"".join(ENTRY.pack(*entry) for entry in kept)
        if index_bytes != raw or not segment.idx_path.exists():
            tmp = segment.idx_path.with_suffix(".idx.tmp")
            tmp.write_bytes(index_bytes)
            os.replace(tmp, segment.idx_path)
        segment.size = valid_end
        segment.ordinals = array("Q", (e[0] for e in kept))
        segment.arrivals = array("Q", (e[1] for e in kept))
        segment.offsets = array("Q", (e[2] for e in kept))
        self._count = expected
        self._last_arrival = max(last_arrival, kept[-1][1] if kept else 0)
        self._last_indexed = kept[-1][2] if kept else -INDEX_INTERVAL

    # ------------------------------------------------------------------ writing

    def _open_segment(self, base: int) -> Segment:
        self.directory.mkdir(parents=True, exist_ok=True)
        segment = Segment(self.directory, base)
        self._log_fd = os.open(segment.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._idx_fd = os.open(segment.idx_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        # The new files, and the shard and stream folders the first segment may just have created.
        fsync_dir(self.directory)
        fsync_dir(self.directory.parent)
        fsync_dir(self.directory.parent.parent)
        self._last_indexed = -INDEX_INTERVAL
        return segment

    def _roll(self) -> None:
        """Seals the active segment (fsynced with its index) and starts a new one. Holds the append lock."""
        old = self._active
        if old is not None:
            with self._sync_lock:
                _fdatasync(self._log_fd)
                os.fsync(self._idx_fd)
                os.close(self._log_fd)
                os.close(self._idx_fd)
                old.map_index()
            with self._state:
                self._tip = Tip(self._count, self._count, 0, self._last_arrival)
        segment = self._open_segment(self._count)
        self._active = segment
        with self._state:
            self._segments = [*self._segments, segment]
            if old is None:
                self._tip = Tip(self._count, segment.base, 0, self._last_arrival)

    def append(self, entries: Sequence[tuple[bytes, bytes]], now_ms: int) -> AppendResult:
        """Appends a batch with one write and returns once it is durable."""
        result = self.write(entries, now_ms)
        self.wait_durable(result.first_ordinal + len(entries))
        return result

    def write(self, entries: Sequence[tuple[bytes, bytes]], now_ms: int) -> AppendResult:
        """Appends a batch of (UTF-8 partition key, data) with one write; readable after `wait_durable`."""
        if not entries:
            raise ValueError("empty batch")
        with self._append_lock:
            if self._closed_for_writes:
                raise ShardClosedError()
            active = self._active
            if active is None or active.size >= self.segment_bytes or (
                    active.size and active.first_arrival is not None
                    and now_ms - active.first_arrival >= self.segment_age_ms):
                self._roll()
                active = self._active
                assert active is not None
            arrival = max(now_ms, self._last_arrival)
            first = self._count
            parts: list[bytes] = []
            index = bytearray()
            offset = active.size
            ordinal = first
            ordinals, arrivals, offsets = active.ordinals, active.arrivals, active.offsets
            assert isinstance(ordinals, array) and isinstance(arrivals, array) and isinstance(offsets, array)
            pack_frame, pack_body, crc32 = FRAME.pack, BODY.pack, zlib.crc32
            for key, data in entries:
                head = pack_body(ordinal, arrival, len(key)) + key
                body_length = len(head) + len(data)
                parts.append(pack_frame(body_length, crc32(data, crc32(head))) + head)
                parts.append(data)
                if offset - self._last_indexed >= INDEX_INTERVAL:
                    index += ENTRY.pack(ordinal, arrival, offset)
                    ordinals.append(ordinal)
                    arrivals.append(arrival)
                    offsets.append(offset)
                    self._last_indexed = offset
                offset += FRAME.size + body_length
                ordinal += 1
            _write_all(self._log_fd, b"".join(parts))
            if index:
                _write_all(self._idx_fd, index)
            active.size = offset
            self._count = ordinal
            self._last_arrival = arrival
        return AppendResult(first, arrival)

    def wait_durable(self, count: int) -> None:
        """Returns once the first `count` records are on disk; one caller fsyncs for all who wait."""
        while True:
            with self._state:
                while self._syncing and self._tip.count < count:
                    self._state.wait()
                if self._tip.count >= count:
                    return
                self._syncing = True
            synced: Tip | None = None
            try:
                with self._append_lock:
                    segment = self._active
                    written = Tip(self._count, segment.base if segment else self._count,
                                  segment.size if segment else 0, self._last_arrival)
                    fd = self._log_fd
                with self._sync_lock:
                    # A roll in between fsynced and sealed the segment itself; its fd is closed by now.
                    if segment is not None and not segment.sealed and fd >= 0:
                        _fdatasync(fd)
                synced = written
            finally:
                with self._state:
                    self._syncing = False
                    if synced is not None and synced.count > self._tip.count:
                        self._tip = synced
                    self._state.notify_all()

    def close_for_writes(self) -> int:
        """Stops all appends (a split or merge closes the shard) and returns the final record count."""
        with self._append_lock:
            self._closed_for_writes = True
            if self._active is not None and self._log_fd >= 0:
                with self._sync_lock:
                    _fdatasync(self._log_fd)
                    os.fsync(self._idx_fd)
            with self._state:
                segment = self._active
                self._tip = Tip(self._count, segment.base if segment else self._count,
                                segment.size if segment else 0, self._last_arrival)
                self._state.notify_all()
            return self._count

    def reopen_for_writes(self) -> None:
        """Undoes `close_for_writes` when the resharding it was part of failed."""
        with self._append_lock:
            self._closed_for_writes = False

    @property
    def closed_for_writes(self) -> bool:
        return self._closed_for_writes

    # ------------------------------------------------------------------ reading

    def tip(self) -> Tip:
        with self._state:
            return self._tip

    def first_ordinal(self) -> int:
        with self._state:
            segments = self._segments
            return segments[0].base if segments else self._tip.count

    def _snapshot(self) -> tuple[list[Segment], Tip]:
        with self._state:
            return self._segments, self._tip

    @staticmethod
    def _readable_end(segment: Segment, tip: Tip) -> int:
        if segment.base < tip.segment:
            return segment.size
        return tip.offset if segment.base == tip.segment else 0

    def wait_for(self, ordinal: int, timeout: float) -> bool:
        """Blocks until a record at or after `ordinal` is durable, or the timeout passes (for subscribers)."""
        with self._state:
            return self._state.wait_for(lambda: self._tip.count > ordinal or self._closed_for_writes, timeout)

    def read(self, ordinal: int, position: Position | None, max_records: int, max_bytes: int) -> ReadResult:
        """Durable records from `ordinal` on; records trimmed away are skipped to the oldest one kept."""
        segments, tip = self._snapshot()
        if segments and ordinal < segments[0].base:
            ordinal, position = segments[0].base, None
        if not segments or ordinal >= tip.count:
            return ReadResult([], ordinal, position, tip, 0)
        records: list[LogRecord] = []
        total = 0
        i = bisect.bisect_right([s.base for s in segments], ordinal) - 1
        hint = position.offset if position is not None and position.segment == segments[i].base else None
        while True:
            segment = segments[i]
            try:
                ordinal, offset, total, full = self._read_segment(
                    segment, self._readable_end(segment, tip), ordinal, hint, records, max_records, total, max_bytes)
            except FileNotFoundError:
                if records:
                    return ReadResult(records, ordinal, None, tip, total)
                if segment in self._snapshot()[0]:
                    # Not trimmed: the whole log is gone (its stream was deleted).
                    return ReadResult([], ordinal, None, tip, 0)
                # Trimmed away while we looked: carry on from what is left.
                return self.read(max(ordinal, self.first_ordinal()), None, max_records, max_bytes)
            if full or ordinal >= tip.count or i + 1 >= len(segments) or segments[i + 1].base != ordinal:
                return ReadResult(records, ordinal, Position(segment.base, offset), tip, total)
            i += 1
            hint = 0

    def _read_segment(self, segment: Segment, end: int, ordinal: int, hint: int | None, records: list[LogRecord],
                      max_records: int, total: int, max_bytes: int) -> tuple[int, int, int, bool]:
        """Appends records of one segment from `ordinal`; returns (next ordinal, its offset, bytes, full)."""
        fd = os.open(segment.log_path, os.O_RDONLY)
        try:
            if hint is not None:
                try:
                    return _scan(fd, hint, end, ordinal, records, max_records, total, max_bytes, True)
                except _BadHint:
                    pass
            return _scan(fd, segment.entry_at_or_before(ordinal), end, ordinal, records, max_records, total,
                         max_bytes, False)
        except LogCorruptionError as exc:
            raise LogCorruptionError(f"{segment.log_path}: {exc}") from None
        finally:
            os.close(fd)

    def seek_time(self, arrival_ms: int) -> int:
        """The ordinal of the first durable record that arrived at or after `arrival_ms` (the tip if none)."""
        segments, tip = self._snapshot()
        if not segments:
            return tip.count
        firsts = [s.first_arrival if s.first_arrival is not None else tip.last_arrival_ms + 1 for s in segments]
        i = bisect.bisect_left(firsts, arrival_ms)
        if i == 0:
            return segments[0].base
        segment = segments[i - 1]
        end = self._readable_end(segment, tip)
        offset = segment.entry_before_time(arrival_ms)
        with contextlib.suppress(FileNotFoundError):
            fd = os.open(segment.log_path, os.O_RDONLY)
            try:
                frames = _Frames(fd, offset, end)
                while (frame := frames.next()) is not None:
                    ordinal, arrival, body, _ = frame
                    if ordinal >= tip.count:
                        break
                    if arrival >= arrival_ms:
                        return int(ordinal)
                    frames.pos += FRAME.size + len(body)
            finally:
                os.close(fd)
        return segments[i].base if i < len(segments) else tip.count

    def arrival_of(self, ordinal: int) -> int | None:
        """The arrival time of one durable record (MillisBehindLatest for a consumer that is behind)."""
        result = self.read(ordinal, None, 1, 1)
        return result.records[0].arrival_ms if result.records else None

    # ------------------------------------------------------------------ retention and removal

    def trim(self, horizon_ms: int) -> int:
        """Deletes whole sealed segments whose every record arrived before `horizon_ms`; returns how many."""
        removed: list[Segment] = []
        with self._append_lock:
            segments = self._segments
            keep_from = 0
            for i in range(len(segments) - 1):
                following = segments[i + 1].first_arrival
                if following is None or following >= horizon_ms:
                    break
                keep_from = i + 1
            if keep_from:
                removed = segments[:keep_from]
                with self._state:
                    self._segments = segments[keep_from:]
        for segment in removed:
            for path in (segment.log_path, segment.idx_path):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        if removed:
            fsync_dir(self.directory)
        return len(removed)

    def size_bytes(self) -> int:
        segments, _ = self._snapshot()
        return sum(s.size for s in segments)

    def close(self) -> None:
        with self._append_lock:
            self._closed_for_writes = True
            if self._log_fd >= 0:
                with self._sync_lock:
                    with contextlib.suppress(OSError):
                        _fdatasync(self._log_fd)
                    os.close(self._log_fd)
                    os.close(self._idx_fd)
                    self._log_fd = self._idx_fd = -1
                    if self._active is not None:
                        self._active.sealed = True
        with self._state:
            self._state.notify_all()

    def destroy(self) -> None:
        """Closes the log and removes its files (the stream was deleted or the shard expired)."""
        self.close()
        shutil.rmtree(self.directory, ignore_errors=True)
