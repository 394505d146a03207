"""A Kinesis data stream as the source of a delivery stream, read in-process through the Kinesis store.

The Kinesis shard logs are themselves durable, so nothing is copied: the delivery checkpoint keeps the next
ordinal to deliver of every shard, committed together with the batch that moved it. Records read ahead of
the checkpoint wait in memory (bounded) until a batch takes them. A child shard is read only once its
parents are read to their end, so each partition key's records stay in order across a reshard. Reading
starts at LATEST when the delivery stream is created, as Firehose does.

Everything this module knows about the Kinesis store is in this file.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from fogbank.services.firehose.processing import SourceRecord

log = logging.getLogger("fogbank.firehose")

STREAM_ARN = re.compile(r"^arn:aws[a-z-]*:kinesis:([a-z0-9-]+):(\d{12}):stream/([a-zA-Z0-9_.-]{1,128})$")
READ_RECORDS = 1000
READ_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class StreamRef:
    region: str
    account: str
    name: str


def parse_arn(arn: str) -> StreamRef | None:
    match = STREAM_ARN.match(arn)
    return StreamRef(match.group(1), match.group(2), match.group(3)) if match else None


@dataclass
class _Pending:
    shard: int
    ordinal: int
    read_ms: int
    record: SourceRecord


def _sequence(shard: Any, ordinal: int) -> str:
    """The record's Kinesis sequence number, as GetRecords shows it."""
    from fogbank.services.kinesis.api_base import record_sequence

    return str(record_sequence(shard, ordinal))


class KinesisSource:
    """Reads one Kinesis stream for one delivery stream; positions live in the caller's checkpoint."""

    def __init__(self, kinesis: Any, arn: str, state: dict[str, Any] | None) -> None:
        self.kinesis = kinesis
        self.arn = arn
        ref = parse_arn(arn)
        assert ref is not None
        self.ref = ref
        state = state or {}
        self.stream_id: str | None = state.get("stream_id")
        self.positions: dict[int, int] = {int(k): int(v) for k, v in (state.get("positions") or {}).items()}
        self._cursor = dict(self.positions)
        self._pending: deque[_Pending] = deque()
        self._bytes = 0
        self._lock = threading.Lock()
        self._warned = False

    @property
    def store(self) -> Any:
        return self.kinesis.store

    def _stream(self) -> Any:
        return self.store.find((self.ref.account, self.ref.region), self.ref.name)

    def exists(self) -> bool:
        return self._stream() is not None

    def start_at_latest(self) -> dict[str, Any]:
        """The state of a new delivery stream: every shard's position at its current tip."""
        stream = self._stream()
        if stream is None:
            raise LookupError(self.ref.name)
        positions: dict[int, int] = {}
        for shard in self.store.iter_shards(stream):
            end = shard.end_count if shard.end_count is not None else self.store.log(stream, shard).tip().count
            positions[shard.index] = end
        self.stream_id = stream.stream_id
        self.positions = positions
        self._cursor = dict(positions)
        return self.state()

    def state(self, positions: dict[int, int] | None = None) -> dict[str, Any]:
        chosen = self.positions if positions is None else positions
        return {"stream_id": self.stream_id, "positions": {str(k): v for k, v in sorted(chosen.items())}}

    # -- reading ahead ---------------------------------------------------------------------------------

    def poll(self, max_pending_bytes: int) -> None:
        """Reads new records into memory until `max_pending_bytes` wait or every shard is drained."""
        stream = self._stream()
        if stream is None:
            if not self._warned:
                log.warning("Kinesis stream %s, the source of a delivery stream, does not exist", self.arn)
                self._warned = True
            return
        self._warned = False
        if self.stream_id != stream.stream_id:
            # The stream was deleted and created again under the same name: start over at its LATEST.
            with self._lock:
                self._pending.clear()
                self._bytes = 0
            self.start_at_latest()
            return
        shards = {s.index: s for s in self.store.iter_shards(stream)}
        for shard in sorted(shards.values(), key=lambda s: s.index):
            if self._bytes >= max_pending_bytes:
                return
            if not self._parents_done(shard, shards):
                continue
            shard_log = self.store.log(stream, shard)
            ordinal = self._cursor.get(shard.index)
            if ordinal is None:
                ordinal = shard_log.first_ordinal()
                self._cursor[shard.index] = ordinal
                self.positions.setdefault(shard.index, ordinal)
            if shard.end_count is not None and ordinal >= shard.end_count:
                continue
            result = shard_log.read(ordinal, None, READ_RECORDS, READ_BYTES)
            now = int(time.time() * 1000)
            with self._lock:
                for record in result.records:
                    self._pending.append(_Pending(shard.index, record.ordinal, now,
                                                 self._source_record(shard, record)))
                    self._bytes += len(record.data)
                self._cursor[shard.index] = result.next_ordinal

    def _parents_done(self, shard: Any, shards: dict[int, Any]) -> bool:
        for parent_index in (shard.parent, shard.adjacent_parent):
            if parent_index is None or parent_index not in shards:
                continue
            parent = shards[parent_index]
            if parent.end_count is None or self._cursor.get(parent_index, 0) < parent.end_count:
                return False
        return True

    def _source_record(self, shard: Any, record: Any) -> SourceRecord:
        metadata = {"shardId": shard.shard_id, "partitionKey": record.partition_key,
                    "approximateArrivalTimestamp": record.arrival_ms,
                    "sequenceNumber": _sequence(shard, record.ordinal), "subsequenceNumber": 0}
        return SourceRecord(bytes(record.data), record.arrival_ms, f"{shard.index}:{record.ordinal}", metadata)

    # -- batches ---------------------------------------------------------------------------------------

    def pending(self) -> tuple[int, int, int | None]:
        with self._lock:
            oldest = self._pending[0].read_ms if self._pending else None
            return len(self._pending), self._bytes, oldest

    def plan(self, max_bytes: int) -> dict[str, Any] | None:
        """The next batch as an intent: per shard, the ordinals [start, end) it delivers."""
        with self._lock:
            total = 0
            end: dict[int, int] = {}
            for taken, item in enumerate(self._pending):
                size = len(item.record.data)
                if taken and total + size > max_bytes:
                    break
                total += size
                end[item.shard] = item.ordinal + 1
            if not end:
                return None
        start = {shard: min(self.positions.get(shard, 0), stop) for shard, stop in end.items()}
        return {"stream_id": self.stream_id, "start": {str(k): v for k, v in start.items()},
                "end": {str(k): v for k, v in end.items()}}

    def records(self, plan: dict[str, Any]) -> list[SourceRecord]:
        """The batch's records: from memory, or read again from the shard logs after a restart."""
        end = {int(k): int(v) for k, v in plan["end"].items()}
        start = {int(k): int(v) for k, v in plan["start"].items()}
        with self._lock:
            chosen = [p for p in self._pending if p.shard in end and start[p.shard] <= p.ordinal < end[p.shard]]
        last: dict[int, int] = {}
        for item in chosen:
            last[item.shard] = max(last.get(item.shard, -1), item.ordinal)
        if not all(last.get(shard) == stop - 1 for shard, stop in end.items()):
            chosen = self._read_again(start, end)
        chosen.sort(key=lambda p: (p.record.arrival_ms, p.shard, p.ordinal))
        return [p.record for p in chosen]

    def _read_again(self, start: dict[int, int], end: dict[int, int]) -> list[_Pending]:
        stream = self._stream()
        if stream is None:
            return []
        shards = {s.index: s for s in self.store.iter_shards(stream)}
        out: list[_Pending] = []
        for index, stop in end.items():
            shard = shards.get(index)
            if shard is None:
                continue
            shard_log = self.store.log(stream, shard)
            ordinal = start[index]
            while ordinal < stop:
                result = shard_log.read(ordinal, None, min(READ_RECORDS, stop - ordinal), READ_BYTES)
                if not result.records:
                    break
                for record in result.records:
                    if record.ordinal < stop:
                        out.append(_Pending(index, record.ordinal, 0, self._source_record(shard, record)))
                ordinal = result.next_ordinal
        return out

    def committed(self, plan: dict[str, Any]) -> dict[str, Any]:
        """The checkpoint state once the batch is delivered."""
        positions = dict(self.positions)
        positions.update({int(k): int(v) for k, v in plan["end"].items()})
        return self.state(positions)

    def release(self, plan: dict[str, Any]) -> None:
        """Moves past a delivered (and checkpointed) batch."""
        end = {int(k): int(v) for k, v in plan["end"].items()}
        with self._lock:
            self.positions.update(end)
            kept: deque[_Pending] = deque()
            for item in self._pending:
                if item.shard in end and item.ordinal < end[item.shard]:
                    self._bytes -= len(item.record.data)
                else:
                    kept.append(item)
            self._pending = kept
            for shard, stop in end.items():
                if self._cursor.get(shard, 0) < stop:
                    self._cursor[shard] = stop
