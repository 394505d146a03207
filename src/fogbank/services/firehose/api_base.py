"""What every group of Firehose operations shares: the streams of a server and how requests find them."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from fogbank.context import RequestContext
from fogbank.services.firehose.conversion import GlueCatalog
from fogbank.services.firehose.errors import ResourceNotFoundException
from fogbank.services.firehose.flusher import Flusher
from fogbank.services.firehose.functions import FunctionDirectory
from fogbank.services.firehose.metadata import MetadataDb
from fogbank.services.firehose.runtime import StreamRuntime

ACTIVE = "ACTIVE"
CREATING = "CREATING"


def now_ms() -> int:
    return int(time.time() * 1000)


class FirehoseBase:
    """State set up by FirehoseProvider; the operation groups only read it through these helpers."""

    root: Path
    db: MetadataDb
    s3: Any
    kinesis: Any
    catalog: GlueCatalog
    functions: FunctionDirectory
    flusher: Flusher
    activation_delay_ms: int
    max_backlog_bytes: int
    _lock: threading.RLock
    _streams: dict[tuple[str, str, str], StreamRuntime]

    def _stream_dir(self, uid: str) -> Path:
        return self.root / "streams" / uid

    def _runtimes(self) -> list[StreamRuntime]:
        return list(self._streams.values())

    def _find(self, ctx: RequestContext, name: str) -> StreamRuntime:
        runtime = self._streams.get((ctx.account_id, ctx.region, name))
        if runtime is None:
            raise ResourceNotFoundException(f"Firehose {name} under account {ctx.account_id} not found.")
        return runtime

    def _status(self, runtime: StreamRuntime) -> str:
        """CREATING lasts `activation_delay_ms`; then the stream is ACTIVE."""
        meta = runtime.meta
        if meta.status == CREATING and now_ms() >= meta.created_ms + self.activation_delay_ms:
            return ACTIVE
        return meta.status
