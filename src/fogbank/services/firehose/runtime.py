"""One delivery stream at run time: its source, its checkpoint, and the exactly-once delivery of batches.

Delivering a batch is three durable steps. First the batch is planned and its plan (which records, its
number, the stream version and the time that names its objects) is written to the checkpoint as the intent.
Then its objects are written to S3. Then the checkpoint moves past the batch and the intent is cleared. A
crash after the first step replays exactly the same batch under exactly the same keys, so S3 ends up with
each record once whatever the moment of the crash.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from pathlib import Path
from typing import Any

from fogbank.errors import AwsError
from fogbank.services.firehose import delivery
from fogbank.services.firehose.bufferlog import BufferLog, Checkpoint
from fogbank.services.firehose.conversion import GlueCatalog
from fogbank.services.firehose.destination import Destination
from fogbank.services.firehose.functions import FunctionDirectory
from fogbank.services.firehose.kinesis_source import KinesisSource
from fogbank.services.firehose.metadata import StreamMeta
from fogbank.services.firehose.processing import Pipeline, SourceRecord

log = logging.getLogger("fogbank.firehose")

DIRECT_PUT = "DirectPut"
KINESIS_SOURCE = "KinesisStreamAsSource"
MAX_BACKOFF_S = 30.0


class StreamRuntime:
    """Thread-safe: writers append to the log; only the flusher plans and delivers, under `delivery_lock`."""

    def __init__(self, meta: StreamMeta, directory: Path, destination: Destination, functions: FunctionDirectory,
                 kinesis: Any = None) -> None:
        self.meta = meta
        self.dir = directory
        self.functions = functions
        self.checkpoint = Checkpoint(directory)
        self.delivery_lock = threading.Lock()
        self.closed = False
        self.retry_at = 0.0
        self.failures = 0
        self.last_error: str | None = None
        self.log: BufferLog | None = None
        self.kinesis: KinesisSource | None = None
        if meta.stream_type == DIRECT_PUT:
            self.log = BufferLog(directory / "log", int(self.checkpoint.state.get("delivered", 0)))
        else:
            arn = meta.source["KinesisStreamARN"]
            self.kinesis = KinesisSource(kinesis, arn, self.checkpoint.state.get("kinesis"))
        self.destination = destination
        self.pipeline = self._pipeline(destination)

    def _pipeline(self, destination: Destination) -> Pipeline:
        source_arn = self.meta.source.get("KinesisStreamARN") if self.kinesis is not None else None
        return Pipeline(destination.steps, self.functions, self.meta.arn, self.meta.region, source_arn)

    def set_destination(self, destination: Destination) -> None:
        self.destination = destination
        self.pipeline = self._pipeline(destination)

    def record_id(self, seq: int) -> str:
        return base64.b64encode(bytes.fromhex(self.meta.uid) + seq.to_bytes(8, "big")).decode()

    # -- the flush decision ----------------------------------------------------------------------------

    def pending(self) -> tuple[int, int, int | None]:
        if self.log is not None:
            return self.log.pending()
        assert self.kinesis is not None
        return self.kinesis.pending()

    def due(self, now_ms: int) -> bool:
        count, size, oldest = self.pending()
        if not count:
            return False
        destination = self.destination
        if size >= destination.size_bytes or destination.interval_s == 0:
            return True
        return oldest is not None and now_ms - oldest >= destination.interval_s * 1000

    def _plan(self, now_ms: int) -> dict[str, Any] | None:
        batch = int(self.checkpoint.state.get("batch", 0))
        intent: dict[str, Any] = {"batch": batch, "planned_ms": now_ms, "version": self.meta.version}
        if self.log is not None:
            count = self.log.plan(self.destination.size_bytes)
            if not count:
                return None
            start = self.log.delivered
            intent["direct"] = {"start": start, "end": start + count}
            return intent
        assert self.kinesis is not None
        plan = self.kinesis.plan(self.destination.size_bytes)
        if plan is None:
            return None
        intent["kinesis"] = plan
        return intent

    def _records(self, intent: dict[str, Any]) -> list[SourceRecord]:
        if "direct" in intent:
            assert self.log is not None
            rows = self.log.read(int(intent["direct"]["start"]), int(intent["direct"]["end"]))
            return [SourceRecord(data, arrival, self.record_id(seq)) for seq, arrival, data in rows]
        assert self.kinesis is not None
        return self.kinesis.records(intent["kinesis"])

    def _commit(self, intent: dict[str, Any]) -> None:
        batch = int(intent["batch"]) + 1
        if "direct" in intent:
            assert self.log is not None
            end = int(intent["direct"]["end"])
            self.checkpoint.save(delivered=end, batch=batch, intent=None)
            self.log.release(end)
            return
        assert self.kinesis is not None
        self.checkpoint.save(kinesis=self.kinesis.committed(intent["kinesis"]), batch=batch, intent=None)
        self.kinesis.release(intent["kinesis"])

    # -- delivery ---------------------------------------------------------------------------------------

    def step(self, s3: Any, catalog: GlueCatalog) -> bool:
        """Delivers the next batch if one is due (or replays the one in flight); True if it delivered one.

        Any failure (a missing bucket, an unreadable source, a full disk) leaves the checkpoint as it was and
        backs off before the next try; the same error is logged once, not at every try.
        """
        with self.delivery_lock:
            if self.closed or time.monotonic() < self.retry_at:
                return False
            intent = self.checkpoint.intent
            try:
                if intent is None:
                    intent = self._next_intent()
                    if intent is None:
                        return False
                    self.checkpoint.save(intent=intent)
                records = self._records(intent)
                batch = delivery.BatchContext(self.meta.name, self.meta.uid, self.meta.account, self.meta.region,
                                              int(intent["version"]), int(intent["batch"]), int(intent["planned_ms"]))
                objects = delivery.build(batch, self.destination, records, self.pipeline, catalog)
                delivery.write(s3, self.meta.account, self.meta.region, objects)
                self._commit(intent)
            except Exception as exc:
                self._failed(exc, intent)
                return False
            self.failures = 0
            self.retry_at = 0.0
            self.last_error = None
            return True

    def _next_intent(self) -> dict[str, Any] | None:
        now_ms = int(time.time() * 1000)
        if self.kinesis is not None:
            self.kinesis.poll(2 * self.destination.size_bytes)
        if not self.due(now_ms):
            return None
        return self._plan(now_ms)

    def _failed(self, exc: Exception, intent: dict[str, Any] | None) -> None:
        self.failures += 1
        self.retry_at = time.monotonic() + min(MAX_BACKOFF_S, 0.25 * 2 ** min(self.failures, 8))
        message = exc.message if isinstance(exc, AwsError) else repr(exc)
        if self.last_error != message:
            what = f"batch {intent['batch']}" if intent is not None else "its source"
            log.warning("delivery stream %s could not deliver %s (will retry): %s: %s", self.meta.name, what,
                        getattr(exc, "error_code", type(exc).__name__), message,
                        exc_info=not isinstance(exc, AwsError))
        self.last_error = message

    def close(self) -> None:
        with self.delivery_lock:
            self.closed = True
            if self.log is not None:
                self.log.close()
