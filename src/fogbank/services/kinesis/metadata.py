"""Stream, shard, tag and consumer metadata: its shape in memory and its SQLite persistence.

The whole catalogue is small (streams and shards, never records), so it is loaded once at start and served
from memory; every change is written to SQLite (WAL, synchronous=FULL) before it is applied in memory, so an
acknowledged CreateStream or SplitShard survives a crash. Hash keys are 128-bit and kept as decimal text.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from fogbank.engines.metadb import LockedDb
from fogbank.services.kinesis.identifiers import shard_id

_SCHEMA = """
CREATE TABLE IF NOT EXISTS streams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    status_ms INTEGER NOT NULL,
    mode TEXT NOT NULL,
    retention_hours INTEGER NOT NULL,
    encryption_type TEXT NOT NULL DEFAULT 'NONE',
    key_id TEXT,
    metrics TEXT NOT NULL DEFAULT '[]',
    max_record_kib INTEGER NOT NULL DEFAULT 1024,
    warm_mibps INTEGER,
    distribution TEXT,
    policy TEXT,
    next_shard INTEGER NOT NULL,
    UNIQUE (account, region, name)
);
CREATE TABLE IF NOT EXISTS shards (
    stream INTEGER NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    parent INTEGER,
    adjacent INTEGER,
    start_hash TEXT NOT NULL,
    end_hash TEXT NOT NULL,
    epoch_ms INTEGER NOT NULL,
    closed_ms INTEGER,
    end_count INTEGER,
    PRIMARY KEY (stream, idx)
);
CREATE TABLE IF NOT EXISTS tags (
    stream INTEGER NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (stream, key)
);
CREATE TABLE IF NOT EXISTS consumers (
    stream INTEGER NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (stream, name)
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
"""


@dataclass
class ShardMeta:
    index: int
    parent: int | None
    adjacent_parent: int | None
    start_hash: int
    end_hash: int
    epoch_ms: int
    closed_ms: int | None = None
    # The number of records the shard held when it closed; its last ordinal is one less.
    end_count: int | None = None

    @property
    def shard_id(self) -> str:
        return shard_id(self.index)

    @property
    def is_open(self) -> bool:
        return self.closed_ms is None


@dataclass
class ConsumerMeta:
    name: str
    created_ms: int
    status: str
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def created_s(self) -> int:
        return self.created_ms // 1000


@dataclass
class StreamMeta:
    db_id: int
    account: str
    region: str
    name: str
    stream_id: str
    created_ms: int
    status: str
    status_ms: int
    mode: str
    retention_hours: int
    next_shard: int
    encryption_type: str = "NONE"
    key_id: str | None = None
    metrics: list[str] = field(default_factory=list)
    max_record_kib: int = 1024
    warm_mibps: int | None = None
    distribution: str | None = None
    policy: str | None = None
    shards: dict[int, ShardMeta] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    consumers: dict[str, ConsumerMeta] = field(default_factory=dict)

    @property
    def scope(self) -> tuple[str, str]:
        return (self.account, self.region)

    def open_shards(self) -> list[ShardMeta]:
        return sorted([s for s in list(self.shards.values()) if s.is_open], key=lambda s: s.start_hash)


_STREAM_COLUMNS = ("status", "status_ms", "mode", "retention_hours", "encryption_type", "key_id", "metrics",
                   "max_record_kib", "warm_mibps", "distribution", "policy", "next_shard")


class MetadataDb:
    """The SQLite side of the catalogue. Callers serialize writes; a lock keeps the connection safe anyway."""

    def __init__(self, path: Path) -> None:
        self._db = LockedDb(path, _SCHEMA, foreign_keys=True)

    def close(self) -> None:
        self._db.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._db.transaction()

    # ------------------------------------------------------------------ settings

    def setting(self, key: str) -> bytes | None:
        row = self._db.row("SELECT value FROM settings WHERE key = ?", (key,))
        return bytes(row[0]) if row else None

    def set_setting(self, key: str, value: bytes) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, value))

    # ------------------------------------------------------------------ loading

    def load(self) -> list[StreamMeta]:
        with self._db.lock:
            conn = self._db.conn
            streams: dict[int, StreamMeta] = {}
            for row in conn.execute(
                    "SELECT id, account, region, name, stream_id, created_ms, status, status_ms, mode, "
                    "retention_hours, encryption_type, key_id, metrics, max_record_kib, warm_mibps, distribution, "
                    "policy, next_shard FROM streams"):
                streams[row[0]] = StreamMeta(
                    db_id=row[0], account=row[1], region=row[2], name=row[3], stream_id=row[4], created_ms=row[5],
                    status=row[6], status_ms=row[7], mode=row[8], retention_hours=row[9], encryption_type=row[10],
                    key_id=row[11], metrics=json.loads(row[12]), max_record_kib=row[13], warm_mibps=row[14],
                    distribution=row[15], policy=row[16], next_shard=row[17])
            for row in conn.execute("SELECT stream, idx, parent, adjacent, start_hash, end_hash, epoch_ms, "
                                        "closed_ms, end_count FROM shards"):
                stream = streams.get(row[0])
                if stream is not None:
                    stream.shards[row[1]] = ShardMeta(row[1], row[2], row[3], int(row[4]), int(row[5]), row[6],
                                                      row[7], row[8])
            for row in conn.execute("SELECT stream, key, value FROM tags"):
                if row[0] in streams:
                    streams[row[0]].tags[row[1]] = row[2]
            for row in conn.execute("SELECT stream, name, created_ms, status, tags FROM consumers"):
                if row[0] in streams:
                    streams[row[0]].consumers[row[1]] = ConsumerMeta(row[1], row[2], row[3], json.loads(row[4]))
        return list(streams.values())

    # ------------------------------------------------------------------ writing (inside `transaction`)

    @staticmethod
    def insert_stream(db: sqlite3.Connection, stream: StreamMeta) -> int:
        cursor = db.execute(
            "INSERT INTO streams (account, region, name, stream_id, created_ms, status, status_ms, mode, "
            "retention_hours, encryption_type, key_id, metrics, max_record_kib, warm_mibps, distribution, policy, "
            "next_shard) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (stream.account, stream.region, stream.name, stream.stream_id, stream.created_ms, stream.status,
             stream.status_ms, stream.mode, stream.retention_hours, stream.encryption_type, stream.key_id,
             json.dumps(stream.metrics), stream.max_record_kib, stream.warm_mibps, stream.distribution,
             stream.policy, stream.next_shard))
        return int(cursor.lastrowid or 0)

    @staticmethod
    def update_stream(db: sqlite3.Connection, stream: StreamMeta) -> None:
        values = [getattr(stream, name) for name in _STREAM_COLUMNS]
        values[_STREAM_COLUMNS.index("metrics")] = json.dumps(stream.metrics)
        assignments = ", ".join(f"{name} = ?" for name in _STREAM_COLUMNS)
        db.execute(f"UPDATE streams SET {assignments} WHERE id = ?", (*values, stream.db_id))

    @staticmethod
    def delete_stream(db: sqlite3.Connection, db_id: int) -> None:
        db.execute("DELETE FROM streams WHERE id = ?", (db_id,))

    @staticmethod
    def put_shard(db: sqlite3.Connection, stream_db_id: int, shard: ShardMeta) -> None:
        db.execute(
            "INSERT OR REPLACE INTO shards (stream, idx, parent, adjacent, start_hash, end_hash, epoch_ms, "
            "closed_ms, end_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (stream_db_id, shard.index, shard.parent, shard.adjacent_parent, str(shard.start_hash),
             str(shard.end_hash), shard.epoch_ms, shard.closed_ms, shard.end_count))

    @staticmethod
    def delete_shard(db: sqlite3.Connection, stream_db_id: int, index: int) -> None:
        db.execute("DELETE FROM shards WHERE stream = ? AND idx = ?", (stream_db_id, index))

    @staticmethod
    def put_tags(db: sqlite3.Connection, stream_db_id: int, tags: dict[str, str]) -> None:
        db.executemany("INSERT OR REPLACE INTO tags (stream, key, value) VALUES (?, ?, ?)",
                       [(stream_db_id, k, v) for k, v in tags.items()])

    @staticmethod
    def delete_tags(db: sqlite3.Connection, stream_db_id: int, keys: list[str]) -> None:
        db.executemany("DELETE FROM tags WHERE stream = ? AND key = ?", [(stream_db_id, k) for k in keys])

    @staticmethod
    def put_consumer(db: sqlite3.Connection, stream_db_id: int, consumer: ConsumerMeta) -> None:
        db.execute("INSERT OR REPLACE INTO consumers (stream, name, created_ms, status, tags) VALUES (?, ?, ?, ?, ?)",
                   (stream_db_id, consumer.name, consumer.created_ms, consumer.status, json.dumps(consumer.tags)))

    @staticmethod
    def delete_consumer(db: sqlite3.Connection, stream_db_id: int, name: str) -> None:
        db.execute("DELETE FROM consumers WHERE stream = ? AND name = ?", (stream_db_id, name))
