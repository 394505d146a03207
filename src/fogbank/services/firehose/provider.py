"""The Firehose provider: delivery streams whose buffers live on disk and whose batches land in S3 once.

State lives under `config.service_dir("firehose")`: `firehose.db` (the catalogue), `streams/<id>/` (buffer
log and checkpoint of each stream) and `functions/` (the Python files that stand in for Lambda transforms).
One flusher thread delivers every stream's due batches through the S3 provider's own operations.
"""

from __future__ import annotations

import logging
import shutil
import threading
from typing import Any

from fogbank.config import Config
from fogbank.protocol.dispatch import Provider
from fogbank.services.firehose import destination as destinations
from fogbank.services.firehose.api_records import RecordOperations
from fogbank.services.firehose.api_streams import StreamOperations
from fogbank.services.firehose.conversion import GlueCatalog
from fogbank.services.firehose.errors import InvalidArgumentException
from fogbank.services.firehose.flusher import Flusher
from fogbank.services.firehose.functions import FunctionDirectory
from fogbank.services.firehose.metadata import MetadataDb
from fogbank.services.firehose.runtime import StreamRuntime

log = logging.getLogger("fogbank.firehose")

DEFAULT_BACKLOG_BYTES = 512 * 1024 * 1024


class FirehoseProvider(StreamOperations, RecordOperations, Provider):
    """Firehose with S3 destinations, fed by PutRecord(Batch) or by a Kinesis stream of the same server.

    `s3` and `kinesis` are the server's providers (called in-process); `glue` is the Glue provider whose
    tables record format conversion reads, when the server has one. `activation_delay_ms` is how long a
    new stream stays CREATING; `max_backlog_bytes` bounds what one stream buffers before PutRecord answers
    ServiceUnavailableException; `flush_tick` is how often the flusher looks for due batches.
    """

    services = ("firehose",)

    def __init__(self, config: Config, *, s3: Any = None, kinesis: Any = None, glue: Any = None,
                 activation_delay_ms: int = 0, max_backlog_bytes: int = DEFAULT_BACKLOG_BYTES,
                 flush_tick: float = 0.1) -> None:
        self.root = config.service_dir("firehose")
        (self.root / "streams").mkdir(exist_ok=True)
        (self.root / "functions").mkdir(exist_ok=True)
        self.db = MetadataDb(self.root / "firehose.db")
        self.s3 = s3
        self.kinesis = kinesis
        self.catalog = GlueCatalog(glue)
        self.functions = FunctionDirectory(self.root / "functions")
        self.activation_delay_ms = activation_delay_ms
        self.max_backlog_bytes = max_backlog_bytes
        self._lock = threading.RLock()
        self._streams: dict[tuple[str, str, str], StreamRuntime] = {}
        self._load()
        self.flusher = Flusher(self._runtimes, self._deliver, flush_tick)
        self.flusher.start()

    def _load(self) -> None:
        known: set[str] = set()
        for meta in self.db.load():
            known.add(meta.uid)
            try:
                compiled = destinations.compile_destination(meta.destination)
            except InvalidArgumentException as exc:  # a rule tightened since the stream was configured
                log.error("delivery stream %s has a destination fogbank no longer accepts: %s", meta.name, exc.message)
                continue
            directory = self._stream_dir(meta.uid)
            directory.mkdir(parents=True, exist_ok=True)
            runtime = StreamRuntime(meta, directory, compiled, self.functions, self.kinesis)
            self._streams[(meta.account, meta.region, meta.name)] = runtime
        for directory in (self.root / "streams").iterdir():
            if directory.name not in known:
                shutil.rmtree(directory, ignore_errors=True)

    def _deliver(self, runtime: StreamRuntime) -> bool:
        if self.s3 is None:
            return False
        return runtime.step(self.s3, self.catalog)

    def close(self) -> None:
        self.flusher.stop()
        with self._lock:
            runtimes = list(self._streams.values())
        for runtime in runtimes:
            runtime.close()
        self.db.close()

    def health(self) -> dict[str, Any]:
        runtimes = self._runtimes()
        return {"state": "running", "delivery_streams": len(runtimes),
                "buffered_records": sum(r.pending()[0] for r in runtimes)}
