"""Kinesis data-plane operations: PutRecord(s), GetShardIterator and GetRecords."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

from fogbank.context import RequestContext
from fogbank.protocol.dispatch import operation
from fogbank.services.kinesis.api_base import KinesisOperations, record_sequence
from fogbank.services.kinesis.errors import (
    DryRunOperationException,
    ExpiredIteratorException,
    InvalidArgumentException,
    ProvisionedThroughputExceededException,
    ResourceNotFoundException,
    ValidationException,
)
from fogbank.services.kinesis.identifiers import MAX_HASH_KEY, hash_key_of, parse_sequence, sequence_prefix, shard_id
from fogbank.services.kinesis.metadata import ShardMeta, StreamMeta
from fogbank.services.kinesis.shardlog import LogRecord, Position, ReadResult, ShardLog
from fogbank.services.kinesis.tokens import NO_SEGMENT, IteratorState

MiB = 1024 * 1024
MAX_REQUEST_BYTES = 5 * MiB
MAX_RESPONSE_BYTES = 10 * MiB
ITERATOR_LIFETIME_MS = 300_000
DEFAULT_GET_LIMIT = 10_000


def _java_date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%a %b %d %H:%M:%S UTC %Y")


def _validation(errors: list[str]) -> ValidationException:
    count = len(errors)
    return ValidationException(f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(errors))


class RecordOperations(KinesisOperations):
    # ------------------------------------------------------------------ writing

    def _entry(self, stream: StreamMeta, record: dict[str, Any], path: str, errors: list[str]) -> tuple[int, bytes,
                                                                                                         bytes]:
        """(hash key, UTF-8 partition key, data) of one record; constraint violations are collected in `errors`."""
        data: bytes = record.get("Data", b"")
        key: str | None = record.get("PartitionKey")
        limit = stream.max_record_kib * 1024
        if len(data) > limit:
            errors.append(f"Value at '{path}data' failed to satisfy constraint: Member must have length less than "
                          f"or equal to {limit}")
        raw = b""
        if key is None:
            if stream.distribution != "AUTO":
                errors.append(f"Value null at '{path}partitionKey' failed to satisfy constraint: Member must not be "
                              "null")
        else:
            try:
                raw = key.encode("utf-8")
            except UnicodeEncodeError:
                errors.append(f"Value at '{path}partitionKey' failed to satisfy constraint: Member must be valid "
                              "Unicode")
        explicit = record.get("ExplicitHashKey")
        if explicit is not None:
            hash_key = int(explicit)
            if hash_key > MAX_HASH_KEY:
                raise InvalidArgumentException(
                    "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value "
                    f"was {explicit}")
        elif raw:
            hash_key = hash_key_of(raw)
        else:
            hash_key = secrets.randbelow(MAX_HASH_KEY + 1)
        return hash_key, raw, data

    def _throttled_message(self, stream: StreamMeta, shard: ShardMeta) -> str:
        return f"Rate exceeded for shard {shard.shard_id} in stream {stream.name} under account {stream.account}."

    @operation("PutRecord")
    def put_record(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, req, data_plane=True)
        errors: list[str] = []
        entry = self._entry(stream, req, "", errors)
        if errors:
            raise _validation(errors)
        ordering = req.get("SequenceNumberForOrdering")
        if ordering is not None:
            parsed = parse_sequence(ordering)
            if parsed is None or parsed.epoch_ms > self.store.now_ms():
                raise InvalidArgumentException(
                    f"ExclusiveMinimumSequenceNumber {ordering} used in PutRecord on stream {stream.name} under "
                    f"account {stream.account} is invalid.")
        if req.get("DryRun"):
            raise DryRunOperationException("Request would have succeeded, but DryRun flag is set.")
        written = self.store.put(stream, [entry])[0]
        if written.ordinal is None:
            raise ProvisionedThroughputExceededException(self._throttled_message(stream, written.shard))
        out = {"ShardId": written.shard.shard_id, "SequenceNumber": record_sequence(written.shard, written.ordinal)}
        if stream.encryption_type == "KMS":
            out["EncryptionType"] = "KMS"
        return out

    @operation("PutRecords")
    def put_records(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, req, data_plane=True)
        records: list[dict[str, Any]] = req["Records"]
        errors: list[str] = []
        entries: list[tuple[int, bytes, bytes]] = []
        limit = stream.max_record_kib * 1024
        md5 = hashlib.md5
        for i, record in enumerate(records, 1):
            # The common record (a key, no explicit hash, not too large) takes the short way.
            data, key = record.get("Data", b""), record.get("PartitionKey")
            if key is not None and len(data) <= limit and "ExplicitHashKey" not in record:
                try:
                    raw = key.encode("utf-8")
                except UnicodeEncodeError:
                    pass
                else:
                    entries.append((int.from_bytes(md5(raw, usedforsecurity=False).digest(), "big"), raw, data))
                    continue
            entries.append(self._entry(stream, record, f"records.{i}.member.", errors))
        if errors:
            raise _validation(errors)
        total = sum(len(data) + len(key) for _, key, data in entries)
        if total > MAX_REQUEST_BYTES:
            raise InvalidArgumentException(
                f"Records size exceeds 5 MB limit: the request's records and partition keys total {total} bytes.")
        if req.get("DryRun"):
            raise DryRunOperationException("Request would have succeeded, but DryRun flag is set.")
        results = []
        failed = 0
        prefixes: dict[int, str] = {}
        for written in self.store.put(stream, entries):
            shard = written.shard
            if written.ordinal is None:
                failed += 1
                results.append({"ErrorCode": "ProvisionedThroughputExceededException",
                                "ErrorMessage": self._throttled_message(stream, shard)})
                continue
            prefix = prefixes.get(shard.index)
            if prefix is None:
                prefix = prefixes[shard.index] = sequence_prefix(shard.epoch_ms, shard.index)
            results.append({"SequenceNumber": f"{prefix}{written.ordinal + 1:029d}", "ShardId": shard.shard_id})
        out: dict[str, Any] = {"FailedRecordCount": failed, "Records": results}
        if stream.encryption_type == "KMS":
            out["EncryptionType"] = "KMS"
        return out

    # ------------------------------------------------------------------ positions

    def _start_ordinal(self, stream: StreamMeta, shard: ShardMeta, kind: str, sequence: str | None,
                       timestamp: datetime | None, operation_name: str) -> int:
        """The ordinal of the first record an iterator (or subscription) of this type reads."""
        shard_log = self.store.log(stream, shard)
        tip = shard_log.tip().count
        end = shard.end_count if shard.end_count is not None else tip
        if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            assert sequence is not None
            parsed = parse_sequence(sequence)
            if parsed is None:
                raise InvalidArgumentException(
                    f"StartingSequenceNumber {sequence} used in {operation_name} on shard {shard.shard_id} in stream "
                    f"{stream.name} under account {stream.account} is invalid.")
            if parsed.shard_index != shard.index:
                raise InvalidArgumentException(
                    f"Invalid StartingSequenceNumber. It encodes {shard_id(parsed.shard_index)}, while it was used "
                    f"in a call to a shard with {shard.shard_id}")
            if parsed.epoch_ms != shard.epoch_ms:
                raise InvalidArgumentException(
                    f"StartingSequenceNumber {sequence} used in {operation_name} on shard {shard.shard_id} in stream "
                    f"{stream.name} under account {stream.account} is invalid because it did not come from this "
                    "stream.")
            # Field n of a sequence number is record n-1; field 0 is the position before the first record.
            ordinal = max(parsed.ordinal - 1, 0) if kind == "AT_SEQUENCE_NUMBER" else parsed.ordinal
            return min(ordinal, end)
        if kind == "LATEST":
            return end
        horizon = self.store.horizon_ms(stream)
        if kind == "TRIM_HORIZON":
            return max(shard_log.first_ordinal(), shard_log.seek_time(horizon))
        assert timestamp is not None
        return min(shard_log.seek_time(max(int(timestamp.timestamp() * 1000), horizon)), end)

    @operation("GetShardIterator")
    def get_shard_iterator(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, req, data_plane=True)
        shard = self._shard(stream, req["ShardId"])
        kind = req["ShardIteratorType"]
        sequence = req.get("StartingSequenceNumber")
        timestamp = req.get("Timestamp")
        if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER") and sequence is None:
            raise InvalidArgumentException(
                "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or "
                "(2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
                f"Request specified {kind} and no StartingSequenceNumber.")
        if kind in ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP") and sequence is not None:
            raise InvalidArgumentException(
                "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or "
                "(2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
                f"Request specified {kind} and also a StartingSequenceNumber.")
        if kind == "AT_TIMESTAMP" and timestamp is None:
            raise InvalidArgumentException(
                "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has "
                "no timestamp parameter.")
        if kind != "AT_TIMESTAMP" and timestamp is not None:
            raise InvalidArgumentException(
                f"The timestampInMillis parameter cannot be used with ShardIteratorType: {kind}")
        ordinal = self._start_ordinal(stream, shard, kind, sequence, timestamp, "GetShardIterator")
        if req.get("DryRun"):
            raise DryRunOperationException("Request would have succeeded, but DryRun flag is set.")
        state = IteratorState(stream.db_id, stream.name, shard.index, ordinal, NO_SEGMENT, NO_SEGMENT,
                              self.store.now_ms())
        return {"ShardIterator": self.store.tokens.iterator(ctx.scope, state)}

    # ------------------------------------------------------------------ reading

    def _read(self, stream: StreamMeta, shard: ShardMeta, shard_log: ShardLog, ordinal: int,
              position: Position | None, limit: int) -> ReadResult:
        """Reads from `ordinal`, skipping records that retention has expired."""
        result = shard_log.read(ordinal, position, limit, MAX_RESPONSE_BYTES)
        horizon = self.store.horizon_ms(stream)
        if result.records and result.records[0].arrival_ms < horizon:
            start = max(shard_log.seek_time(horizon), ordinal)
            result = shard_log.read(start, None, limit, MAX_RESPONSE_BYTES)
        return result

    def _records(self, shard: ShardMeta, records: list[LogRecord], encryption: str) -> list[dict[str, Any]]:
        # Arrival times go out as epoch seconds, which the serializer writes as they are: up to 10,000 records
        # per response make a datetime per record a measurable share of GetRecords.
        prefix = sequence_prefix(shard.epoch_ms, shard.index)
        encryption_type = "KMS" if encryption == "KMS" else None
        return [{"SequenceNumber": f"{prefix}{r.ordinal + 1:029d}", "ApproximateArrivalTimestamp": r.arrival_ms / 1000,
                 "Data": r.data, "PartitionKey": r.partition_key or None, "EncryptionType": encryption_type}
                for r in records]

    def _behind(self, shard_log: ShardLog, result: ReadResult, now_ms: int) -> int:
        """MillisBehindLatest: 0 at the tip, else the age of the last record returned (or of the next one)."""
        if result.next_ordinal >= result.tip.count:
            return 0
        if result.records:
            return max(0, now_ms - result.records[-1].arrival_ms)
        arrival = shard_log.arrival_of(result.next_ordinal)
        return max(0, now_ms - arrival) if arrival is not None else 0

    @operation("GetRecords")
    def get_records(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        token = req["ShardIterator"]
        state = self.store.tokens.open_iterator(ctx.scope, token)
        if state is None:
            raise InvalidArgumentException("Invalid ShardIterator.")
        now = self.store.now_ms()
        if now - state.issued_ms > ITERATOR_LIFETIME_MS:
            raise ExpiredIteratorException(
                f"Iterator expired. The iterator was created at time {_java_date(state.issued_ms)} while right now "
                f"it is {_java_date(now)} which is further in the future than the tolerated delay of "
                f"{ITERATOR_LIFETIME_MS} milliseconds.")
        stream = self.store.find(ctx.scope, state.stream_name)
        shard = stream.shards.get(state.shard_index) if stream is not None else None
        if stream is None or shard is None:
            raise ResourceNotFoundException(
                f"Shard {shard_id(state.shard_index)} in stream {state.stream_name} under account "
                f"{ctx.account_id} does not exist")
        if req.get("StreamARN") and req["StreamARN"] != self._arn(stream):
            raise InvalidArgumentException(f"The ShardIterator does not belong to stream {req['StreamARN']}.")
        if not self.store.throttles.may_read(stream.db_id, shard.index) and stream.mode != "ON_DEMAND":
            raise ProvisionedThroughputExceededException(
                f"Rate exceeded for Shard - {shard.shard_id} in stream {stream.name} under account "
                f"{stream.account}.")
        same_stream = stream.db_id == state.stream_db_id
        position = (Position(state.segment, state.offset)
                    if same_stream and state.segment != NO_SEGMENT else None)
        shard_log = self.store.log(stream, shard)
        result = self._read(stream, shard, shard_log, state.ordinal, position, req.get("Limit") or DEFAULT_GET_LIMIT)
        if req.get("DryRun"):
            raise DryRunOperationException("Request would have succeeded, but DryRun flag is set.")
        self.store.throttles.charge_read(stream.db_id, shard.index, result.bytes_read)
        out: dict[str, Any] = {"Records": self._records(shard, result.records, stream.encryption_type),
                               "MillisBehindLatest": self._behind(shard_log, result, now)}
        finished = shard.end_count is not None and result.next_ordinal >= shard.end_count
        if finished:
            out["ChildShards"] = self._children(stream, shard)
        else:
            position = result.next_position
            following = IteratorState(stream.db_id, stream.name, shard.index, result.next_ordinal,
                                      position.segment if position else NO_SEGMENT,
                                      position.offset if position else NO_SEGMENT, now)
            out["NextShardIterator"] = self.store.tokens.iterator(ctx.scope, following)
        return out
