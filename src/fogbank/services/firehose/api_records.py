"""PutRecord and PutRecordBatch: a record is acknowledged only once it is fsynced in the stream's buffer log."""

from __future__ import annotations

from typing import Any

from fogbank.context import RequestContext
from fogbank.protocol.dispatch import operation
from fogbank.services.firehose.api_base import ACTIVE, FirehoseBase, now_ms
from fogbank.services.firehose.bufferlog import BufferLog, LogClosed
from fogbank.services.firehose.errors import (
    InvalidArgumentException,
    ResourceNotFoundException,
    ServiceUnavailableException,
)
from fogbank.services.firehose.runtime import DIRECT_PUT, StreamRuntime

MAX_RECORD_BYTES = 1_024_000
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024
SLOW_DOWN = "Slow down."


class RecordOperations(FirehoseBase):
    def _writable(self, ctx: RequestContext, name: str) -> tuple[StreamRuntime, BufferLog]:
        runtime = self._find(ctx, name)
        if runtime.meta.stream_type != DIRECT_PUT or runtime.log is None:
            raise InvalidArgumentException(f"This operation is not permitted on {runtime.meta.stream_type} delivery "
                                           "stream type.")
        if self._status(runtime) != ACTIVE:
            raise ResourceNotFoundException(f"Firehose {name} under account {ctx.account_id} is not ACTIVE yet; it "
                                            "accepts records once it is.")
        return runtime, runtime.log

    def _append(self, ctx: RequestContext, name: str, records: list[bytes]) -> tuple[StreamRuntime, int, int]:
        """Appends and fsyncs; returns (stream, first sequence number, how many records fitted the backlog)."""
        for data in records:
            if len(data) > MAX_RECORD_BYTES:
                raise InvalidArgumentException(f"Record size {len(data)} bytes exceeds the limit of "
                                               f"{MAX_RECORD_BYTES} bytes.")
        runtime, log = self._writable(ctx, name)
        try:
            first, count = log.append(records, now_ms(), self.max_backlog_bytes)
            log.wait_durable(first + count)
        except LogClosed:
            raise ResourceNotFoundException(f"Firehose {name} under account {ctx.account_id} not found.") from None
        destination = runtime.destination
        if destination.interval_s == 0 or log.pending()[1] >= destination.size_bytes:
            self.flusher.wake()
        return runtime, first, count

    @operation("PutRecord")
    def put_record(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        runtime, first, count = self._append(ctx, req["DeliveryStreamName"], [bytes(req["Record"]["Data"])])
        if not count:
            raise ServiceUnavailableException(SLOW_DOWN)
        return {"RecordId": runtime.record_id(first), "Encrypted": runtime.meta.encryption.get("Status") == "ENABLED"}

    @operation("PutRecordBatch")
    def put_record_batch(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        records = [bytes(r["Data"]) for r in req["Records"]]
        if len(records) > MAX_BATCH_RECORDS:
            raise InvalidArgumentException(f"A PutRecordBatch request holds at most {MAX_BATCH_RECORDS} records, "
                                           f"not {len(records)}.")
        total = sum(len(r) for r in records)
        if total > MAX_BATCH_BYTES:
            raise InvalidArgumentException(f"The records of a PutRecordBatch request total {total} bytes, more than "
                                           f"the limit of {MAX_BATCH_BYTES} bytes (4 MiB).")
        runtime, first, count = self._append(ctx, req["DeliveryStreamName"], records)
        responses: list[dict[str, Any]] = [{"RecordId": rid} for rid in runtime.record_ids(first, count)]
        responses.extend({"ErrorCode": "ServiceUnavailableException", "ErrorMessage": SLOW_DOWN}
                         for _ in range(len(records) - count))
        return {"FailedPutCount": len(records) - count, "RequestResponses": responses,
                "Encrypted": runtime.meta.encryption.get("Status") == "ENABLED"}
