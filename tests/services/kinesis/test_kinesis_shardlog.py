"""The shard log engine on its own: framing, segments, index lookups, torn tails, retention, group commit."""

from __future__ import annotations

import os
import struct
import threading
from pathlib import Path

import pytest

from fogbank.services.kinesis.shardlog import (
    ENTRY,
    FRAME,
    INDEX_INTERVAL,
    LogCorruptionError,
    ShardClosedError,
    ShardLog,
)

SEGMENT = 64 * 1024


def fill(log: ShardLog, batches: int, per_batch: int, start_ms: int = 1_000, size: int = 100) -> list[bytes]:
    written: list[bytes] = []
    for b in range(batches):
        batch = [(f"key-{b}-{i}".encode(), os.urandom(size)) for i in range(per_batch)]
        result = log.append(batch, start_ms + b)
        assert result.first_ordinal == b * per_batch
        written.extend(data for _, data in batch)
    return written


def read_all(log: ShardLog, limit: int = 333) -> list[bytes]:
    out: list[bytes] = []
    ordinal, position = 0, None
    while True:
        result = log.read(ordinal, position, limit, 10 << 20)
        if not result.records:
            return out
        assert [r.ordinal for r in result.records] == list(range(ordinal, ordinal + len(result.records)))
        out.extend(r.data for r in result.records)
        ordinal, position = result.next_ordinal, result.next_position


def test_records_round_trip_across_segments(tmp_path: Path) -> None:
    log = ShardLog(tmp_path / "shard", segment_bytes=SEGMENT)
    written = fill(log, 40, 50)
    assert len(log._segments) > 3  # small segments: the test crosses several boundaries
    assert read_all(log) == written
    assert read_all(log, limit=10_000) == written
    log.close()


def test_lookup_by_ordinal_reads_one_record_anywhere(tmp_path: Path) -> None:
    log = ShardLog(tmp_path / "shard", segment_bytes=SEGMENT)
    written = fill(log, 40, 50)
    for ordinal in (0, 1, 49, 50, 777, 1234, 1999):
        result = log.read(ordinal, None, 1, 1 << 20)
        assert [r.ordinal for r in result.records] == [ordinal]
        assert result.records[0].data == written[ordinal]
        assert result.records[0].partition_key == f"key-{ordinal // 50}-{ordinal % 50}"
    assert log.read(2000, None, 5, 1 << 20).records == []
    log.close()


def test_seek_by_arrival_time(tmp_path: Path) -> None:
    log = ShardLog(tmp_path / "shard", segment_bytes=SEGMENT)
    fill(log, 40, 50, start_ms=10_000)
    # batch b arrived at 10_000 + b and holds ordinals 50b .. 50b+49
    assert log.seek_time(0) == 0
    assert log.seek_time(10_000) == 0
    assert log.seek_time(10_001) == 50
    assert log.seek_time(10_017) == 17 * 50
    assert log.seek_time(10_039) == 39 * 50
    assert log.seek_time(10_040) == 2000
    log.close()


def test_arrival_times_never_go_backwards(tmp_path: Path) -> None:
    log = ShardLog(tmp_path / "shard")
    log.append([(b"a", b"1")], 5_000)
    result = log.append([(b"a", b"2")], 4_000)  # the clock stepped back
    assert result.arrival_ms == 5_000
    assert [r.arrival_ms for r in log.read(0, None, 10, 1 << 20).records] == [5_000, 5_000]
    log.close()


def test_reopen_keeps_everything_and_continues_numbering(tmp_path: Path) -> None:
    log = ShardLog(tmp_path / "shard", segment_bytes=SEGMENT)
    written = fill(log, 20, 50)
    log.close()
    again = ShardLog(tmp_path / "shard", segment_bytes=SEGMENT)
    assert again.tip().count == 1000
    assert again.append([(b"k", b"more")], 99_999).first_ordinal == 1000
    assert read_all(again) == [*written, b"more"]
    again.close()


def test_torn_tail_is_cut_at_the_last_whole_record(tmp_path: Path) -> None:
    log = ShardLog(tmp_path / "shard", segment_bytes=SEGMENT)
    written = fill(log, 5, 10)
    log.close()
    last = sorted((tmp_path / "shard").glob("*.log"))[-1]
    good_size = last.stat().st_size
    # A crash in the middle of a write: a frame header that promises more bytes than follow.
    with open(last, "ab") as handle:
        handle.write(struct.pack("<II", 500, 0) + b"partial")
    again = ShardLog(tmp_path / "shard", segment_bytes=SEGMENT)
    assert last.stat().st_size == good_size
    assert again.tip().count == 50
    assert read_all(again) == written
    again.append([(b"k", b"after")], 9_999)
    assert read_all(again) == [*written, b"after"]
    again.close()


def test_corrupt_record_in_the_tail_is_cut_with_everything_after_it(tmp_path: Path) -> None:
    log = ShardLog(tmp_path / "shard")
    written = fill(log, 1, 10)
    log.close()
    path = next((tmp_path / "shard").glob("*.log"))
    raw = bytearray(path.read_bytes())
    frame_length = FRAME.size + struct.unpack_from("<I", raw, 0)[0]
    raw[7 * frame_length + FRAME.size + 20] ^= 0xFF  # flip a byte inside record 7's body
    path.write_bytes(bytes(raw))
    again = ShardLog(tmp_path / "shard")
    assert again.tip().count == 7
    assert read_all(again) == written[:7]
    again.close()


def test_lost_index_tail_is_rebuilt_from_the_log(tmp_path: Path) -> None:
    log = ShardLog(tmp_path / "shard")
    written = fill(log, 30, 50)
    log.close()
    idx = next((tmp_path / "shard").glob("*.idx"))
    entries = idx.stat().st_size // ENTRY.size
    assert entries > 3
    with open(idx, "r+b") as handle:  # keep one and a half entries
        handle.truncate(ENTRY.size + ENTRY.size // 2)
    again = ShardLog(tmp_path / "shard")
    assert idx.stat().st_size == entries * ENTRY.size
    assert again.read(1234, None, 1, 1 << 20).records[0].data == written[1234]
    again.close()


def test_damaged_sealed_index_is_rebuilt(tmp_path: Path) -> None:
    log = ShardLog(tmp_path / "shard", segment_bytes=SEGMENT)
    written = fill(log, 20, 50)
    log.close()
    first_idx = sorted((tmp_path / "shard").glob("*.idx"))[0]
    first_idx.write_bytes(b"\x01\x02\x03")
    again = ShardLog(tmp_path / "shard", segment_bytes=SEGMENT)
    assert again.read(3, None, 1, 1 << 20).records[0].data == written[3]
    assert read_all(again) == written
    again.close()


def test_corruption_inside_durable_data_is_reported_not_skipped(tmp_path: Path) -> None:
    log = ShardLog(tmp_path / "shard", segment_bytes=SEGMENT)
    fill(log, 20, 50)
    first = sorted((tmp_path / "shard").glob("*.log"))[0]
    raw = bytearray(first.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    first.write_bytes(bytes(raw))
    with pytest.raises(LogCorruptionError):
        read_all(log, limit=10_000)
    log.close()


def test_trim_deletes_only_whole_expired_segments(tmp_path: Path) -> None:
    log = ShardLog(tmp_path / "shard", segment_bytes=SEGMENT)
    written = fill(log, 40, 50, start_ms=10_000)
    segments = len(log._segments)
    removed = log.trim(10_020)
    assert 0 < removed < segments
    first = log.first_ordinal()
    assert 0 < first <= 20 * 50
    # every record that arrived at or after the horizon is still there, in order
    result = log.read(0, None, 10_000, 10 << 20)
    assert result.records[0].ordinal == first
    assert [r.data for r in result.records] == written[first:]
    remaining = len(log._segments)
    assert log.trim(10_000_000) == remaining - 1
    assert len(log._segments) == 1  # the active segment always stays
    log.close()


def test_closed_for_writes_refuses_appends_but_serves_reads(tmp_path: Path) -> None:
    log = ShardLog(tmp_path / "shard")
    fill(log, 1, 3)
    assert log.close_for_writes() == 3
    with pytest.raises(ShardClosedError):
        log.append([(b"k", b"late")], 5_000)
    assert len(log.read(0, None, 10, 1 << 20).records) == 3
    log.reopen_for_writes()
    assert log.append([(b"k", b"again")], 5_000).first_ordinal == 3
    log.close()


def test_concurrent_writers_get_distinct_ordered_records(tmp_path: Path) -> None:
    log = ShardLog(tmp_path / "shard", segment_bytes=SEGMENT)
    results: dict[int, list[tuple[int, bytes]]] = {}

    def writer(n: int) -> None:
        mine: list[tuple[int, bytes]] = []
        for i in range(30):
            batch = [(f"w{n}".encode(), f"{n}:{i}:{j}".encode()) for j in range(7)]
            first = log.append(batch, 1_000).first_ordinal
            mine.extend((first + j, data) for j, (_, data) in enumerate(batch))
        results[n] = mine

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = sorted(item for mine in results.values() for item in mine)
    assert [o for o, _ in everything] == list(range(6 * 30 * 7))
    assert read_all(log) == [data for _, data in everything]
    # each writer's own records keep their order
    for n, mine in results.items():
        assert [d for _, d in mine] == [f"{n}:{i}:{j}".encode() for i in range(30) for j in range(7)]
    log.close()


def test_index_stays_sparse(tmp_path: Path) -> None:
    log = ShardLog(tmp_path / "shard")
    fill(log, 20, 50, size=100)
    entries = len(log._segments[0].offsets)
    size = log.size_bytes()
    assert size // INDEX_INTERVAL <= entries <= size // INDEX_INTERVAL + 1
    log.close()
