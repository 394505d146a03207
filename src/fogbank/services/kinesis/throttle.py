"""Per-shard throughput limits as token buckets: 1 MiB/s and 1,000 records/s in, 2 MiB/s out.

Buckets start full and refill continuously, so a shard absorbs a one-second burst as AWS's do. A read may
take the read bucket below zero (one GetRecords call may return up to 10 MiB); the shard then refuses reads
until the bucket has refilled, which is how AWS throttles the calls that follow a large read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

MiB = 1024 * 1024
WRITE_BYTES_PER_SECOND = MiB
WRITE_RECORDS_PER_SECOND = 1000
READ_BYTES_PER_SECOND = 2 * MiB


class Bucket:
    __slots__ = ("capacity", "level", "rate", "updated")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.level = capacity
        self.updated = now

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
            self.updated = now


class ShardThrottle:
    """The three buckets of one shard; thread-safe."""

    def __init__(self, now: float) -> None:
        self._lock = threading.Lock()
        self.write_bytes = Bucket(WRITE_BYTES_PER_SECOND, WRITE_BYTES_PER_SECOND, now)
        self.write_records = Bucket(WRITE_RECORDS_PER_SECOND, WRITE_RECORDS_PER_SECOND, now)
        self.read_bytes = Bucket(READ_BYTES_PER_SECOND, READ_BYTES_PER_SECOND, now)

    def admit_writes(self, sizes: Sequence[int], now: float) -> list[bool]:
        """Which of these records (by size, in order) fit the shard's write budget right now."""
        with self._lock:
            self.write_bytes.refill(now)
            self.write_records.refill(now)
            admitted = []
            for size in sizes:
                # A record larger than the bucket (1 MiB of data plus its key, or a raised MaxRecordSizeInKiB)
                # passes when the bucket is full and leaves it in debt.
                ok = self.write_records.level >= 1 and self.write_bytes.level >= min(size, self.write_bytes.capacity)
                if ok:
                    self.write_records.level -= 1
                    self.write_bytes.level -= size
                admitted.append(ok)
            return admitted

    def may_read(self, now: float) -> bool:
        with self._lock:
            self.read_bytes.refill(now)
            return self.read_bytes.level > 0

    def charge_read(self, size: int) -> None:
        with self._lock:
            self.read_bytes.level -= size


class Throttles:
    """The throttles of every shard, created on first use; `enabled=False` admits everything."""

    def __init__(self, enabled: bool, clock: Callable[[], float]) -> None:
        self.enabled = enabled
        self._clock = clock
        self._lock = threading.Lock()
        self._shards: dict[tuple[int, int], ShardThrottle] = {}

    def shard(self, stream_db_id: int, shard_index: int) -> ShardThrottle:
        key = (stream_db_id, shard_index)
        throttle = self._shards.get(key)
        if throttle is None:
            with self._lock:
                throttle = self._shards.setdefault(key, ShardThrottle(self._clock()))
        return throttle

    def admit_writes(self, stream_db_id: int, shard_index: int, sizes: Sequence[int]) -> list[bool]:
        if not self.enabled:
            return [True] * len(sizes)
        return self.shard(stream_db_id, shard_index).admit_writes(sizes, self._clock())

    def may_read(self, stream_db_id: int, shard_index: int) -> bool:
        return not self.enabled or self.shard(stream_db_id, shard_index).may_read(self._clock())

    def charge_read(self, stream_db_id: int, shard_index: int, size: int) -> None:
        if self.enabled:
            self.shard(stream_db_id, shard_index).charge_read(size)

    def forget_stream(self, stream_db_id: int) -> None:
        with self._lock:
            for key in [k for k in self._shards if k[0] == stream_db_id]:
                del self._shards[key]
