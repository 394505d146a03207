"""The Kinesis Data Streams provider: its operations live in api_streams, api_records and api_consumers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from fogbank.config import Config
from fogbank.protocol.dispatch import Provider
from fogbank.services.kinesis.api_consumers import ConsumerOperations
from fogbank.services.kinesis.api_streams import StreamOperations
from fogbank.services.kinesis.shardlog import DEFAULT_SEGMENT_BYTES
from fogbank.services.kinesis.store import KinesisStore


class KinesisProvider(StreamOperations, ConsumerOperations, Provider):
    """Kinesis on a durable per-shard log under ``config.service_dir("kinesis")``.

    `enforce_limits` applies AWS's per-shard throughput limits to PROVISIONED streams (ON_DEMAND streams are
    never throttled); `status_delay_ms` is how long streams stay CREATING/UPDATING (0: ACTIVE at once).
    """

    services = ("kinesis",)

    def __init__(self, config: Config, *, enforce_limits: bool = True, shard_limit: int = 500,
                 status_delay_ms: int = 0, segment_bytes: int = DEFAULT_SEGMENT_BYTES,
                 clock: Callable[[], float] = time.time, maintenance_interval: float = 60.0) -> None:
        self.store = KinesisStore(config.service_dir("kinesis"), clock=clock, enforce_limits=enforce_limits,
                                  shard_limit=shard_limit, status_delay_ms=status_delay_ms,
                                  segment_bytes=segment_bytes, maintenance_interval=maintenance_interval)
        self._subscriptions = {}
        self._subscriptions_lock = threading.Lock()

    def close(self) -> None:
        self.store.close()

    def health(self) -> dict[str, Any]:
        return {"state": "running", **self.store.health()}
