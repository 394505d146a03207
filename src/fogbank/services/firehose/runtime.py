"""One delivery stream at run time: its source, its checkpoint, and the exactly-once delivery of batches.

Delivering a batch is three durable steps. First the batch is planned and its plan (which records, its
number, the stream version and the time that names its objects) is written to the checkpoint as the intent.
Then its objects are written to S3. Then the checkpoint moves past the batch and the intent is cleared. A
crash after the first step replays exactly the same batch under exactly the same keys, so S3 ends up with
each record once whatever the moment of the crash.
"""

from __future__ import annotations

import binascii
import contextlib
import gc
import logging
import struct
import threading
import time
from collections.abc import Iterator
from functools import partial
from itertools import repeat
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


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Holds off Python's cyclic garbage collector while a batch is built.

    A batch allocates a few objects per record, hundreds of thousands of them, all alive until it is written:
    each allocation threshold crossed would otherwise run a collection that walks them (and the rest of the
    heap) again, which costs more than the batch itself. Batches make no reference cycles of their own; any
    made meanwhile (by a Lambda transform, say) are collected once the collector resumes, as soon as the
    batch is built. The flusher is the only thread that pauses it.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class StreamRuntime:
    """Thread-safe: writers append to the log; only the flusher plans and delivers, under `delivery_lock`."""

    def __init__(self, meta: StreamMeta, directory: Path, destination: Destination, functions: FunctionDirectory,
                 kinesis: Any = None) -> None:
        self.meta = meta
        self._id_prefix = bytes.fromhex(meta.uid)
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
        return binascii.b2a_base64(self._id_prefix + seq.to_bytes(8, "big"), newline=False).decode()

    def record_ids(self, first: int, count: int) -> list[str]:
        """The ids of records [first, first + count): as `record_id`, encoded in one go.

        An id is 24 bytes (the stream's 16, the sequence number's 8), whole base64 groups of 3, so the
        encoding of all of them laid end to end is their encodings laid end to end.
        """
        prefix = self._id_prefix
        unit = len(prefix) + 8
        if unit % 3:
            return [self.record_id(first + n) for n in range(count)]
        raw = bytearray((prefix + bytes(8)) * count)
        sequence = struct.pack(f">{count}Q", *range(first, first + count))
        for k in range(8):
            raw[len(prefix) + k::unit] = sequence[k::8]
        text = binascii.b2a_base64(raw, newline=False).decode()
        width = unit // 3 * 4
        return [text[at:at + width] for at in range(0, width * count, width)]

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
            start, end = int(intent["direct"]["start"]), int(intent["direct"]["end"])
            arrivals, datas = self.log.read_columns(start, end)
            ids = map(partial, repeat(self.record_id), range(start, end))
            return list(map(SourceRecord, datas, arrivals, ids))
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
                batch = delivery.BatchContext(self.meta.name, self.meta.uid, self.meta.account, self.meta.region,
                                              int(intent["version"]), int(intent["batch"]), int(intent["planned_ms"]))
                with _collector_paused():
                    records = self._records(intent)
                    objects = delivery.build(batch, self.destination, records, self.pipeline, catalog)
                    del records
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
