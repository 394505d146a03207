"""Kinesis state: the stream catalogue and one ShardLog per shard, kept consistent with each other.

Control-plane changes (create, reshard, tag, delete) are serialized by one lock and written to SQLite
before memory. The data plane never takes that lock: it routes with an immutable snapshot of the open
shards, and a record routed to a shard that a concurrent split or merge has just closed is routed again.
Shard logs live under ``shards/<stream row id>/<shard index>/``; no client string is ever part of a path.
"""

from __future__ import annotations

import bisect
import logging
import secrets
import shutil
import string
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fogbank.services.kinesis.errors import (
    InvalidArgumentException,
    LimitExceededException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from fogbank.services.kinesis.identifiers import uniform_ranges
from fogbank.services.kinesis.metadata import ConsumerMeta, MetadataDb, ShardMeta, StreamMeta
from fogbank.services.kinesis.resharding import Piece, scale_uniformly, shards_created
from fogbank.services.kinesis.shardlog import (
    DEFAULT_SEGMENT_AGE_MS,
    DEFAULT_SEGMENT_BYTES,
    AppendResult,
    ShardClosedError,
    ShardLog,
)
from fogbank.services.kinesis.throttle import Throttles
from fogbank.services.kinesis.tokens import TokenSigner

log = logging.getLogger("fogbank.kinesis")

PROVISIONED = "PROVISIONED"
ON_DEMAND = "ON_DEMAND"
ON_DEMAND_SHARDS = 4
DEFAULT_RETENTION_HOURS = 24
HOUR_MS = 3_600_000
LIMITS_PAGE = "(http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html)"


@dataclass(frozen=True)
class Route:
    """The open shards of a stream by starting hash key: what PutRecord routes with, without locks."""

    starts: list[int]
    shards: list[ShardMeta]

    def find(self, hash_key: int) -> ShardMeta:
        return self.shards[bisect.bisect_right(self.starts, hash_key) - 1]


@dataclass(frozen=True)
class Written:
    """Where one record of a PutRecords call went; `ordinal` is None when the shard throttled it."""

    shard: ShardMeta
    ordinal: int | None


def _new_stream_id() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(20)) + "-" + "".join(
        secrets.choice(alphabet) for _ in range(3))


class KinesisStore:
    def __init__(self, root: Path, *, clock: Callable[[], float] = time.time, enforce_limits: bool = True,
                 shard_limit: int = 500, on_demand_stream_limit: int = 50, status_delay_ms: int = 0,
                 segment_bytes: int = DEFAULT_SEGMENT_BYTES, segment_age_ms: int = DEFAULT_SEGMENT_AGE_MS,
                 maintenance_interval: float = 60.0) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.shard_root = root / "shards"
        self.clock = clock
        self.shard_limit = shard_limit
        self.on_demand_stream_limit = on_demand_stream_limit
        self.status_delay_ms = status_delay_ms
        self.segment_bytes = segment_bytes
        self.segment_age_ms = segment_age_ms
        self.db = MetadataDb(root / "kinesis.db")
        self.throttles = Throttles(enforce_limits, clock)
        secret = self.db.setting("token-secret")
        if secret is None:
            secret = secrets.token_bytes(32)
            self.db.set_setting("token-secret", secret)
        self.tokens = TokenSigner(secret)
        self._lock = threading.RLock()
        self._streams: dict[tuple[str, str, str], StreamMeta] = {}
        self._by_id: dict[int, StreamMeta] = {}
        self._routes: dict[int, Route] = {}
        self._logs: dict[tuple[int, int], ShardLog] = {}
        self._logs_lock = threading.Lock()
        self._route_changed = threading.Condition()
        self._syncers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="fogbank-kinesis-sync")
        self._route_generation = 0
        for stream in self.db.load():
            self._streams[(stream.account, stream.region, stream.name)] = stream
            self._by_id[stream.db_id] = stream
            self._reroute(stream)
        self._sweep_orphans()
        self._recover_logs()
        self._stop = threading.Event()
        self._maintenance: threading.Thread | None = None
        if maintenance_interval > 0:
            self._maintenance = threading.Thread(target=self._maintain_forever, args=(maintenance_interval,),
                                                 name="fogbank-kinesis-retention", daemon=True)
            self._maintenance.start()

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def close(self) -> None:
        self._stop.set()
        if self._maintenance is not None:
            self._maintenance.join(timeout=10)
        with self._logs_lock:
            logs = list(self._logs.values())
            self._logs.clear()
        self._syncers.shutdown(wait=True)
        for shard_log in logs:
            shard_log.close()
        self.db.close()

    # ------------------------------------------------------------------ lookups

    def find(self, scope: tuple[str, str], name: str) -> StreamMeta | None:
        return self._streams.get((scope[0], scope[1], name))

    def require(self, scope: tuple[str, str], name: str) -> StreamMeta:
        stream = self.find(scope, name)
        if stream is None:
            raise ResourceNotFoundException(f"Stream {name} under account {scope[0]} not found.")
        return stream

    def stream_by_id(self, db_id: int) -> StreamMeta | None:
        return self._by_id.get(db_id)

    def streams_in(self, scope: tuple[str, str]) -> list[StreamMeta]:
        return sorted([s for s in list(self._by_id.values()) if s.scope == scope], key=lambda s: s.name)

    def status_of(self, stream: StreamMeta) -> str:
        """CREATING and UPDATING last `status_delay_ms`; then the stream is ACTIVE."""
        if stream.status in ("CREATING", "UPDATING") and self.now_ms() >= stream.status_ms + self.status_delay_ms:
            return "ACTIVE"
        return stream.status

    def route(self, stream: StreamMeta) -> Route:
        route = self._routes.get(stream.db_id)
        if route is None:
            raise ResourceNotFoundException(f"Stream {stream.name} under account {stream.account} not found.")
        return route

    def _reroute(self, stream: StreamMeta) -> None:
        shards = stream.open_shards()
        with self._route_changed:
            self._routes[stream.db_id] = Route([s.start_hash for s in shards], shards)
            self._route_generation += 1
            self._route_changed.notify_all()

    def _await_reroute(self, generation: int, timeout: float = 10.0) -> None:
        """Waits for a resharding that closed a shard under a writer to publish the new shards."""
        with self._route_changed:
            self._route_changed.wait_for(lambda: self._route_generation != generation, timeout)

    def open_shard_count(self, scope: tuple[str, str]) -> int:
        return sum(len(self._routes.get(s.db_id, Route([], [])).shards) for s in self.streams_in(scope))

    def on_demand_count(self, scope: tuple[str, str]) -> int:
        return sum(1 for s in self.streams_in(scope) if s.mode == ON_DEMAND)

    def _check_shard_limit(self, scope: tuple[str, str], additional: int) -> None:
        current = self.open_shard_count(scope)
        if current + additional > self.shard_limit:
            raise LimitExceededException(
                f"This request would exceed the shard limit for the account {scope[0]} in {scope[1]}. Current "
                f"shard count for the account: {current}. Limit: {self.shard_limit}. Number of additional shards "
                f"that would have resulted from this request: {additional}. Refer to the AWS Service Limits page "
                f"{LIMITS_PAGE} for current limits and how to request higher limits.")

    def _require_active(self, stream: StreamMeta) -> None:
        status = self.status_of(stream)
        if status != "ACTIVE":
            raise ResourceInUseException(
                f"Stream {stream.name} under account {stream.account} not ACTIVE, instead in state {status}")

    # ------------------------------------------------------------------ streams

    def create_stream(self, scope: tuple[str, str], name: str, shard_count: int, mode: str, tags: dict[str, str],
                      max_record_kib: int, warm_mibps: int | None, distribution: str | None) -> StreamMeta:
        with self._lock:
            if self.find(scope, name) is not None:
                raise ResourceInUseException(f"Stream {name} under account {scope[0]} already exists.")
            if mode == ON_DEMAND and self.on_demand_count(scope) >= self.on_demand_stream_limit:
                raise LimitExceededException(
                    f"This request would exceed the on-demand stream limit for the account {scope[0]} in "
                    f"{scope[1]}. Limit: {self.on_demand_stream_limit}.")
            self._check_shard_limit(scope, shard_count)
            now = self.now_ms()
            status = "ACTIVE" if self.status_delay_ms <= 0 else "CREATING"
            stream = StreamMeta(0, scope[0], scope[1], name, _new_stream_id(), now, status, now, mode,
                                DEFAULT_RETENTION_HOURS, shard_count, max_record_kib=max_record_kib,
                                warm_mibps=warm_mibps, distribution=distribution, tags=dict(tags))
            for index, (start, end) in enumerate(uniform_ranges(shard_count)):
                stream.shards[index] = ShardMeta(index, None, None, start, end, now)
            with self.db.transaction() as db:
                stream.db_id = self.db.insert_stream(db, stream)
                for shard in stream.shards.values():
                    self.db.put_shard(db, stream.db_id, shard)
                self.db.put_tags(db, stream.db_id, stream.tags)
            # A crash may have left files of an earlier stream that got the same row id: start clean.
            shutil.rmtree(self.shard_root / str(stream.db_id), ignore_errors=True)
            self._streams[(scope[0], scope[1], name)] = stream
            self._by_id[stream.db_id] = stream
            self._reroute(stream)
            return stream

    def delete_stream(self, stream: StreamMeta) -> None:
        with self._lock:
            with self.db.transaction() as db:
                self.db.delete_stream(db, stream.db_id)
            self._streams.pop((stream.account, stream.region, stream.name), None)
            self._by_id.pop(stream.db_id, None)
            with self._route_changed:
                self._routes.pop(stream.db_id, None)
                self._route_generation += 1
                self._route_changed.notify_all()
            self.throttles.forget_stream(stream.db_id)
        with self._logs_lock:
            logs = [self._logs.pop(key) for key in [k for k in self._logs if k[0] == stream.db_id]]
        for shard_log in logs:
            shard_log.close()
        shutil.rmtree(self.shard_root / str(stream.db_id), ignore_errors=True)

    def update(self, stream: StreamMeta, change: Callable[[StreamMeta], None]) -> None:
        """Applies a change to a stream's own columns (retention, mode, encryption, ...), durably."""
        with self._lock:
            change(stream)
            with self.db.transaction() as db:
                self.db.update_stream(db, stream)

    def add_tags(self, stream: StreamMeta, tags: dict[str, str]) -> None:
        with self._lock:
            merged = {**stream.tags, **tags}
            if len(merged) > 50:
                raise InvalidArgumentException(
                    f"Failed to add tags to stream {stream.name} under account {stream.account} because a given "
                    "stream cannot have more than 50 tags associated with it.")
            with self.db.transaction() as db:
                self.db.put_tags(db, stream.db_id, tags)
            stream.tags = merged

    def remove_tags(self, stream: StreamMeta, keys: list[str]) -> None:
        with self._lock:
            with self.db.transaction() as db:
                self.db.delete_tags(db, stream.db_id, keys)
            for key in keys:
                stream.tags.pop(key, None)

    # ------------------------------------------------------------------ resharding

    def _child_epoch(self, stream: StreamMeta, parents: list[int]) -> int:
        """Children sort after their parents: a later epoch even when both fall in the same millisecond."""
        return max([self.now_ms(), *(stream.shards[p].epoch_ms + 1 for p in parents)])

    def _close(self, stream: StreamMeta, index: int, when: int, changed: list[ShardMeta]) -> None:
        shard = stream.shards[index]
        # Always through `log`: a writer that is opening the same shard's log gets this very instance.
        shard.end_count = self.log(stream, shard).close_for_writes()
        shard.closed_ms = when
        changed.append(shard)

    def _reshard(self, stream: StreamMeta, plan: Callable[[Callable[[int, int], tuple[int, int]],
                                                               Callable[[int, int], int]], None]) -> None:
        """Runs a plan of splits and merges and commits all of its shard changes in one transaction."""
        snapshot = {i: ShardMeta(**vars(s)) for i, s in stream.shards.items()}
        next_shard = stream.next_shard
        changed: list[ShardMeta] = []

        def new_shard(parent: int, adjacent: int | None, start: int, end: int) -> int:
            index = stream.next_shard
            stream.next_shard += 1
            epoch = self._child_epoch(stream, [parent] if adjacent is None else [parent, adjacent])
            shard = ShardMeta(index, parent, adjacent, start, end, epoch)
            stream.shards[index] = shard
            changed.append(shard)
            return index

        def split(index: int, at: int) -> tuple[int, int]:
            parent = stream.shards[index]
            left = new_shard(index, None, parent.start_hash, at - 1)
            right = new_shard(index, None, at, parent.end_hash)
            self._close(stream, index, stream.shards[left].epoch_ms, changed)
            return left, right

        def merge(index: int, adjacent: int) -> int:
            first, second = stream.shards[index], stream.shards[adjacent]
            low, high = (first, second) if first.start_hash < second.start_hash else (second, first)
            child = new_shard(index, adjacent, low.start_hash, high.end_hash)
            when = stream.shards[child].epoch_ms
            self._close(stream, index, when, changed)
            self._close(stream, adjacent, when, changed)
            return child

        try:
            plan(split, merge)
            with self.db.transaction() as db:
                for shard in changed:
                    self.db.put_shard(db, stream.db_id, shard)
                if self.status_delay_ms > 0:
                    stream.status, stream.status_ms = "UPDATING", self.now_ms()
                self.db.update_stream(db, stream)
        except BaseException:
            stream.shards = snapshot
            stream.next_shard = next_shard
            for key, shard_log in list(self._logs.items()):
                if key[0] == stream.db_id and snapshot.get(key[1]) is not None and snapshot[key[1]].is_open:
                    shard_log.reopen_for_writes()
            self._reroute(stream)
            raise
        self._reroute(stream)

    def split_shard(self, stream: StreamMeta, index: int, at: int) -> None:
        with self._lock:
            self._require_active(stream)
            self._check_shard_limit(stream.scope, 1)

            def plan(split: Callable[[int, int], tuple[int, int]], merge: Callable[[int, int], int]) -> None:
                split(index, at)

            self._reshard(stream, plan)

    def merge_shards(self, stream: StreamMeta, index: int, adjacent: int) -> None:
        with self._lock:
            self._require_active(stream)

            def plan(split: Callable[[int, int], tuple[int, int]], merge: Callable[[int, int], int]) -> None:
                merge(index, adjacent)

            self._reshard(stream, plan)

    def scale(self, stream: StreamMeta, target: int) -> int:
        """UpdateShardCount with UNIFORM_SCALING; returns the open shard count before."""
        with self._lock:
            self._require_active(stream)
            pieces = [Piece(s.index, s.start_hash, s.end_hash) for s in stream.open_shards()]
            current = len(pieces)
            if target > current:
                self._check_shard_limit(stream.scope, target - current)
            if shards_created(pieces, target) == 0:
                return current

            def plan(split: Callable[[int, int], tuple[int, int]], merge: Callable[[int, int], int]) -> None:
                scale_uniformly(pieces, target, split, merge)

            self._reshard(stream, plan)
            return current

    # ------------------------------------------------------------------ consumers

    def register_consumer(self, stream: StreamMeta, name: str, tags: dict[str, str]) -> ConsumerMeta:
        with self._lock:
            if name in stream.consumers:
                raise ResourceInUseException(
                    f"Consumer {name} under stream {stream.name} under account {stream.account} already exists.")
            if len(stream.consumers) >= 20:
                raise LimitExceededException(
                    f"Consumer limit of 20 reached for stream {stream.name} under account {stream.account}.")
            consumer = ConsumerMeta(name, self.now_ms(), "ACTIVE" if self.status_delay_ms <= 0 else "CREATING",
                                    dict(tags))
            with self.db.transaction() as db:
                self.db.put_consumer(db, stream.db_id, consumer)
            stream.consumers[name] = consumer
            return consumer

    def consumer_status(self, consumer: ConsumerMeta) -> str:
        if consumer.status == "CREATING" and self.now_ms() >= consumer.created_ms + self.status_delay_ms:
            return "ACTIVE"
        return consumer.status

    def update_consumer(self, stream: StreamMeta, consumer: ConsumerMeta,
                        change: Callable[[ConsumerMeta], None]) -> None:
        with self._lock:
            change(consumer)
            with self.db.transaction() as db:
                self.db.put_consumer(db, stream.db_id, consumer)

    def deregister_consumer(self, stream: StreamMeta, name: str) -> None:
        with self._lock:
            with self.db.transaction() as db:
                self.db.delete_consumer(db, stream.db_id, name)
            stream.consumers.pop(name, None)

    # ------------------------------------------------------------------ records

    def log(self, stream: StreamMeta, shard: ShardMeta) -> ShardLog:
        key = (stream.db_id, shard.index)
        shard_log = self._logs.get(key)
        if shard_log is not None:
            return shard_log
        with self._logs_lock:
            shard_log = self._logs.get(key)
            if shard_log is None:
                if self._by_id.get(stream.db_id) is not stream:
                    raise ResourceNotFoundException(f"Stream {stream.name} under account {stream.account} not found.")
                directory = self.shard_root / str(stream.db_id) / str(shard.index)
                shard_log = ShardLog(directory, segment_bytes=self.segment_bytes, segment_age_ms=self.segment_age_ms)
                if not shard.is_open:
                    shard_log.close()  # read-only from now on: no file stays open for writing
                self._logs[key] = shard_log
            return shard_log

    def put(self, stream: StreamMeta, records: list[tuple[int, bytes, bytes]]) -> list[Written]:
        """Routes, throttles and writes records (hash key, UTF-8 partition key, data); returns once durable."""
        results: list[Written | None] = [None] * len(records)
        pending = list(range(len(records)))
        for _ in range(16):
            generation = self._route_generation
            route = self.route(stream)
            groups: dict[int, list[int]] = {}
            shards: dict[int, ShardMeta] = {}
            for i in pending:
                shard = route.find(records[i][0])
                groups.setdefault(shard.index, []).append(i)
                shards[shard.index] = shard
            pending = []
            writes: list[tuple[ShardLog, ShardMeta, list[int], AppendResult]] = []
            now = self.now_ms()
            for index, members in groups.items():
                shard = shards[index]
                if stream.mode == PROVISIONED:
                    admitted = self.throttles.admit_writes(stream.db_id, index,
                                                           [len(records[i][2]) + len(records[i][1]) for i in members])
                    for i, ok in zip(members, admitted, strict=True):
                        if not ok:
                            results[i] = Written(shard, None)
                    members = [i for i, ok in zip(members, admitted, strict=True) if ok]
                if not members:
                    continue
                shard_log = self.log(stream, shard)
                try:
                    written = shard_log.write([(records[i][1], records[i][2]) for i in members], now)
                except ShardClosedError:
                    pending.extend(members)
                    continue
                writes.append((shard_log, shard, members, written))
            self._wait_durable([(shard_log, written.first_ordinal + len(members))
                                for shard_log, _, members, written in writes])
            for _, shard, members, written in writes:
                for offset, i in enumerate(members):
                    results[i] = Written(shard, written.first_ordinal + offset)
            if not pending:
                break
            pending.sort()
            self._await_reroute(generation)
        if pending:
            raise ResourceInUseException(f"Stream {stream.name} under account {stream.account} is being resharded.")
        done = [r for r in results if r is not None]
        assert len(done) == len(records)
        return done

    def _wait_durable(self, waits: list[tuple[ShardLog, int]]) -> None:
        """Waits for several shards at once: their fsyncs overlap instead of queueing behind each other."""
        if len(waits) <= 1:
            for shard_log, count in waits:
                shard_log.wait_durable(count)
            return
        futures = [self._syncers.submit(shard_log.wait_durable, count) for shard_log, count in waits[1:]]
        waits[0][0].wait_durable(waits[0][1])
        for future in futures:
            future.result()

    def horizon_ms(self, stream: StreamMeta) -> int:
        return self.now_ms() - stream.retention_hours * HOUR_MS

    # ------------------------------------------------------------------ retention and housekeeping

    def _maintain_forever(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.maintain()
            except Exception:
                log.exception("kinesis retention pass failed")

    def maintain(self) -> None:
        """Deletes log segments past retention, and closed shards whose every record has expired."""
        for stream in list(self._by_id.values()):
            try:
                self._maintain_stream(stream)
            except ResourceNotFoundException:
                continue  # deleted while we looked

    def _maintain_stream(self, stream: StreamMeta) -> None:
        horizon = self.horizon_ms(stream)
        expired: list[int] = []
        for shard in list(stream.shards.values()):
            if shard.closed_ms is not None and shard.closed_ms < horizon:
                expired.append(shard.index)
                continue
            shard_log = self._logs.get((stream.db_id, shard.index))
            if shard_log is None and (self.shard_root / str(stream.db_id) / str(shard.index)).exists():
                shard_log = self.log(stream, shard)
            if shard_log is not None:
                shard_log.trim(horizon)
        if expired:
            self._expire_shards(stream, expired)

    def _expire_shards(self, stream: StreamMeta, indexes: list[int]) -> None:
        with self._lock:
            if self._by_id.get(stream.db_id) is not stream:
                return
            with self.db.transaction() as db:
                for index in indexes:
                    self.db.delete_shard(db, stream.db_id, index)
            for index in indexes:
                stream.shards.pop(index, None)
        for index in indexes:
            with self._logs_lock:
                shard_log = self._logs.pop((stream.db_id, index), None)
            if shard_log is not None:
                shard_log.close()
            shutil.rmtree(self.shard_root / str(stream.db_id) / str(index), ignore_errors=True)

    def _recover_logs(self) -> None:
        """Opens every shard log that has files, so a torn tail left by a crash is cut now, not at first use."""
        for stream in list(self._by_id.values()):
            for shard in self.iter_shards(stream):
                if (self.shard_root / str(stream.db_id) / str(shard.index)).is_dir():
                    self.log(stream, shard)

    def _sweep_orphans(self) -> None:
        """Removes log directories of streams and shards that no longer exist (a crash mid-delete)."""
        if not self.shard_root.is_dir():
            return
        for stream_dir in self.shard_root.iterdir():
            stream = self._by_id.get(int(stream_dir.name)) if stream_dir.name.isdigit() else None
            if stream is None:
                shutil.rmtree(stream_dir, ignore_errors=True)
                continue
            for shard_dir in stream_dir.iterdir():
                if not shard_dir.name.isdigit() or int(shard_dir.name) not in stream.shards:
                    shutil.rmtree(shard_dir, ignore_errors=True)

    def health(self) -> dict[str, int]:
        return {"streams": len(self._by_id), "open_shards": sum(len(r.shards) for r in list(self._routes.values()))}

    def iter_shards(self, stream: StreamMeta) -> list[ShardMeta]:
        """The stream's shards by index, as of now (retention may remove closed ones at any time)."""
        return sorted(list(stream.shards.values()), key=lambda s: s.index)
